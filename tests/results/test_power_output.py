"""Time to power, energy by source, energy prices and emissions in the printed plan, ``summary.json`` and
result folders read back.

The micro instance: one greenfield site of 1 MW IT (PUE 1) whose firm grid arrives in 2027, with a
flexible connection, a gas turbine to build and an unsigned PPA of at most 0.5 MW, two one-year
periods. Hand-derived: the PPA (10 $/MWh) is the cheapest, the gas turbine (3 $/MMBtu × 9 MMBtu/MWh
= 27 $/MWh, plus 0.4 t/MWh × 50 $/t carbon) beats the 100 $/MWh tariff, so in each period 0.5 MW
come from the PPA and 0.5 MW from gas: 4,380 MWh each per period, 8,760 MWh each over the horizon,
energy cost 10 × 8,760 + 27 × 8,760 = 324,120 $ for 17,520 MWh (18.5 $/MWh), 1,752 tCO2 a year,
power in 2026 one year before the firm grid.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from conftest import micro, option, site, system

import optimizer
from optimizer.results import outcomes
from optimizer.results.format import per_mwh
from optimizer.results.read import read_plan
from optimizer.results.report import plan_text
from optimizer.results.write import plan_summary, progress_rows

POWER_TABLES = ("generator_builds", "power", "time_to_power", "emissions")


def power_micro(scenarios: tuple = ()) -> dict:
    d = micro(periods=("2026", "2027"), scenarios=scenarios,
              sites=[site("green", "greenfield", grid=10, grid_available_from="2027", price=100.0,
                          options=[option(capex=100, max_mw=10)],
                          power_sources=[{"id": "flex", "kind": "grid_flexible", "mw": 10, "curtailment_share": 0.01},
                                         {"id": "gas", "kind": "onsite", "mw": 5, "capex_usd_per_mw": 1000,
                                          "fuel_usd_per_mmbtu": 3, "heat_rate_mmbtu_per_mwh": 9, "co2_t_per_mwh": 0.4},
                                         {"id": "ppa", "kind": "ppa", "mw": 0.5, "price_usd_per_mwh": 10,
                                          "take_or_pay_share": 0.5, "signed": False}])],
              systems=[system("gpu", divisible=True)],
              jobs=[{"id": "run", "compute_pflops": {"2026": 10, "2027": 10}, "must_place": True}],
              policies={"emission_rules": [{"id": "tax", "jurisdiction": "CN", "price_usd_per_t": 50}]})
    return d


def _solve(data: dict) -> optimizer.Plan:
    plan = optimizer.solve(optimizer.instance_from_dict(copy.deepcopy(data), "micro"))
    assert plan.status == "optimal", plan.messages
    return plan


@pytest.fixture(scope="module")
def plan() -> optimizer.Plan:
    return _solve(power_micro())


@pytest.fixture(scope="module")
def two_scenarios() -> optimizer.Plan:
    """A 'cheap' scenario (tariff 10 $/MWh) where the flexible grid replaces gas in 2026 and the firm grid in 2027."""
    return _solve(power_micro(({"id": "dear", "probability": 0.6},
                               {"id": "cheap", "probability": 0.4, "electricity_price_scale": 0.1})))


def test_hand_derived_tables(plan):
    ttp = plan.tables["time_to_power"]
    assert ttp[["site", "first_period", "sources", "firm_grid_period"]].values.tolist() == [
        ["green", "2026", "ppa,gas", "2027"]]
    assert ttp["years_before_firm_grid"].tolist() == [pytest.approx(1.0)]
    pw = plan.tables["power"]
    by_kind = pw.groupby("kind")["energy_mwh"].sum()
    assert by_kind["ppa"] == pytest.approx(8760) and by_kind["onsite"] == pytest.approx(8760)
    assert pw["energy_cost_usd"].sum() == pytest.approx(324_120)


def test_plan_text_shows_time_to_power_and_energy(plan):
    text = plan_text(plan)
    assert "Time to power (first period with IT load, sources delivering energy then):" in text
    assert "  green: 2026 on ppa, gas (onsite), 1 year before firm grid (2027)" in text
    assert "Energy by source (all periods): ppa 8.76 GWh (50.0 %), onsite 8.76 GWh (50.0 %)" in text
    assert f"  {outcomes.ENERGY_PRICE} 18.5 USD/MWh ({outcomes.ENERGY_PRICE_MEANS})" in text
    all_in = (324_120 + 1000 * plan.tables["generator_builds"]["mw"].sum()) / 17_520  # no fixed O&M here
    assert f"  {outcomes.ALL_IN_PRICE} {per_mwh(all_in)}" in text
    assert "Emissions per year:\n  tax (CN): 2026 1,752 tCO2, 2027 1,752 tCO2" in text
    # the sections sit between the builds and the fleet
    assert text.index("Sites built") < text.index("Time to power") < text.index("Systems in service")


def test_plan_text_lists_scenarios_that_differ(two_scenarios):
    text = plan_text(two_scenarios)
    assert "  green [dear]: 2026 on ppa, gas (onsite), 1 year before firm grid (2027)" in text
    assert "  green [cheap]: 2026 on flex (grid_flexible), ppa, 1 year before firm grid (2027)" in text
    assert "Energy by source (all periods, expected over scenarios): " in text
    assert "Emissions per year (expected over scenarios):" in text


def _expected_sum(df, value, probs):
    return float((df[value].astype(float) * df["scenario"].map(probs)).sum())


@pytest.mark.parametrize("which", ["plan", "two_scenarios"])
def test_summary_json_equals_the_tables(which, request, tmp_path):
    p = request.getfixturevalue(which)
    s = json.loads((optimizer.write_plan(p, tmp_path / "out") / "summary.json").read_text())
    probs = outcomes.scenario_probabilities(p.instance)
    ttp = p.tables["time_to_power"]
    assert s["time_to_power"] == [
        {"site": r.site, "scenario": r.scenario, "first_period": r.first_period, "sources": r.sources.split(","),
         "firm_grid_period": r.firm_grid_period, "years_before_firm_grid": r.years_before_firm_grid}
        for r in ttp.itertuples()]
    pw = p.tables["power"]
    for kind, g in pw.groupby("kind"):
        assert s["energy_by_source_mwh"]["all_sites"][kind] == pytest.approx(_expected_sum(g, "energy_mwh", probs))
        assert s["energy_by_source_mwh"]["by_site"]["green"][kind] == pytest.approx(_expected_sum(g, "energy_mwh", probs))
    price = _expected_sum(pw, "energy_cost_usd", probs) / _expected_sum(pw, "energy_mwh", probs)
    assert s["effective_usd_per_mwh"] == {"all_sites": pytest.approx(price), "by_site": {"green": pytest.approx(price)}}
    c = p.tables["costs"]
    gen = c[c["category"].isin(["generator_capex", "generator_fom"])]
    all_in = (_expected_sum(pw, "energy_cost_usd", probs) + _expected_sum(gen, "undiscounted_usd", probs)) / \
        _expected_sum(pw, "energy_mwh", probs)
    assert s["all_in_usd_per_mwh"] == pytest.approx(all_in) and s["all_in_usd_per_mwh"] > price
    em = p.tables["emissions"]
    for period, g in em.groupby("period"):
        assert s["emissions_t_per_year"]["tax"][period] == pytest.approx(_expected_sum(g, "co2_t_per_year", probs))
    if which == "plan":
        assert s["effective_usd_per_mwh"]["all_sites"] == pytest.approx(18.5)
        assert s["emissions_t_per_year"] == {"tax": {"2026": pytest.approx(1752), "2027": pytest.approx(1752)}}
    if getattr(p, "progress", None) is None:
        assert "progress" not in s
    else:  # the solve's history, one {seconds, incumbent, bound, gap} per point
        assert s["progress"] == progress_rows(p.progress) and len(s["progress"]) == len(p.progress)
        assert all(set(r) == {"seconds", "incumbent", "bound", "gap"} for r in s["progress"])


def test_summary_without_emission_rules_or_solution():
    d = power_micro()
    d["policies"] = {}
    p = _solve(d)
    s = plan_summary(p)
    assert "emissions_t_per_year" not in s and "Emissions" not in plan_text(p)
    empty = outcomes.power_summary({}, p.instance)
    assert empty == {"time_to_power": [], "energy_by_source_mwh": {"all_sites": {}, "by_site": {}},
                     "effective_usd_per_mwh": {"all_sites": None, "by_site": {}}, "all_in_usd_per_mwh": None}


def test_progress_is_written_when_the_plan_has_one(plan, tmp_path):
    p = copy.copy(plan)
    p.progress = [{"seconds": 0.1, "incumbent": None, "bound": 5.0, "gap": math.inf}, (0.2, 10.0, 9.0, 0.1)]
    s = json.loads((optimizer.write_plan(p, tmp_path / "out") / "summary.json").read_text())
    assert s["progress"] == [{"seconds": 0.1, "incumbent": None, "bound": 5.0, "gap": None},
                             {"seconds": 0.2, "incumbent": 10.0, "bound": 9.0, "gap": 0.1}]
    assert progress_rows([]) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_read_plan_keeps_the_power_tables(plan, tmp_path, fmt):
    pytest.importorskip({"csv": "pandas", "xlsx": "openpyxl", "parquet": "pyarrow"}[fmt])
    tables, summary = read_plan(optimizer.write_plan(plan, tmp_path / fmt, fmt=fmt))
    assert summary["time_to_power"] == plan_summary(plan)["time_to_power"]
    from optimizer.results.columns import TABLES

    for name in (*POWER_TABLES, "site_power"):
        df, back = plan.tables[name], tables[name]
        assert list(back.columns) == list(df.columns) and len(back) == len(df), (fmt, name)
        for col in TABLES[name]:
            a, b = df[col.name].tolist(), back[col.name].tolist()
            if col.kind == "number":
                assert back[col.name].dtype.kind in "fi" or all(x is None for x in b), (fmt, name, col.name)
                assert [float("nan") if x is None else x for x in b] == pytest.approx(
                    [float("nan") if x is None else x for x in a], nan_ok=True), (fmt, name, col.name)
            elif col.kind == "text":
                assert all(x is None or isinstance(x, str) for x in b), (fmt, name, col.name)
                assert b == [None if x is None or x != x else x for x in a], (fmt, name, col.name)
    want, got = outcomes.power_summary(plan.tables, plan.instance), outcomes.power_summary(tables, plan.instance)
    assert got["time_to_power"] == want["time_to_power"]
    assert got["energy_by_source_mwh"]["all_sites"] == pytest.approx(want["energy_by_source_mwh"]["all_sites"])
    assert got["effective_usd_per_mwh"]["all_sites"] == pytest.approx(want["effective_usd_per_mwh"]["all_sites"])
    assert got["emissions_t_per_year"]["tax"] == pytest.approx(want["emissions_t_per_year"]["tax"])


def test_old_result_folder_without_power_tables_reads(plan, tmp_path):
    folder = optimizer.write_plan(plan, tmp_path / "old")
    for name in POWER_TABLES:
        (folder / f"{name}.csv").unlink()
    sp = (folder / "site_power.csv").read_text().splitlines()
    cut = sp[0].split(",").index("power_limit_mw")
    (folder / "site_power.csv").write_text("\n".join(",".join(x for i, x in enumerate(line.split(",")) if i != cut)
                                                     for line in sp) + "\n")
    tables, _ = read_plan(folder)
    for name in POWER_TABLES:
        assert len(tables[name]) == 0 and list(tables[name].columns) == list(plan.tables[name].columns)
    back = tables["site_power"]
    assert list(back.columns) == list(plan.tables["site_power"].columns) and back["power_limit_mw"].isna().all()
    s = outcomes.power_summary(tables, plan.instance)
    assert s["time_to_power"] == [] and s["effective_usd_per_mwh"]["all_sites"] is None
