"""The independent verifier: solved plans pass, tampered plans are caught with a precise message."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

import optimizer
from optimizer.results.verify import VerificationReport, Violation, verify_plan

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- fixtures
def pinned_quickstart() -> dict:
    """instances/quickstart.yaml as first written (no end value), pinned here so that the
    hand-derived figures below do not move when the example file is refined.

    Optimum: 20 MW retrofit at rockdale-mine decided 2026 (online 2027), 70 racks bought in
    2027 and 20 more in 2028, every rack busy; the job and the Dallas demand served there."""
    return {
        "name": "quickstart-pinned",
        "horizon": {"periods": [{"id": "2026"}, {"id": "2027"}, {"id": "2028"}], "discount_rate": 0.08},
        "jurisdictions": [{"id": "US"}], "families": [{"id": "cuda", "training_efficiency": 1.0}],
        "sites": [
            {"id": "rockdale-mine", "jurisdiction": "US", "lat": 30.65, "lon": -97.0, "kind": "convertible", "grid_mw": 100,
             "electricity_usd_per_mwh": 66,
             "build_options": [{"id": "ai-retrofit", "capex_usd_per_mw": 8e6, "lead_time_months": 12, "pue": 1.2,
                                "usable_grid_share": 0.8, "max_it_mw": 60, "block_mw": 10}]},
            {"id": "abilene-green", "jurisdiction": "US", "lat": 32.45, "lon": -99.73, "kind": "greenfield", "grid_mw": 300,
             "grid_available_from": "2028", "electricity_usd_per_mwh": 60,
             "build_options": [{"id": "new-build", "capex_usd_per_mw": 11e6, "lead_time_months": 24, "pue": 1.15,
                                "max_it_mw": 200, "block_mw": 20}]},
        ],
        "systems": [{"id": "gb200-nvl72", "vendor": "Nvidia", "origin": "US", "family": "cuda", "it_kw_per_unit": 145,
                     "idle_power_share": 0.3, "training_pflops_per_unit": 180, "inference_pflops_per_unit": 180,
                     "price_usd_per_unit": 3e6, "lifetime_years": 5}],
        "training_jobs": [{"id": "frontier-run", "compute_pflops": {"2027": 9000, "2028": 9000}, "unplaced_cost_usd": 2e9}],
        "regions": [{"id": "dallas", "jurisdiction": "US", "lat": 32.78, "lon": -96.8,
                     "demand_pflops": {"2026": 0, "2027": 3600, "2028": 7200}, "max_latency_ms": 20,
                     "unserved_penalty_usd_per_pflops_year": 100000}],
    }


@pytest.fixture(scope="module")
def example():
    """The example file as it is today."""
    inst = optimizer.load_instance(ROOT / "instances" / "quickstart.yaml")
    plan = optimizer.solve(inst)
    assert plan.status == "optimal", plan.messages
    return inst, plan


@pytest.fixture(scope="module")
def quickstart():
    inst = optimizer.instance_from_dict(pinned_quickstart(), "quickstart-pinned")
    plan = optimizer.solve(inst)
    assert plan.status == "optimal", plan.messages
    b, f = plan.tables["builds"], plan.tables["fleet"]
    assert b["it_mw"].tolist() == [20.0] and f["units_bought"].tolist() == [70.0, 20.0], "pinned optimum moved"
    return inst, plan


def tamper(plan) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in plan.tables.items()}


def caught(rep: VerificationReport, *fragments: str) -> bool:
    """Some violation contains every fragment."""
    return any(all(f in v for f in fragments) for v in rep.messages)


def with_data(inst, path: list, value):
    """A copy of the instance with one nested field replaced (re-validated)."""
    data = inst.model_dump()
    cur = data
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return optimizer.instance_from_dict(data, "tampered")


# ----------------------------------------------------------------------------- the example file
def test_example_quickstart_verifies(example):
    inst, plan = example
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    assert isinstance(rep, VerificationReport)
    assert rep.ok, rep.messages
    assert rep.objective == pytest.approx(plan.expected_cost, rel=1e-9)
    assert rep.objective == pytest.approx(plan.objective, rel=1e-9)
    mine = rep.costs.groupby("category")["discounted_usd"].sum()
    theirs = plan.tables["costs"].groupby("category")["discounted_usd"].sum()
    pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), rtol=1e-9)


def test_example_quickstart_tampered(example):
    """Generic tampering of the example's plan: fewer units, a route above demand, the build
    removed with the fleet kept, a changed objective."""
    inst, plan = example
    f = plan.tables["fleet"]
    first = f[f["units_bought"] > 0].iloc[0]
    s, k, p = first["site"], first["system"], first["period"]
    t = tamper(plan)
    ff = t["fleet"]
    ff.loc[(ff["site"] == s) & (ff["system"] == k), ["units_bought", "units_in_service"]] = 0.0
    rep = verify_plan(inst, t, plan.expected_cost)
    assert caught(rep, f"compute_use: site '{s}' system '{k}' {p}", "busy units", "> 0 units in service")

    d = plan.tables["demand"]
    row = d[d["served_pflops"] > 0].iloc[0]
    t = tamper(plan)
    inf = t["inference"]
    i = inf[(inf["region"] == row["region"]) & (inf["period"] == row["period"])].index[0]
    inf.loc[i, "pflops"] += row["demand_pflops"]
    rep = verify_plan(inst, t, plan.expected_cost)
    assert caught(rep, f"demand: region '{row['region']}' {row['period']} scenario base: served", "> demand")

    t = tamper(plan)
    t["builds"] = t["builds"].iloc[0:0]
    rep = verify_plan(inst, t, plan.expected_cost)
    assert caught(rep, f"fleet: site '{s}' system '{k}' {p} scenario base", "no capacity online")
    assert caught(rep, f"nameplate: site '{s}' {p} scenario base", "> built IT capacity 0 MW")

    rep = verify_plan(inst, plan.tables, plan.expected_cost * 1.01)
    assert [v.split(":")[0] for v in rep.messages] == ["objective"]


def test_csv_round_trip_verifies(example, tmp_path):
    """Tables read back from the CSV files (periods become integers) verify the same."""
    inst, plan = example
    out = optimizer.write_plan(plan, tmp_path / "qs")
    tables = {name: pd.read_csv(out / f"{name}.csv") for name in plan.tables}
    rep = verify_plan(inst, tables, plan.expected_cost)
    assert rep.ok, rep.messages


# ----------------------------------------------------------------------------- pinned quickstart
def test_quickstart_plan_verifies(quickstart):
    inst, plan = quickstart
    rep = verify_plan(inst, plan.tables, plan.objective)
    assert rep.ok and rep.violations == [], rep.messages
    assert rep.objective == pytest.approx(plan.objective, rel=1e-9)
    assert rep.objective_reported == plan.objective
    mine = rep.costs.groupby("category")["discounted_usd"].sum()
    theirs = plan.tables["costs"].groupby("category")["discounted_usd"].sum()
    pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), rtol=1e-9)
    assert list(rep.costs.columns) == list(plan.tables["costs"].columns)


def test_quickstart_objective_by_hand(quickstart):
    """20 MW retrofit decided 2026 ($160M at t=0); 70 racks in 2027 and 20 more in 2028 at $3M,
    discounted at 8 %; energy at PUE 1.2 and $66/MWh with every rack busy."""
    inst, plan = quickstart
    rep = verify_plan(inst, plan.tables)
    capex = 160e6 + 70 * 3e6 / 1.08 + 20 * 3e6 / 1.08**2
    energy = 66 * 8760 * 1.2 * (70 * 0.145 / 1.08 + 90 * 0.145 / 1.08**2)
    assert rep.objective == pytest.approx(capex + energy, rel=1e-9)
    assert rep.ok and rep.objective_reported is None


def test_verifier_is_independent_of_the_model():
    """No Pyomo, no derive.py, no model or extract modules: only stdlib, numpy, pandas and the schema."""
    files = sorted((ROOT / "optimizer" / "results" / "verify").glob("*.py"))
    assert files and not (ROOT / "optimizer" / "results" / "verify.py").exists()
    for path in files:
        src = path.read_text()
        imports = [line.strip() for line in src.splitlines() if line.strip().startswith(("import ", "from "))]
        assert imports, path.name
        for line in imports:
            assert not any(bad in line for bad in ("pyomo", "derive", "model", "extract", "plan", "solve")), (path.name, line)
            if line.startswith("from optimizer"):
                assert line.startswith(("from optimizer.instance.schema ", "from optimizer.results.verify")), (path.name, line)


# ----------------------------------------------------------------------------- tampering
def test_dropped_units_fail_compute_and_nameplate(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    f = t["fleet"]
    f.loc[f["period"] == "2027", ["units_bought", "units_in_service"]] = 50
    f.loc[f["period"] == "2028", "units_in_service"] = 70
    rep = verify_plan(inst, t, plan.objective)
    assert not rep.ok
    assert caught(rep, "compute_use: site 'rockdale-mine' system 'gb200-nvl72' 2027 scenario base", "busy units",
                  "> 50 units in service")
    assert caught(rep, "objective: reported")


def test_inconsistent_units_in_service_is_caught(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    t["fleet"].loc[t["fleet"]["period"] == "2028", "units_in_service"] = 95
    rep = verify_plan(inst, t, plan.objective)
    assert caught(rep, "fleet: site 'rockdale-mine' system 'gb200-nvl72' 2028 scenario base", "units_in_service reported 95",
                  "give 90")


def test_violations_are_structured_records(quickstart):
    """A tampered figure gives a record naming the table, the record, the rule and both figures;
    its text is the message (``str(v)``, ``rep.messages``) printed in the report."""
    inst, plan = quickstart
    t = tamper(plan)
    t["fleet"].loc[t["fleet"]["period"] == "2028", "units_in_service"] = 95
    rep = verify_plan(inst, t, plan.objective)
    found = [v for v in rep.violations if v.rule == "units_in_service"]
    assert len(found) == 1
    v = found[0]
    assert isinstance(v, Violation)
    assert (v.table, v.record, v.reported, v.recomputed) == (
        "fleet", "site 'rockdale-mine' system 'gb200-nvl72' 2028 scenario base", 95.0, 90.0)
    assert str(v) == v.message == ("fleet: site 'rockdale-mine' system 'gb200-nvl72' 2028 scenario base: "
                                   "units_in_service reported 95, but existing units and purchases within their "
                                   "lifetime give 90")
    assert rep.messages == [str(x) for x in rep.violations] and f"  - {v.message}" in str(rep).splitlines()
    with pytest.raises(AttributeError):
        v.rule = "other"  # type: ignore[misc]  # frozen
    # a bound broken: the plan's figure and the bound recomputed from the instance
    t = tamper(plan)
    t["inference"].loc[t["inference"]["period"] == "2027", "pflops"] = 5000
    rep = verify_plan(inst, t, plan.objective)
    v = next(x for x in rep.violations if x.rule == "demand_balance")
    assert (v.table, v.record, v.reported, v.recomputed) == ("demand", "region 'dallas' 2027 scenario base", 5000.0, 3600.0)


def test_extra_units_exceed_nameplate(quickstart):
    """200 racks (29 MW) do not fit the 20 MW built."""
    inst, plan = quickstart
    t = tamper(plan)
    f = t["fleet"]
    f.loc[f["period"] == "2027", ["units_bought", "units_in_service"]] = 200
    f.loc[f["period"] == "2028", "units_in_service"] = 220
    rep = verify_plan(inst, t)
    assert caught(rep, "nameplate: site 'rockdale-mine' 2027 scenario base", "> built IT capacity 20 MW")


def test_route_above_demand(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    inf = t["inference"]
    inf.loc[inf["period"] == "2027", "pflops"] = 5000
    rep = verify_plan(inst, t, plan.objective)
    assert caught(rep, "demand: region 'dallas' 2027 scenario base: served 5000 PFLOPS > demand 3600")
    assert caught(rep, "inference: site 'rockdale-mine' 2027 scenario base: routes total 5000 PFLOPS")


def test_removed_build_with_fleet_kept(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    t["builds"] = t["builds"].iloc[0:0]
    rep = verify_plan(inst, t, plan.objective)
    assert caught(rep, "fleet: site 'rockdale-mine' system 'gb200-nvl72' 2027 scenario base", "no capacity online in 2027")
    assert caught(rep, "nameplate: site 'rockdale-mine' 2027 scenario base", "> built IT capacity 0 MW")
    assert caught(rep, "training: job 'frontier-run'", "no capacity online")


def test_changed_objective(quickstart):
    inst, plan = quickstart
    rep = verify_plan(inst, plan.tables, plan.objective * 1.001)
    assert not rep.ok
    assert len(rep.violations) == 1 and rep.messages[0].startswith("objective: reported")
    # within the tolerance it passes
    assert verify_plan(inst, plan.tables, plan.objective * (1 + 1e-8)).ok


def test_changed_cost_row(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    c = t["costs"]
    c.loc[c["category"] == "energy", "discounted_usd"] *= 0.5
    rep = verify_plan(inst, t, plan.objective)
    assert caught(rep, "costs: energy 2027 scenario base: plan reports discounted_usd")


def test_grid_cut_is_caught(quickstart):
    """The same plan against a 15 MW grid: 12.18 MW facility at 80 % usable holds 15.225 MW of the connection."""
    inst, plan = quickstart
    cut = with_data(inst, ["sites", 0, "grid_mw"], 15)
    rep = verify_plan(cut, plan.tables, plan.objective)
    assert caught(rep, "site_power: site 'rockdale-mine' 2027 scenario base: grid connection held 15.225 MW > grid 15 MW")


def test_build_too_early_and_wrong_online_period(quickstart):
    inst, plan = quickstart
    late = with_data(inst, ["sites", 0, "build_options", 0, "earliest_period"], "2027")
    rep = verify_plan(late, plan.tables)
    assert caught(rep, "builds: site 'rockdale-mine' option 'ai-retrofit' decided 2026: before the option's earliest period 2027")
    t = tamper(plan)
    t["builds"].loc[0, "online_period"] = "2026"
    rep = verify_plan(inst, t)
    assert caught(rep, "online period reported 2026", "gives 2027")
    t = tamper(plan)
    t["builds"].loc[0, ["blocks", "it_mw"]] = [7, 70.0]
    rep = verify_plan(inst, t)
    assert caught(rep, "7 blocks x 10 MW > max_it_mw 60")


def test_two_builds_at_one_site(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    b = t["builds"]
    extra = b.iloc[[0]].copy()
    extra["decision_period"], extra["online_period"] = "2027", "2028"
    t["builds"] = pd.concat([b, extra], ignore_index=True)
    rep = verify_plan(inst, t)
    assert caught(rep, "builds: site 'rockdale-mine' is built more than once")


def test_export_ban_is_caught(quickstart):
    inst, plan = quickstart
    banned = with_data(inst, ["policies", "export_rules"],
                       [{"id": "no-gb200", "system": "gb200-nvl72", "jurisdiction": "US", "periods": ["2028"], "action": "ban"}])
    rep = verify_plan(banned, plan.tables)
    assert caught(rep, "fleet: site 'rockdale-mine' system 'gb200-nvl72' 2028 scenario base", "export rule 'no-gb200' bans")


def test_export_cap_and_supply_are_caught(quickstart):
    inst, plan = quickstart
    capped = with_data(inst, ["policies", "export_rules"],
                       [{"id": "cap", "family": "cuda", "jurisdiction": "US", "action": "cap", "cap_units": 30}])
    rep = verify_plan(capped, plan.tables)
    assert caught(rep, "export_cap: rule 'cap' 2027 scenario base: 70 units bought > cap 30")
    short = with_data(inst, ["systems", 0, "supply_units"], 50)
    rep = verify_plan(short, plan.tables)
    assert caught(rep, "supply: system 'gb200-nvl72' 2027 scenario base: 70 units bought > supply 50")


def test_latency_and_residency_are_caught(quickstart):
    inst, plan = quickstart
    strict = with_data(inst, ["regions", 0, "max_latency_ms"], 1)
    rep = verify_plan(strict, plan.tables)
    assert caught(rep, "inference: region 'dallas' site 'rockdale-mine' 2027 scenario base", "latency 2.37599 ms > max 1 ms")
    data = inst.model_dump()
    data["jurisdictions"].append({"id": "MX"})
    data["regions"][0]["allowed_jurisdictions"] = ["MX"]
    rep = verify_plan(optimizer.instance_from_dict(data), plan.tables)
    assert caught(rep, "inference: region 'dallas' site 'rockdale-mine'", "data residency allows only MX")


def test_training_rules_are_caught(quickstart):
    inst, plan = quickstart
    # unplaced: the penalty enters the objective (and the plan's cost table no longer matches)
    t = tamper(plan)
    t["training"].loc[0, ["placed", "site", "family"]] = [False, None, None]
    rep = verify_plan(inst, t, plan.objective)
    assert caught(rep, "costs: unplaced_penalty 2027 scenario base")
    must = with_data(inst, ["training_jobs", 0, "must_place"], True)
    rep = verify_plan(must, t)
    assert caught(rep, "training: job 'frontier-run' scenario base: must be placed but is not")
    # placed where it is not allowed
    data = inst.model_dump()
    data["jurisdictions"].append({"id": "EU"})
    data["training_jobs"][0]["allowed_jurisdictions"] = ["EU"]
    rep = verify_plan(optimizer.instance_from_dict(data), plan.tables)
    assert caught(rep, "training: job 'frontier-run' scenario base: placed at site 'rockdale-mine' in US, outside")
    # more compute than the placed site's family delivers
    big = with_data(inst, ["training_jobs", 0, "compute_pflops"], {"2027": 9500, "2028": 9000})
    rep = verify_plan(big, plan.tables)
    assert caught(rep, "training: site 'rockdale-mine' family 'cuda' 2027 scenario base: jobs placed need 9500 PFLOPS")


def test_must_serve_is_caught(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    t["inference"] = t["inference"][t["inference"]["period"] != "2028"]
    must = with_data(inst, ["regions", 0, "must_serve"], True)
    rep = verify_plan(must, t)
    assert caught(rep, "demand: region 'dallas' 2028 scenario base: must be served, but 7200 of 7200 PFLOPS are unserved")


def test_missing_table_is_reported(quickstart):
    inst, plan = quickstart
    t = tamper(plan)
    del t["pool_load"]
    rep = verify_plan(inst, t)
    assert caught(rep, "pool_load: table missing")


# ----------------------------------------------------------------------------- richer instances
def rich_instance() -> dict:
    """Scenarios with every override, an existing site with an expansion option (two pools),
    a domestic-systems energy subsidy, a capex subsidy, a soft share target, an export premium
    and (in one scenario) a ban and a cap, FOM and O&M, retirements and a two-year period."""
    return {
        "name": "verify-rich",
        "horizon": {"periods": [{"id": "2026", "years": 1}, {"id": "2027", "years": 2}, {"id": "2029", "years": 1}],
                    "discount_rate": 0.07},
        "network": {"rtt_ms_per_1000_km": 10, "route_factor": 1.2, "base_latency_ms": 2},
        "jurisdictions": [{"id": "CN"}, {"id": "CN-west", "parent": "CN"}, {"id": "US"}],
        "families": [{"id": "cuda"}, {"id": "cann", "training_efficiency": 0.6}],
        "sites": [
            {"id": "old-dc", "jurisdiction": "CN-west", "lat": 38.5, "lon": 106.3, "kind": "existing", "grid_mw": 9,
             "electricity_usd_per_mwh": 60,
             "existing": {"it_mw": 2, "pue": 1.6, "usable_grid_share": 0.9, "fom_usd_per_mw_year": 20000},
             "existing_units": [{"system": "gpu", "units": 1, "retire_after": "2027"}],
             "build_options": [{"id": "hall2", "capex_usd_per_mw": 400000, "fixed_capex_usd": 50000, "lead_time_months": 6,
                                "pue": 1.1, "max_it_mw": 6, "block_mw": 1, "fom_usd_per_mw_year": 10000}]},
            {"id": "mine", "jurisdiction": "CN", "lat": 39.0, "lon": 116.0, "kind": "convertible",
             "grid_mw": {"2026": 4, "2027": 6, "2029": 6}, "electricity_usd_per_mwh": {"2026": 50, "2027": 55, "2029": 60},
             "build_options": [{"id": "retrofit", "capex_usd_per_mw": 300000, "lead_time_months": 12, "pue": 1.3,
                                "usable_grid_share": 0.8, "max_it_mw": 4, "block_mw": 2}]},
        ],
        "systems": [
            {"id": "gpu", "vendor": "Nvidia", "origin": "US", "family": "cuda", "it_kw_per_unit": 1000, "idle_power_share": 0.2,
             "training_pflops_per_unit": 10, "inference_pflops_per_unit": 10, "price_usd_per_unit": 200000,
             "om_usd_per_unit_year": 5000, "lifetime_years": 3},
            {"id": "npu", "vendor": "Huawei", "origin": "CN", "family": "cann", "it_kw_per_unit": 1000, "idle_power_share": 0.3,
             "training_pflops_per_unit": 8, "inference_pflops_per_unit": 6,
             "price_usd_per_unit": {"2026": 300000, "2027": 250000, "2029": 200000}, "lifetime_years": 4, "supply_units": 5},
        ],
        "policies": {
            "export_rules": [{"id": "licence", "family": "cuda", "jurisdiction": "CN", "action": "premium",
                              "premium_share": 0.2, "premium_usd_per_unit": 10000}],
            "energy_subsidies": [{"id": "west-power", "jurisdiction": "CN-west", "discount_share": 0.5,
                                  "applies_to": "domestic_systems"}],
            "capex_subsidies": [{"id": "build-west", "jurisdiction": "CN-west", "periods": ["2026"], "usd_per_mw": 100000}],
            "share_targets": [{"id": "soft40", "jurisdiction": "CN", "min_domestic_share": 0.4, "hard": False,
                               "shortfall_penalty_usd_per_pflops_year": 3000}],
        },
        "training_jobs": [{"id": "run", "compute_pflops": {"2027": 12, "2029": 12}, "unplaced_cost_usd": 5e6}],
        "regions": [
            {"id": "west", "jurisdiction": "CN-west", "lat": 38.0, "lon": 106.0,
             "demand_pflops": {"2026": 10, "2027": 20, "2029": 30},
             "max_latency_ms": 30, "allowed_jurisdictions": ["CN"], "unserved_penalty_usd_per_pflops_year": 200000,
             "route_cost_usd_per_pflops_year": {"mine": 1000}},
            {"id": "east", "jurisdiction": "CN", "lat": 31.2, "lon": 121.5, "demand_pflops": 8,
             "unserved_penalty_usd_per_pflops_year": 150000, "latency_ms": {"old-dc": 40}},
        ],
        "scenarios": [
            {"id": "base", "probability": 0.6},
            {"id": "tight", "probability": 0.4, "demand_scale": 1.5, "region_demand_scale": {"east": 0.5}, "training_scale": 1.2,
             "electricity_price_scale": 1.2, "site_electricity_usd_per_mwh": {"mine": 80}, "system_price_scale": {"gpu": 1.5},
             "region_demand_pflops": {"east": {"2026": 4, "2027": 8, "2029": 12}},
             "policies": {"export_rules": [
                 {"id": "ban-west", "family": "cuda", "jurisdiction": "CN-west", "periods": ["2029"], "action": "ban"},
                 {"id": "cap", "system": "gpu", "jurisdiction": "CN", "action": "cap", "cap_units": 2}]}},
        ],
    }


def qualifying_instance() -> dict:
    """A qualifying-site subsidy (exact threshold), a hard share target, an existing site with
    an expansion (two pools) and a scenario that removes the subsidy."""
    return {
        "name": "verify-qualify",
        "horizon": {"periods": [{"id": "2026"}, {"id": "2027"}], "discount_rate": 0.05},
        "jurisdictions": [{"id": "CN"}, {"id": "CN-west", "parent": "CN"}, {"id": "US"}],
        "families": [{"id": "cuda"}, {"id": "cann", "training_efficiency": 0.5}],
        "sites": [
            {"id": "hub", "jurisdiction": "CN-west", "lat": 30, "lon": 104, "kind": "existing", "grid_mw": 20,
             "electricity_usd_per_mwh": 100, "existing": {"it_mw": 1, "pue": 1.5},
             "existing_units": [{"system": "gpu", "units": 1}],
             "build_options": [{"id": "exp", "capex_usd_per_mw": 1000, "lead_time_months": 0, "pue": 1.1,
                                "max_it_mw": 6, "block_mw": 1}]},
            {"id": "coast", "jurisdiction": "US", "lat": 31, "lon": 121, "kind": "convertible", "grid_mw": 10,
             "electricity_usd_per_mwh": 20,
             "build_options": [{"id": "conv", "capex_usd_per_mw": 5000, "lead_time_months": 0, "pue": 1.2,
                                "max_it_mw": 4, "block_mw": 2}]},
        ],
        "systems": [
            {"id": "gpu", "vendor": "v", "origin": "US", "family": "cuda", "it_kw_per_unit": 1000, "idle_power_share": 0.0,
             "training_pflops_per_unit": 10, "inference_pflops_per_unit": 10, "price_usd_per_unit": 1000, "lifetime_years": 10},
            {"id": "npu", "vendor": "v", "origin": "CN", "family": "cann", "it_kw_per_unit": 500, "idle_power_share": 0.1,
             "training_pflops_per_unit": 5, "inference_pflops_per_unit": 4, "price_usd_per_unit": 1500, "lifetime_years": 10},
        ],
        "policies": {
            "energy_subsidies": [{"id": "qual", "jurisdiction": "CN", "discount_share": 0.6, "applies_to": "qualifying_sites",
                                  "domestic_share_threshold": 0.7}],
            "share_targets": [{"id": "half", "jurisdiction": "CN", "periods": ["2027"], "min_domestic_share": 0.5}],
        },
        "regions": [{"id": "r", "jurisdiction": "CN", "lat": 30, "lon": 105, "demand_pflops": {"2026": 10, "2027": 30},
                     "allowed_jurisdictions": ["CN"], "unserved_penalty_usd_per_pflops_year": 1e6}],
        "scenarios": [
            {"id": "sub", "probability": 0.5},
            {"id": "nosub", "probability": 0.5, "demand_scale": 1.2, "policies": {"energy_subsidies": []}},
        ],
    }


@pytest.fixture(scope="module")
def rich():
    inst = optimizer.instance_from_dict(rich_instance(), "rich")
    plan = optimizer.solve(inst, optimizer.SolveOptions(mip_gap=1e-6))
    assert plan.status == "optimal", plan.messages
    return inst, plan


@pytest.fixture(scope="module")
def qualify():
    inst = optimizer.instance_from_dict(qualifying_instance(), "qualify")
    plan = optimizer.solve(inst, optimizer.SolveOptions(mip_gap=1e-6))
    assert plan.status == "optimal", plan.messages
    return inst, plan


def test_rich_instance_verifies(rich):
    inst, plan = rich
    rep = verify_plan(inst, plan.tables, plan.objective)
    assert rep.ok, rep.messages
    assert rep.objective == pytest.approx(plan.objective, rel=1e-7)
    # what the instance is meant to exercise does appear in the plan
    pl = plan.tables["pool_load"]
    assert set(pl.loc[pl["site"] == "old-dc", "pool"]) == {"existing", "hall2"}
    assert set(plan.tables["costs"]["scenario"]) == {"base", "tight"}
    cats = set(rep.costs["category"])
    assert {"site_capex", "site_fom", "system_capex", "energy", "energy_subsidy"} <= cats
    assert (rep.costs.loc[rep.costs["category"] == "energy_subsidy", "discounted_usd"] < 0).all()


def test_rich_instance_split_domestic_load_is_checked(rich):
    """Multi-pool domestic-systems subsidy: the domestic load put in a pool cannot exceed its load."""
    inst, plan = rich
    t = tamper(plan)
    pl = t["pool_load"]
    rows = pl[(pl["site"] == "old-dc") & (pl["domestic_it_load_mw"] > 0)]
    assert len(rows), "expected domestic load at the two-pool site"
    i = rows.index[0]
    pl.loc[i, "domestic_it_load_mw"] = pl.loc[i, "it_load_mw"] + 1.0
    rep = verify_plan(inst, t)
    assert caught(rep, "energy_subsidy: 'west-power' site 'old-dc'", "> the pool's load")


def test_rich_instance_pool_capacity_is_checked(rich):
    """Moving the expansion hall's load into the 2 MW existing hall overfills it."""
    inst, plan = rich
    t = tamper(plan)
    pl = t["pool_load"]
    j = pl[(pl["site"] == "old-dc") & (pl["pool"] == "hall2") & (pl["it_load_mw"] > 2.5)].index[0]
    i = pl[(pl["site"] == "old-dc") & (pl["pool"] == "existing") & (pl["period"] == pl.loc[j, "period"])
           & (pl["scenario"] == pl.loc[j, "scenario"])].index[0]
    pl.loc[i, "it_load_mw"] += pl.loc[j, "it_load_mw"]
    pl.loc[j, "it_load_mw"] = 0.0
    rep = verify_plan(inst, t)
    p, w = pl.loc[j, "period"], pl.loc[j, "scenario"]
    assert caught(rep, f"pool_load: site 'old-dc' {p} scenario {w} pool 'existing': load", "> pool capacity 2 MW")
    # the pool loads still add up to the IT load; only the split is wrong
    assert not caught(rep, "pool loads total")


def test_scenario_ban_is_re_derived(rich):
    """In 'tight' cuda is banned in CN-west in 2029: no gpu may be bought at old-dc then."""
    inst, plan = rich
    f = plan.tables["fleet"]
    assert not ((f["scenario"] == "tight") & (f["site"] == "old-dc") & (f["system"] == "gpu") & (f["period"] == "2029")
                & (f["units_bought"] > 0)).any()
    t = tamper(plan)
    extra = pd.DataFrame([{**{c: None for c in f.columns}, "site": "old-dc", "system": "gpu", "period": "2029",
                           "scenario": "tight", "units_bought": 1.0, "units_in_service": 1.0}])
    t["fleet"] = pd.concat([t["fleet"], extra], ignore_index=True)
    rep = verify_plan(inst, t)
    assert caught(rep, "fleet: site 'old-dc' system 'gpu' 2029 scenario tight", "export rule 'ban-west' bans")


def test_qualifying_subsidy_and_hard_target_verify(qualify):
    inst, plan = qualify
    rep = verify_plan(inst, plan.tables, plan.objective)
    assert rep.ok, rep.messages
    assert rep.objective == pytest.approx(plan.objective, rel=1e-7)
    pol = plan.tables["policy"]
    sub = pol[pol["kind"] == "energy_subsidy"]
    assert set(sub["scenario"]) == {"sub"}  # the 'nosub' scenario replaces the subsidy list with none
    assert sub["met"].astype(bool).any()
    pl = plan.tables["pool_load"]
    assert set(pl.loc[pl["site"] == "hub", "pool"]) == {"existing", "exp"}


def test_qualification_below_threshold_is_caught(qualify):
    inst, plan = qualify
    data = qualifying_instance()
    data["policies"]["energy_subsidies"][0]["domestic_share_threshold"] = 0.99
    strict = optimizer.instance_from_dict(data)
    rep = verify_plan(strict, plan.tables)
    assert caught(rep, "energy_subsidy: 'qual' site 'hub'", "counted as qualified", "< threshold 0.99")


def test_hard_share_target_is_caught(qualify):
    inst, plan = qualify
    data = qualifying_instance()
    data["policies"]["share_targets"][0]["min_domestic_share"] = 0.99
    data["scenarios"][1]["policies"]["share_targets"] = []
    rep = verify_plan(optimizer.instance_from_dict(data), plan.tables)
    assert caught(rep, "share_target: 'half' in CN 2027 scenario sub: domestic share", "< 0.99")
    assert not caught(rep, "share_target: 'half' in CN 2027 scenario nosub")


def test_domestic_subsidy_single_pool_micro():
    """One existing single-pool site; the domestic npu (2 MW) gets 60 % off its energy:
    npu 1000 + 2 x 876,000 x 0.4 = 701,800 beats gpu 1000 + 876,000; saving 0.6 x 2 x 876,000."""
    data = {
        "name": "dom", "horizon": {"periods": [{"id": "2026"}]},
        "jurisdictions": [{"id": "CN"}, {"id": "US"}], "families": [{"id": "cuda"}, {"id": "cann"}],
        "sites": [{"id": "s", "jurisdiction": "CN", "lat": 0, "lon": 0, "kind": "existing", "grid_mw": 10,
                   "electricity_usd_per_mwh": 100, "existing": {"it_mw": 5, "pue": 1.0}}],
        "systems": [
            {"id": "gpu", "vendor": "v", "origin": "US", "family": "cuda", "it_kw_per_unit": 1000, "idle_power_share": 0,
             "training_pflops_per_unit": 10, "inference_pflops_per_unit": 10, "price_usd_per_unit": 1000, "lifetime_years": 5},
            {"id": "npu", "vendor": "v", "origin": "CN", "family": "cann", "it_kw_per_unit": 2000, "idle_power_share": 0,
             "training_pflops_per_unit": 10, "inference_pflops_per_unit": 10, "price_usd_per_unit": 1000, "lifetime_years": 5},
        ],
        "policies": {"energy_subsidies": [{"id": "d", "jurisdiction": "CN", "discount_share": 0.6,
                                           "applies_to": "domestic_systems"}]},
        "regions": [{"id": "r", "jurisdiction": "CN", "lat": 0, "lon": 0, "demand_pflops": 10,
                     "unserved_penalty_usd_per_pflops_year": 1e6}],
    }
    inst = optimizer.instance_from_dict(data)
    plan = optimizer.solve(inst)
    rep = verify_plan(inst, plan.tables, plan.objective)
    assert rep.ok, rep.messages
    assert rep.objective == pytest.approx(1000 + 2 * 876_000 * 0.4, rel=1e-9)
    assert rep.costs.set_index("category").loc["energy_subsidy", "discounted_usd"] == pytest.approx(-0.6 * 2 * 876_000)


def test_placement_cost_is_recomputed(quickstart):
    """A one-off placement cost at the job's site is paid in its first period (2027, discounted once)."""
    inst, _ = quickstart
    data = inst.model_dump()
    data["training_jobs"][0]["placement_cost_usd"] = {"rockdale-mine": 1e6}
    inst2 = optimizer.instance_from_dict(data)
    plan = optimizer.solve(inst2)
    rep = verify_plan(inst2, plan.tables, plan.objective)
    assert rep.ok, rep.messages
    row = rep.costs[rep.costs["category"] == "placement"]
    assert row["period"].tolist() == ["2027"]
    assert row["discounted_usd"].iloc[0] == pytest.approx(1e6 / 1.08)
    # the same plan checked against the instance without the cost: the plan's cost table disagrees
    rep = verify_plan(inst, plan.tables, plan.objective)
    assert caught(rep, "costs: placement 2027 scenario base")


def test_risk_averse_plan_verifies_against_its_expected_cost(rich):
    """With a CVaR objective the solver's objective is not the expected cost; the verifier
    recomputes the expected discounted cost, which the plan reports as ``expected_cost``."""
    from optimizer import Risk

    inst, _ = rich
    plan = optimizer.solve(inst, optimizer.SolveOptions(mip_gap=1e-6), risk=Risk(0.5, 0.8))
    assert plan.status == "optimal", plan.messages
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    assert rep.ok, rep.messages
    assert rep.objective == pytest.approx(plan.expected_cost, rel=1e-7)


def test_share_target_on_fixed_compute():
    """Only an existing foreign gpu (10 PFLOPS) in CN and nothing can be bought: a soft 50 %
    target falls short by 5 PFLOPS whatever the plan (penalty 7 -> 35); a hard one is broken."""
    data = {
        "name": "fixed-share", "horizon": {"periods": [{"id": "2026"}]},
        "jurisdictions": [{"id": "CN"}, {"id": "US"}], "families": [{"id": "cuda"}],
        "sites": [{"id": "s", "jurisdiction": "CN", "lat": 0, "lon": 0, "kind": "existing", "grid_mw": 10,
                   "electricity_usd_per_mwh": 0, "existing": {"it_mw": 5, "pue": 1.0},
                   "existing_units": [{"system": "gpu", "units": 1}]}],
        "systems": [{"id": "gpu", "vendor": "v", "origin": "US", "family": "cuda", "it_kw_per_unit": 1000,
                     "training_pflops_per_unit": 10, "inference_pflops_per_unit": 10, "price_usd_per_unit": 100,
                     "lifetime_years": 5, "supply_units": 0}],
        "policies": {"share_targets": [{"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5, "hard": False,
                                        "shortfall_penalty_usd_per_pflops_year": 7}]},
    }
    inst = optimizer.instance_from_dict(copy.deepcopy(data))
    plan = optimizer.solve(inst)
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    assert rep.ok, rep.messages
    assert rep.objective == pytest.approx(35)
    data["policies"]["share_targets"][0]["hard"] = True
    rep = verify_plan(optimizer.instance_from_dict(data), plan.tables)
    assert caught(rep, "share_target: 't' in CN 2026 scenario base: domestic share 0 < 0.5")


def test_end_value_is_recomputed(quickstart):
    """Straight-line end value: the 20 MW retrofit (decided 2026, 20-year life) has 17 of 20
    years left when the 3-year horizon ends; racks (5-year life) bought 2027 / 2028 have 3 / 4
    of 5 years left. Credited at t = 3."""
    inst, _ = quickstart
    data = inst.model_dump()
    data["horizon"]["end_value"] = "straight_line"
    inst2 = optimizer.instance_from_dict(data)
    plan = optimizer.solve(inst2)
    rep = verify_plan(inst2, plan.tables, plan.expected_cost)
    assert rep.ok, rep.messages
    ev = rep.costs[rep.costs["category"] == "end_value"]
    assert ev["period"].tolist() == ["2028"]
    f = plan.tables["fleet"].set_index("period")["units_bought"]
    mw = float(plan.tables["builds"]["it_mw"].sum())
    site_cost = 8e6 * mw
    expect = -(site_cost * 17 / 20 + 3e6 * (f.get("2027", 0) * 3 / 5 + f.get("2028", 0) * 4 / 5)) / 1.08**3
    assert ev["discounted_usd"].iloc[0] == pytest.approx(expect, rel=1e-9)
    # the plan checked as if end values were off: the credit is missing from the recomputation
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    assert caught(rep, "costs: end_value 2028 scenario base") and caught(rep, "objective: reported")


@pytest.mark.parametrize("measure, share", [("training_pflops", 0.5), ("accelerators", 0.9)])
def test_share_measure_changes_what_counts(quickstart, measure, share):
    """One existing foreign gpu (10 PFLOPS, 1 chip) and one domestic npu (10 PFLOPS, 9 chips),
    nothing can be bought. Counted in PFLOPS the domestic share is 50 %, in chips 90 %:
    a hard 60 % target fails in PFLOPS and holds in chips."""
    data = {
        "name": "measure", "horizon": {"periods": [{"id": "2026"}]},
        "jurisdictions": [{"id": "CN"}, {"id": "US"}], "families": [{"id": "cuda"}, {"id": "cann"}],
        "sites": [{"id": "s", "jurisdiction": "CN", "lat": 0, "lon": 0, "kind": "existing", "grid_mw": 10,
                   "electricity_usd_per_mwh": 0, "existing": {"it_mw": 5, "pue": 1.0},
                   "existing_units": [{"system": "gpu", "units": 1}, {"system": "npu", "units": 1}]}],
        "systems": [
            {"id": "gpu", "vendor": "v", "origin": "US", "family": "cuda", "it_kw_per_unit": 1000, "training_pflops_per_unit": 10,
             "inference_pflops_per_unit": 10, "price_usd_per_unit": 100, "lifetime_years": 5, "supply_units": 0},
            {"id": "npu", "vendor": "v", "origin": "CN", "family": "cann", "it_kw_per_unit": 1000, "training_pflops_per_unit": 10,
             "inference_pflops_per_unit": 10, "price_usd_per_unit": 100, "lifetime_years": 5, "supply_units": 0,
             "accelerators_per_unit": 9},
        ],
        "policies": {"share_targets": [{"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.6, "measure": measure}]},
    }
    inst = optimizer.instance_from_dict(copy.deepcopy(data))
    # any plan: nothing to decide, so the empty plan of a sound instance is checked directly
    tables = {name: pd.DataFrame(columns=df.columns) for name, df in quickstart[1].tables.items()}
    f = pd.DataFrame([{"site": "s", "system": k, "period": "2026", "scenario": "base", "units_in_service": 1.0,
                       "units_bought": 0.0} for k in ("gpu", "npu")])
    tables["fleet"] = f
    tables["site_power"] = pd.DataFrame([{"site": "s", "period": "2026", "scenario": "base", "built_it_mw": 5.0,
                                          "nameplate_it_mw": 2.0, "it_load_mw": 0.6, "facility_mw": 0.6, "grid_mw": 10.0,
                                          "grid_drawn_mw": 0.6, "grid_capacity_held_mw": 0.6}])
    tables["pool_load"] = pd.DataFrame([{"site": "s", "pool": "existing", "period": "2026", "scenario": "base",
                                         "capacity_mw": 5.0, "it_load_mw": 0.6, "domestic_it_load_mw": 0.3}])
    rep = verify_plan(inst, tables)
    if share < 0.6:
        assert caught(rep, "share_target: 't' in CN 2026 scenario base: domestic share 0.5 < 0.6")
    else:
        assert rep.ok, rep.messages

