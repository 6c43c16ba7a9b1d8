"""Input checks of power sources and emission rules (optimizer/instance/checks_power.py).

Bad input gives one InstanceError that lists every problem, each naming the record path
(site, source index and id, field) and the rule it breaks; the command line reports them
with exit code 2 and no traceback.
"""

from __future__ import annotations

import copy
import csv
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, micro, option, site, solve_checked

import optimizer
from optimizer.instance.checks_power import APPLIES, NEEDS
from optimizer.instance.io import write_instance

PERIODS = ("2026", "2027", "2028")
GOOD_SOURCES = [
    {"id": "flex", "kind": "grid_flexible", "mw": 50, "available_from": "2027", "curtailment_share": 0.005},
    {"id": "gas", "kind": "onsite", "mw": 30, "lead_time_months": 6, "capex_usd_per_mw": 1e6, "co2_t_per_mwh": 0.4},
    {"id": "bess", "kind": "battery", "mw": 10, "duration_hours": 4},
    {"id": "wind", "kind": "ppa", "mw": 20, "price_usd_per_mwh": 40, "available_until": "2027"},
]


def _data(sources: list[dict], rules: list[dict] | None = None, scenarios: list[dict] | None = None) -> dict:
    s = site("s1", "convertible", options=[option(max_mw=100, block=10)], power_sources=copy.deepcopy(sources))
    return micro(periods=PERIODS, sites=[s], policies={"emission_rules": rules or []}, scenarios=scenarios or [])


def _problems(data: dict) -> list[str]:
    with pytest.raises(optimizer.InstanceError) as exc:
        optimizer.instance_from_dict(data, "bad")
    return [str(p) for p in exc.value.problems]


def _has(msgs: list[str], *parts: str) -> None:
    """Some message contains every part (the record path and the rule)."""
    assert any(all(p in m for p in parts) for m in msgs), f"no message with {parts} in:\n" + "\n".join(msgs)


def test_good_power_sources_and_emission_rules_load():
    rules = [{"id": "carbon", "jurisdiction": "CN", "price_usd_per_t": 50},
             {"id": "cap", "jurisdiction": "CN", "periods": ["2027"], "cap_t_per_year": 1e5, "hard": False,
              "excess_penalty_usd_per_t": 100}]
    inst = optimizer.instance_from_dict(_data(GOOD_SOURCES, rules), "good")
    assert [x.kind for x in inst.sites[0].power_sources] == ["grid_flexible", "onsite", "battery", "ppa"]
    assert inst.policies.emission_rules[1].excess_penalty_usd_per_t == 100


def test_every_problem_is_listed_with_its_path_and_rule():
    sources = [
        {"id": "flex", "kind": "grid_flexible", "mw": 50, "curtailment_share": 0.005, "fuel_usd_per_mmbtu": 3.0},
        {"id": "flex2", "kind": "grid_flexible", "mw": 20, "curtailment_share": 0.01},
        {"id": "wind", "kind": "ppa", "mw": 20, "available_from": "2028", "available_until": "2027"},
        {"id": "bess", "kind": "battery", "mw": 10},
        {"id": "gas", "kind": "onsite", "mw": 30, "available_from": "2031", "signed": False},
    ]
    rules = [{"id": "empty", "jurisdiction": "CN"},
             {"id": "soft", "jurisdiction": "CN", "cap_t_per_year": 1000, "hard": False}]
    msgs = _problems(_data(sources, rules))
    src = "sites[0] 's1'.power_sources"
    _has(msgs, f"{src}[0] 'flex'.fuel_usd_per_mmbtu = 3", "does not apply to a 'grid_flexible' source",
         "it takes: available_from, available_until, curtailment_share, event_hours")
    _has(msgs, f"{src}: ", "at most one grid_flexible source per site; found 2: flex, flex2")
    _has(msgs, f"{src}[2] 'wind'.price_usd_per_mwh", "a 'ppa' source needs price_usd_per_mwh")
    _has(msgs, f"{src}[2] 'wind'.available_until = '2027'", "ends before it starts (2028)")
    _has(msgs, f"{src}[3] 'bess'.duration_hours", "a 'battery' source needs duration_hours")
    _has(msgs, f"{src}[4] 'gas'.available_from = '2031'", "unknown period", "2026, 2027, 2028")
    _has(msgs, f"{src}[4] 'gas'.signed = False", "does not apply to a 'onsite' source")
    _has(msgs, "policies.emission_rules[0] 'empty'", "needs a price (price_usd_per_t) or a cap (cap_t_per_year)")
    _has(msgs, "policies.emission_rules[1] 'soft'.excess_penalty_usd_per_t",
         "a soft cap (hard: false) needs an excess penalty")
    assert len(msgs) == 9, "\n".join(msgs)
    assert all(m.startswith("bad: ") for m in msgs)


def test_a_field_given_at_its_default_is_not_an_error():
    """A workbook row carries every column, so a non-applicable field at its default value is accepted."""
    src = [{"id": "flex", "kind": "grid_flexible", "mw": 50, "curtailment_share": 0.005, "fuel_usd_per_mmbtu": 0.0,
            "availability": 1.0, "signed": True, "take_or_pay_share": 0.0}]
    assert optimizer.instance_from_dict(_data(src), "ok").sites[0].power_sources[0].fuel_usd_per_mmbtu == 0.0


@pytest.mark.parametrize("kind", sorted(APPLIES))
def test_each_kind_refuses_the_fields_of_the_others(kind):
    foreign = sorted(set().union(*APPLIES.values()) - APPLIES[kind])
    values = {"available_until": "2027", "curtailment_share": 0.5, "event_hours": 3.0, "lead_time_months": 3.0,
              "capex_usd_per_mw": 1.0, "fom_usd_per_mw_year": 1.0, "fuel_usd_per_mmbtu": 1.0,
              "heat_rate_mmbtu_per_mwh": 1.0, "vom_usd_per_mwh": 1.0, "availability": 0.5, "duration_hours": 2.0,
              "price_usd_per_mwh": 1.0, "take_or_pay_share": 0.5, "signed": False, "co2_t_per_mwh": 0.1}
    base = {"id": "x", "kind": kind, "mw": 10, **{n: values[n] for n in NEEDS.get(kind, ())}}
    msgs = _problems(_data([{**base, **{n: values[n] for n in foreign}}]))
    for name in foreign:
        _has(msgs, f"power_sources[0] 'x'.{name}", f"does not apply to a '{kind}' source")
    assert len(msgs) == len(foreign), "\n".join(msgs)


def test_scenario_emission_rules_are_checked_with_their_scenario_path():
    scenarios = [{"id": "base", "probability": 0.5},
                 {"id": "tight", "probability": 0.5, "policies": {"emission_rules": [
                     {"id": "c", "jurisdiction": "XX", "periods": ["2040"], "cap_t_per_year": 5,
                      "excess_penalty_usd_per_t": 10},
                     {"id": "p", "jurisdiction": "CN", "price_usd_per_t": 10, "excess_penalty_usd_per_t": 10}]}}]
    msgs = _problems(_data(GOOD_SOURCES, scenarios=scenarios))
    rules = "scenarios[1] 'tight'.policies.emission_rules"
    _has(msgs, f"{rules}[0] 'c'.jurisdiction = 'XX'", "unknown jurisdiction")
    _has(msgs, f"{rules}[0] 'c'.periods", "unknown period")
    _has(msgs, f"{rules}[1] 'p'.excess_penalty_usd_per_t = 10", "only caps take an excess penalty")
    assert not any("'c'.excess_penalty" in m for m in msgs)  # a hard cap may carry a penalty it never uses


def test_duplicate_source_ids_within_a_site():
    sources = [GOOD_SOURCES[1], {**GOOD_SOURCES[2], "id": "gas"}]
    _has(_problems(_data(sources)), "sites[0] 's1'.power_sources", "gas")


def test_csv_problems_name_the_power_sources_row_and_column(tmp_path):
    out = tmp_path / "t"
    write_instance(optimizer.instance_from_dict(_data(GOOD_SOURCES), "t"), out)
    path = out / "power_sources.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    head = rows[0]
    rows[3][head.index("duration_hours")] = ""  # the battery (4th record, row 4 of the file)
    rows[4][head.index("curtailment_share")] = "0.2"  # the PPA takes no curtailment share
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with pytest.raises(optimizer.InstanceError) as exc:
        optimizer.load_instance(out)
    msgs = [str(p) for p in exc.value.problems]
    _has(msgs, f"{path}: row 4, column duration_hours", "a 'battery' source needs duration_hours")
    _has(msgs, f"{path}: row 5, column curtailment_share = 0.2", "does not apply to a 'ppa' source")


def test_validate_command_exits_2_and_lists_the_problems(tmp_path):
    data = _data([{"id": "flex", "kind": "grid_flexible", "mw": 50},
                  {"id": "wind", "kind": "ppa", "mw": 20, "curtailment_share": 0.1, "price_usd_per_mwh": 40}],
                 [{"id": "empty", "jurisdiction": "CN"}])
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "optimizer", "validate", str(f)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    assert "3 problem(s)" in r.stderr
    assert "sites[0] 's1'.power_sources[0] 'flex'.curtailment_share: a 'grid_flexible' source needs curtailment_share" \
        in r.stderr
    assert "power_sources[1] 'wind'.curtailment_share = 0.1: does not apply to a 'ppa' source" in r.stderr
    assert "policies.emission_rules[0] 'empty': an emission rule needs a price" in r.stderr


def test_the_example_of_the_instance_format_reference_loads_and_solves():
    """The YAML example of docs/instance-format.md, dropped into quickstart, is valid and solves."""
    text = (ROOT / "docs" / "instance-format.md").read_text(encoding="utf-8")
    part = text[text.index("## Time to power"):]
    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", part, re.S).group(1))
    data = yaml.safe_load((ROOT / "instances" / "quickstart.yaml").read_text(encoding="utf-8"))
    data["sites"][1] = example["sites"][0]  # the greenfield site
    data["policies"] = example["policies"]
    data["training_jobs"] = example["training_jobs"]
    inst = optimizer.instance_from_dict(copy.deepcopy(data), "example")
    kinds = [x.kind for x in inst.sites[1].power_sources]
    assert kinds == ["grid_flexible", "onsite", "ppa"] and inst.training_jobs[0].tolerates_curtailment is False
    solve_checked(data)
