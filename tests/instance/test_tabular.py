"""Spreadsheets and planning tools: workbook / CSV instances, convert, schema, new, plan formats."""

from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

import optimizer
from optimizer.cli import main
from optimizer.instance import schema
from optimizer.instance.errors import unwrap_type
from optimizer.instance.io import write_instance
from optimizer.instance.io.layout import column_rows, layout
from optimizer.instance.io.tables import load_tabular
from optimizer.instance.json_schema import instance_json_schema, schema_text
from optimizer.instance.starter import starter_text
from optimizer.results.write import write_plan

STARTER = starter_text()

INSTANCES = sorted((ROOT / "instances").glob("*.yaml"))
QUICK = ROOT / "instances" / "quickstart.yaml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, stdin=subprocess.DEVNULL)


def dump(inst: optimizer.Instance) -> dict:
    return inst.model_dump()


# ----------------------------------------------------------------------------- layout from the schema
def _models(model: type, seen: set) -> None:
    if model in seen:
        return
    seen.add(model)
    for f in model.model_fields.values():
        for t in _types(f.annotation):
            if isinstance(t, type) and issubclass(t, schema.BaseModel):
                _models(t, seen)


def _types(ann) -> list:
    out = [ann]
    for a in typing.get_args(ann):
        out += _types(a)
    return out


def _is_record(t) -> bool:
    return isinstance(t, type) and issubclass(t, schema.BaseModel)


def test_layout_covers_every_field_of_the_schema():
    lay = layout()
    covered: set[tuple[str, str]] = set()
    for s in lay.sheets:
        for c in s.columns:
            covered.add((c.owner, c.path[-1]))
            if c.kind == "marker":
                covered.add((s.model.__name__, c.header))
        for v in s.values:
            covered.add((v.owner, v.field))
        if s.kind == "records" and s.parent is not None:
            owner = s.parent.model
            for part in s.loc[:-1]:  # a list inside an optional record (scenario policies)
                owner = unwrap_type(owner.model_fields[part].annotation)[0]
            covered.add((owner.__name__, s.loc[-1]))
        if s.kind == "records" and s.parent is None:
            covered.add(("Instance" if len(s.loc) == 1 else {"horizon": "Horizon", "policies": "Policies"}[s.loc[0]],
                         s.loc[-1]))
    covered.add(("Instance", "variants"))
    models: set = set()
    _models(schema.Instance, models)
    missing = [(m.__name__, f) for m in models for f in m.model_fields
               if (m.__name__, f) not in covered
               and not _is_record(unwrap_type(m.model_fields[f].annotation)[0])]
    assert not missing, f"fields without a column: {missing}"
    # every mapping field says what its keys are (no generic 'key' column)
    assert all("key" not in s.keys for s in lay.sheets), [s.name for s in lay.sheets if "key" in s.keys]
    names = lay.names()
    assert len(names) == len(set(names)) and all(len(n) <= 31 for n in names)
    for expected in ("settings", "periods", "sites", "site_periods", "build_options", "existing_units", "systems",
                     "system_periods", "export_rules", "energy_subsidies", "capex_subsidies", "share_targets",
                     "training_jobs", "job_periods", "regions", "region_periods", "region_sites", "scenarios",
                     "scenario_export_rules", "variants"):
        assert expected in names


def test_columns_sheet_describes_every_column():
    docs = {(r[0], r[1]): r for r in column_rows()}
    for s in layout().sheets:
        if s.kind == "settings":
            cols = [c.header for c in s.columns]
        else:
            cols = s.headers()
        for c in cols:
            assert (s.name, c) in docs, (s.name, c)
            assert docs[(s.name, c)][5], f"no description for {s.name}.{c}"
    assert docs[("sites", "grid_mw")][3] == "MW"
    assert docs[("build_options", "capex_usd_per_mw")][3] == "USD/MW"


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("path", INSTANCES, ids=[p.stem for p in INSTANCES])
def test_round_trip_of_every_example(path, fmt, tmp_path):
    orig = optimizer.load_instance(path)
    out = tmp_path / ("inst.xlsx" if fmt == "xlsx" else "inst")
    write_instance(orig, out)
    tab = optimizer.load_instance(out)
    assert dump(tab) == dump(orig)
    back = tmp_path / "back.yaml"
    write_instance(tab, back)
    assert dump(optimizer.load_instance(back)) == dump(orig)
    js = tmp_path / "back.json"
    write_instance(tab, js)
    assert dump(optimizer.load_instance(js)) == dump(orig)


def rich_instance() -> dict:
    """Quickstart plus every kind of table: nested records, per-period and per-site values,
    scenario overrides (incl. policy lists), variants and awkward text and numbers."""
    d = yaml.safe_load(QUICK.read_text())
    d["description"] = "two lines\nof text\n"
    d["jurisdictions"] = [{"id": "US", "name": "United States"}, {"id": "TX", "name": "Texas = big", "parent": "US"}]
    d["families"].append({"id": "cann", "training_efficiency": 0.65, "description": "=SUM(A1)"})
    d["sites"][0]["grid_mw"] = {2026: 100, 2027: 110, 2028: 120}
    d["sites"][0]["name"] = ""
    d["sites"][0]["lat"] = 30.123456789012344  # needs 17 significant digits
    d["sites"].append({"id": "old-hall", "name": "Old hall, TX", "jurisdiction": "TX", "lat": 31.0, "lon": -97.5,
                       "kind": "existing", "grid_mw": 40, "electricity_usd_per_mwh": {2026: 60, 2027: 61.5, 2028: 63},
                       "existing": {"it_mw": 20, "pue": 1.3},
                       "existing_units": [{"system": "hgx-h200", "units": 100, "retire_after": 2027}]})
    d["systems"][0]["supply_units"] = {2026: 10, 2027: 20, 2028: 30}
    d["systems"][0]["price_usd_per_unit"] = {2026: 3e6, 2027: 2.5e6, 2028: 2e6}
    d["systems"][0]["idle_power_share"] = 0.1 + 0.2
    d["systems"].append({"id": "hgx-h200", "vendor": "Nvidia", "origin": "US", "family": "cuda", "it_kw_per_unit": 10.2,
                         "training_pflops_per_unit": 7.9, "inference_pflops_per_unit": 11.1, "price_usd_per_unit": 330000,
                         "lifetime_years": 5, "divisible": True, "supply_units": 1000})
    d["policies"] = {
        "export_rules": [{"id": "no-cann", "family": "cann", "jurisdiction": "US", "periods": [2026, 2027], "action": "ban"},
                         {"system": "hgx-h200", "jurisdiction": "TX", "action": "premium", "premium_share": 0.1}],
        "energy_subsidies": [{"id": "tx-power", "jurisdiction": "TX", "discount_share": 0.1,
                              "applies_to": "domestic_systems"}],
        "capex_subsidies": [{"id": "us-build", "jurisdiction": "US", "periods": [2026], "usd_per_mw": 100000}],
        "share_targets": [{"id": "soft", "jurisdiction": "US", "min_domestic_share": 0.5, "hard": False,
                           "shortfall_penalty_usd_per_pflops_year": 10}],
    }
    d["training_jobs"][0].update({"allowed_jurisdictions": ["US", "TX"], "allowed_families": ["cuda"],
                                  "placement_cost_usd": {"rockdale-mine": 1e6, "abilene-green": 2.5e6}})
    d["training_jobs"].append({"id": "small-run", "compute_pflops": {2028: 100}, "must_place": True})
    d["regions"][0].update({"latency_ms": {"rockdale-mine": 4.5}, "route_cost_usd_per_pflops_year": {"abilene-green": 10.5},
                            "allowed_jurisdictions": ["US"]})
    d["scenarios"] = [
        {"id": "base", "probability": 0.5, "description": "multi\nline\n"},
        {"id": "boom", "probability": 0.25, "demand_scale": 1.5, "region_demand_scale": {"dallas": 1.1},
         "region_demand_pflops": {"dallas": {2026: 0, 2027: 1000, 2028: 2000}}, "job_scale": {"frontier-run": 0.5},
         "site_electricity_usd_per_mwh": {"rockdale-mine": 70}, "system_price_scale": {"gb200-nvl72": 1.2},
         "policies": {"export_rules": [], "share_targets": [{"id": "hard", "jurisdiction": "US",
                                                              "min_domestic_share": 0.2}]}},
        {"id": "bust", "probability": 0.25, "demand_scale": 0.4, "policies": {}},
    ]
    d["variants"] = {
        "dear": {"systems[gb200-nvl72].price_usd_per_unit": 4e6, "regions[dallas].allowed_jurisdictions": ["US"],
                 "sites[rockdale-mine].grid_mw": {2026: 1, 2027: 2, 2028: 3}, "families[cuda].description": "2026",
                 "training_jobs[frontier-run].must_place": True, "description": "a: b"},
        "nothing": {},
    }
    return d


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_of_every_kind_of_table(fmt, tmp_path):
    orig = optimizer.instance_from_dict(rich_instance(), "rich")
    out = tmp_path / ("rich.xlsx" if fmt == "xlsx" else "rich")
    write_instance(orig, out)
    tab = load_tabular(out)
    assert dump(tab) == dump(orig)
    assert tab.scenarios[2].policies is not None and tab.scenarios[2].policies.export_rules is None
    assert tab.scenarios[1].policies.export_rules == []
    assert tab.sites[0].name == "" and tab.families[1].description == "=SUM(A1)"
    back = tmp_path / "rich.yaml"
    write_instance(tab, back)
    assert dump(optimizer.load_instance(back)) == dump(orig)


def power_instance() -> dict:
    """Quickstart with the time-to-power fields: every kind of power source (fields left at
    their defaults and fields given), phased build options, a curtailment budget, grid
    emissions, emission rules (base and a scenario's override) and a firm-power job."""
    d = yaml.safe_load(QUICK.read_text())
    mine, green = d["sites"]
    mine["build_options"][0].update({"max_phases": 3, "phase_fixed_capex_usd": 2.5e6, "phase_lead_time_months": 6})
    green["build_options"][0].update({"max_phases": 2})
    mine.update({"max_curtailment_share": 0.01, "grid_co2_t_per_mwh": 0.38})
    mine["power_sources"] = [
        {"id": "flex", "kind": "grid_flexible", "mw": 150, "available_from": 2027, "curtailment_share": 0.005,
         "event_hours": 2.1},
        {"id": "gas", "kind": "onsite", "mw": 80, "available_from": 2026, "lead_time_months": 9,
         "capex_usd_per_mw": 1.2e6, "fom_usd_per_mw_year": 25000, "fuel_usd_per_mmbtu": 3.5,
         "heat_rate_mmbtu_per_mwh": 9.5, "vom_usd_per_mwh": 4.5, "availability": 0.95, "co2_t_per_mwh": 0.4},
        {"id": "bess", "kind": "battery", "mw": 40, "duration_hours": 4, "capex_usd_per_mw": 1.1e6},
        {"id": "wind", "kind": "ppa", "mw": 50, "available_from": 2026, "available_until": 2027,
         "price_usd_per_mwh": 45.5, "take_or_pay_share": 0.8, "signed": False},
        {"id": "solar", "kind": "ppa", "mw": 20, "price_usd_per_mwh": 38},
    ]
    green["power_sources"] = [{"id": "bridge", "kind": "onsite", "mw": 100, "co2_t_per_mwh": 0.45}]
    d["policies"] = {"emission_rules": [
        {"id": "us-carbon", "jurisdiction": "US", "price_usd_per_t": 50},
        {"id": "us-cap", "jurisdiction": "US", "periods": [2027, 2028], "cap_t_per_year": 500000, "hard": False,
         "excess_penalty_usd_per_t": 200},
    ]}
    d["training_jobs"][0]["tolerates_curtailment"] = False
    d["training_jobs"].append({"id": "batch", "compute_pflops": {2028: 500}, "tolerates_curtailment": True})
    d["scenarios"] = [
        {"id": "base", "probability": 0.5},
        {"id": "green-deal", "probability": 0.25, "policies": {"emission_rules": [
            {"id": "hard-cap", "jurisdiction": "US", "cap_t_per_year": 100000}]}},
        {"id": "no-carbon", "probability": 0.25, "policies": {"emission_rules": []}},
    ]
    return d


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_of_power_sources_phases_and_emission_rules(fmt, tmp_path):
    orig = optimizer.instance_from_dict(power_instance(), "power")
    mid = tmp_path / ("power.xlsx" if fmt == "xlsx" else "power")
    back = tmp_path / "back.yaml"
    assert main(["convert", "--to", fmt, str(_write_yaml(orig, tmp_path / "power.yaml")), str(mid)]) == 0
    tab = optimizer.load_instance(mid)
    assert dump(tab) == dump(orig)
    assert [x.kind for x in tab.sites[0].power_sources] == ["grid_flexible", "onsite", "battery", "ppa", "ppa"]
    assert tab.sites[0].power_sources[3].signed is False and tab.sites[0].power_sources[4].signed is True
    assert tab.sites[0].build_options[0].max_phases == 3 and tab.sites[1].build_options[0].phase_lead_time_months is None
    assert tab.scenarios[1].policies.emission_rules[0].id == "hard-cap"
    assert tab.scenarios[2].policies.emission_rules == [] and tab.scenarios[0].policies is None
    assert [j.tolerates_curtailment for j in tab.training_jobs] == [False, True]
    assert main(["convert", str(mid), str(back)]) == 0
    assert dump(optimizer.load_instance(back)) == dump(orig)
    if fmt == "csv":
        rows = list(csv.DictReader((mid / "power_sources.csv").open(encoding="utf-8")))
        assert [(r["site"], r["id"], r["kind"]) for r in rows][:2] == [("rockdale-mine", "flex", "grid_flexible"),
                                                                      ("rockdale-mine", "gas", "onsite")]
        assert rows[1]["curtailment_share"] == "" and rows[0]["duration_hours"] == ""  # optional, not given: blank
        assert (mid / "emission_rules.csv").exists() and (mid / "scenario_emission_rules.csv").exists()
    else:
        from openpyxl import load_workbook

        names = load_workbook(mid, read_only=True).sheetnames
        assert {"power_sources", "emission_rules", "scenario_emission_rules"} <= set(names)


def _write_yaml(inst: optimizer.Instance, path: Path) -> Path:
    write_instance(inst, path)
    return path


def test_csv_tables_are_readable(tmp_path):
    inst = optimizer.instance_from_dict(rich_instance(), "rich")
    write_instance(inst, tmp_path / "t")
    rows = list(csv.DictReader((tmp_path / "t" / "sites.csv").open()))
    assert rows[0]["id"] == "rockdale-mine" and rows[0]["grid_mw"] == "" and rows[1]["grid_mw"] == "300"
    assert rows[2]["existing.it_mw"] == "20"
    sp = list(csv.DictReader((tmp_path / "t" / "site_periods.csv").open()))
    assert {"site": "rockdale-mine", "period": "2027", "grid_mw": "110", "electricity_usd_per_mwh": ""} in sp
    jobs = list(csv.DictReader((tmp_path / "t" / "training_jobs.csv").open()))
    assert jobs[0]["allowed_jurisdictions"] == "US, TX"
    assert (tmp_path / "t" / "columns.csv").exists()
    # empty secondary tables are left out, primary ones are written with their header
    assert not (tmp_path / "t" / "scenario_capex_subsidies.csv").exists()
    q = tmp_path / "q"
    write_instance(optimizer.load_instance(QUICK), q)
    assert (q / "export_rules.csv").read_text().startswith("id,") and not (q / "variants.csv").exists()


def test_converted_instances_solve_to_the_same_objective(tmp_path):
    orig = optimizer.load_instance(QUICK)
    base = optimizer.solve(orig)
    assert base.status == "optimal"
    for out in (tmp_path / "q.xlsx", tmp_path / "q"):
        write_instance(orig, out)
        plan = optimizer.solve(out)  # solve() also takes a path
        assert plan.status == "optimal"
        assert plan.objective == pytest.approx(base.objective, rel=1e-9)


def test_hand_made_csv_folder_with_defaults_and_per_period_values(tmp_path):
    """A planner's minimal folder: blank cells take defaults, per-period values in long form."""
    f = tmp_path / "mine"
    f.mkdir()
    files = {
        "settings.csv": "field,value\nname,hand-made\nhorizon.discount_rate,0.05\n",
        "periods.csv": "id,years\n2026,1\n2027,\n",
        "jurisdictions.csv": "id\nUS\n",
        "families.csv": "id,# my note\ncuda,anything\n",
        "sites.csv": "id,jurisdiction,lat,lon,kind,grid_mw,electricity_usd_per_mwh\n"
                     "s1,US,30,-97,convertible,50,\n",
        "site_periods.csv": "site,period,electricity_usd_per_mwh\ns1,2026,60\ns1,2027,65\n",
        "build_options.csv": "site,id,capex_usd_per_mw,lead_time_months,pue,max_it_mw,block_mw\n"
                             "s1,retrofit,8000000,0,1.2,40,10\n",
        "systems.csv": "id,vendor,origin,family,it_kw_per_unit,training_pflops_per_unit,inference_pflops_per_unit,"
                       "price_usd_per_unit,lifetime_years,divisible\n"
                       "gpu,Nvidia,US,cuda,10.2,7.9,11.1,330000,5,TRUE\n",
        "regions.csv": "id,jurisdiction,lat,lon,demand_pflops,unserved_penalty_usd_per_pflops_year\n"
                       "dallas,US,32.78,-96.8,,35400\n",
        "region_periods.csv": "region,period,demand_pflops\ndallas,2026,100\ndallas,2027,200\n",
    }
    for name, text in files.items():
        (f / name).write_text(text)
    inst = optimizer.load_instance(f)
    assert inst.horizon.discount_rate == 0.05 and inst.horizon.periods[1].years == 1.0
    assert inst.sites[0].electricity_usd_per_mwh == {"2026": 60, "2027": 65}
    assert inst.sites[0].grid_mw == {"*": 50} and inst.systems[0].divisible is True
    assert inst.sites[0].build_options[0].usable_grid_share == 1.0
    assert optimizer.solve(inst).status == "optimal"


# ----------------------------------------------------------------------------- messages name sheet, row, column
def _edit_csv(path: Path, fn) -> None:
    rows = list(csv.reader(path.open()))
    fn(rows)
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def _problems(path) -> list[str]:
    with pytest.raises(optimizer.InstanceError) as exc:
        optimizer.load_instance(path)
    return [str(p) for p in exc.value.problems]


def test_csv_problems_name_file_row_and_column(tmp_path):
    out = tmp_path / "gh"
    write_instance(optimizer.load_instance(ROOT / "instances" / "global-hybrid.yaml"), out)

    def sites(r):
        h = r[0]
        r[3][h.index("grid_mw")] = "-5"  # row 3 of the file = Excel row 3
        r[5][h.index("lat")] = ""
        r[0].append("grid_mv")

    _edit_csv(out / "sites.csv", sites)
    _edit_csv(out / "build_options.csv", lambda r: r.append(["ghost", "x", "1", "0", "1", "1.1", "1", "10", "1"]))
    _edit_csv(out / "region_periods.csv", lambda r: r[3].__setitem__(2, "lots"))
    _edit_csv(out / "settings.csv", lambda r: r.append(["horizon.discount_rat", "0.1"]))
    msgs = "\n".join(_problems(out))
    sites_csv = str(out / "sites.csv")
    assert f"{sites_csv}: row 4, column grid_mw = -5: must be >= 0" in msgs
    assert f"{sites_csv}: row 6, column lat: required field is missing" in msgs
    assert f"{sites_csv}: row 1, column grid_mv: unknown column; did you mean 'grid_mw'?" in msgs
    assert f"{out / 'build_options.csv'}: row 9, column site = 'ghost': unknown site" in msgs
    assert f"{out / 'region_periods.csv'}: row 4, column demand_pflops = 'lots': must be a number" in msgs
    assert "did you mean 'horizon.discount_rate'?" in msgs
    assert "Traceback" not in msgs


def test_cross_record_problems_name_rows(tmp_path):
    out = tmp_path / "gh"
    write_instance(optimizer.load_instance(ROOT / "instances" / "global-hybrid.yaml"), out)
    _edit_csv(out / "sites.csv", lambda r: r[5].__setitem__(r[0].index("jurisdiction"), "XX"))
    _edit_csv(out / "job_periods.csv", lambda r: r.append(["frontier-2028", "2031", "5"]))
    _edit_csv(out / "scenarios.csv", lambda r: r[1].__setitem__(r[0].index("probability"), "0.9"))
    _edit_csv(out / "site_periods.csv", lambda r: r.append(["rockdale-tx", "2026", "100", ""]))
    msgs = "\n".join(_problems(out))
    assert f"{out / 'sites.csv'}: row 6, column jurisdiction = 'XX': unknown jurisdiction" in msgs
    assert f"{out / 'job_periods.csv'}: row " in msgs and "column compute_pflops: unknown period" in msgs
    assert f"{out / 'scenarios.csv'}: table: probabilities must sum to 1" in msgs
    assert f"{out / 'sites.csv'}: row 2, column grid_mw: give either one number for all periods" in msgs


def test_workbook_problems_name_the_sheet(tmp_path):
    from openpyxl import load_workbook

    book = tmp_path / "q.xlsx"
    write_instance(optimizer.load_instance(QUICK), book)
    wb = load_workbook(book)
    ws = wb["build_options"]
    col = [c.value for c in ws[1]].index("pue") + 1
    ws.cell(row=3, column=col, value=0.5)
    wb.create_sheet("sitez")
    wb.create_sheet("#notes")
    wb.save(book)
    msgs = "\n".join(_problems(book))
    assert f"{book}, sheet build_options: row 3, column pue = 0.5: must be >= 1" in msgs
    assert f"{book}: sheet sitez: unknown table; did you mean 'sites'?" in msgs
    assert "#notes" not in msgs


def test_missing_tables_and_parents(tmp_path):
    f = tmp_path / "empty"
    f.mkdir()
    with pytest.raises(optimizer.InstanceError, match="no CSV tables"):
        optimizer.load_instance(f)
    (f / "settings.csv").write_text("field,value\nname,x\n")
    msgs = "\n".join(_problems(f))
    assert f"{f / 'periods.csv'}: table: the table is missing or has no rows" in msgs
    assert f"{f / 'sites.csv'}: table" in msgs
    (f / "sitez.csv").write_text("id\nx\n")
    assert f"{f}: sitez.csv: unknown table; did you mean 'sites'?" in "\n".join(_problems(f))
    with pytest.raises(optimizer.InstanceError, match="is a folder of tables"):
        optimizer.load_instance(f / "settings.csv")


# ----------------------------------------------------------------------------- command line
def test_convert_command(tmp_path, capsys):
    book = tmp_path / "q.xlsx"
    assert main(["convert", str(QUICK), str(book)]) == 0
    assert main(["convert", str(QUICK), str(book)]) == 5  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert", str(QUICK), str(book), "--overwrite"]) == 0
    assert main(["convert", str(book), str(tmp_path / "q")]) == 0
    assert main(["convert", str(tmp_path / "q"), str(tmp_path / "q.json")]) == 0
    assert main(["convert", str(tmp_path / "q.json"), str(tmp_path / "q.yaml"), "--set", "horizon.discount_rate=0.1"]) == 0
    assert optimizer.load_instance(tmp_path / "q.yaml").horizon.discount_rate == 0.1
    assert dump(optimizer.load_instance(tmp_path / "q.json")) == dump(optimizer.load_instance(QUICK))
    assert main(["convert", str(QUICK), str(tmp_path / "q.txt")]) == 2
    assert main(["validate", str(book)]) == 0 and main(["validate", str(tmp_path / "q")]) == 0
    capsys.readouterr()
    bad = tmp_path / "bad"
    write_instance(optimizer.load_instance(QUICK), bad)
    _edit_csv(bad / "build_options.csv", lambda r: r[2].__setitem__(r[0].index("pue"), "0.9"))
    assert main(["convert", str(bad), str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "build_options.csv: row 3, column pue = 0.9: must be >= 1" in err
    assert not (tmp_path / "bad.yaml").exists()


def test_solve_accepts_a_workbook_and_writes_every_plan_format(tmp_path):
    book = tmp_path / "q.xlsx"
    write_instance(optimizer.load_instance(QUICK), book)
    r = run("solve", str(book), "--out", str(tmp_path / "x"), "--format", "xlsx", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x" / "plan.xlsx").exists() and (tmp_path / "x" / "summary.json").exists()
    r = run("validate", str(tmp_path / "nope.xlsx"))
    assert r.returncode == 2 and "file not found" in r.stderr and "Traceback" not in r.stderr


def test_plan_formats(tmp_path):
    import pandas as pd
    from openpyxl import load_workbook

    plan = optimizer.solve(QUICK)
    write_plan(plan, tmp_path / "csv")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted([f"{n}.csv" for n in plan.tables] + ["summary.json"])
    write_plan(plan, tmp_path / "xl", fmt="xlsx")
    assert sorted(p.name for p in (tmp_path / "xl").iterdir()) == ["plan.xlsx", "summary.json"]
    wb = load_workbook(tmp_path / "xl" / "plan.xlsx", read_only=True)
    assert wb.sheetnames == ["summary", *plan.tables]
    summary = {row[0]: row[1] for row in wb["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["status"] == "optimal" and summary["objective"] == pytest.approx(plan.objective)
    wb.close()
    builds = pd.read_excel(tmp_path / "xl" / "plan.xlsx", sheet_name="builds")
    assert len(builds) == len(plan.tables["builds"])
    write_plan(plan, tmp_path / "pq", fmt="parquet")
    for name, df in plan.tables.items():
        back = pd.read_parquet(tmp_path / "pq" / f"{name}.parquet")
        assert list(back.columns) == [str(c) for c in df.columns] and len(back) == len(df)
    with pytest.raises(FileExistsError):
        write_plan(plan, tmp_path / "pq", fmt="parquet")
    write_plan(plan, tmp_path / "pq", fmt="csv", overwrite=True)  # replaced atomically
    assert not list((tmp_path / "pq").glob("*.parquet"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(ValueError):
        write_plan(plan, tmp_path / "other", fmt="ods")


# ----------------------------------------------------------------------------- JSON Schema
def test_published_schema_is_current():
    published = json.loads((ROOT / "docs" / "instance.schema.json").read_text())
    assert published == instance_json_schema(), "regenerate: dcplan schema --out docs/instance.schema.json"
    assert (ROOT / "docs" / "instance.schema.json").read_text() == schema_text()


def test_instance_format_reference_is_current():
    from optimizer.instance.reference import render

    assert (ROOT / "docs" / "instance-format.md").read_text(encoding="utf-8") == render(), \
        "regenerate: python -m optimizer.instance.reference > docs/instance-format.md"


def test_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == instance_json_schema()
    assert printed["title"] == "Instance" and "sites" in printed["properties"]


@pytest.mark.parametrize("path", INSTANCES, ids=[p.stem for p in INSTANCES])
def test_examples_validate_against_the_json_schema(path):
    jsonschema = pytest.importorskip("jsonschema")
    spec = instance_json_schema()
    jsonschema.Draft202012Validator.check_schema(spec)
    data = json.loads(json.dumps(yaml.safe_load(path.read_text())))  # as an editor sees it: keys are text
    errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft202012Validator(spec).iter_errors(data)]
    assert not errors, errors[:5]


def test_json_schema_rejects_what_the_loader_rejects():
    jsonschema = pytest.importorskip("jsonschema")
    v = jsonschema.Draft202012Validator(instance_json_schema())
    data = json.loads(json.dumps(yaml.safe_load(QUICK.read_text())))
    for change in (lambda d: d["sites"][0].update(grid_mv=5), lambda d: d["sites"][0].update(kind="moon"),
                   lambda d: d["sites"][0].update(id="bad id"), lambda d: d["horizon"].update(discount_rate=1.5)):
        bad = copy.deepcopy(data)
        change(bad)
        assert list(v.iter_errors(bad)), change
    ok = copy.deepcopy(data)
    ok["sites"][0]["grid_available_from"] = 2028  # YAML integers are identifiers
    assert not list(v.iter_errors(ok))


# ----------------------------------------------------------------------------- dcplan new
def test_new_writes_a_starter_that_validates_and_solves(tmp_path, capsys):
    f = tmp_path / "mine.yaml"
    assert main(["new", str(f)]) == 0
    text = f.read_text()
    assert text == STARTER and text.count("#") > 30 and "dd 1.2" in text
    inst = optimizer.load_instance(f)
    plan = optimizer.solve(inst)
    assert plan.status == "optimal"
    assert optimizer.verify_plan(inst, plan.tables, plan.expected_cost).ok
    f.write_text("mine")
    assert main(["new", str(f)]) == 5
    assert f.read_text() == "mine" and "--overwrite" in capsys.readouterr().err
    assert main(["new", str(f), "--overwrite"]) == 0 and f.read_text() == STARTER
    assert main(["new", str(tmp_path / "starter.xlsx")]) == 0
    assert dump(optimizer.load_instance(tmp_path / "starter.xlsx")) == dump(inst)


# ----------------------------------------------------------------------------- sources survive convert
@pytest.mark.parametrize("middle", ["q.xlsx", "q-csv"])
def test_sources_survive_a_convert_round_trip(middle, tmp_path, capsys):
    """Comments are lost by convert; the `sources` they cite are kept: YAML -> xlsx/CSV -> YAML."""
    orig = optimizer.load_instance(QUICK)
    assert orig.sources and all(s.text.endswith(f"(docs/sources.md#{s.id})") for s in orig.sources)
    mid, back = tmp_path / middle, tmp_path / "back.yaml"
    assert main(["convert", str(QUICK), str(mid)]) == 0
    assert main(["convert", str(mid), str(back)]) == 0
    capsys.readouterr()
    assert optimizer.load_instance(back).sources == orig.sources
    assert dump(optimizer.load_instance(back)) == dump(orig)
    if middle.endswith("csv"):
        rows = list(csv.DictReader((mid / "sources.csv").open(encoding="utf-8")))
        assert [r["id"] for r in rows] == [s.id for s in orig.sources]
    assert "sources:" in back.read_text()


def test_an_instance_without_sources_converts_unchanged(tmp_path):
    inst = optimizer.load_instance(QUICK).replace(sources=[])
    write_instance(inst, tmp_path / "t.xlsx")
    write_instance(optimizer.load_instance(tmp_path / "t.xlsx"), tmp_path / "t.yaml")
    assert "sources" not in (tmp_path / "t.yaml").read_text()
    assert optimizer.load_instance(tmp_path / "t.yaml").sources == []
