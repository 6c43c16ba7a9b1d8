"""What-if analysis: marginal values, sweeps and counterfactuals, on micro instances derived by hand.

Common data as in ``tests/model`` (see tests/conftest.py): one-year periods, one system 'gpu' (US origin, 1 MW
per unit, no idle draw, 10 PFLOPS, $100), free electricity, an existing 100 MW site in CN
with PUE 1, 8,760 hours per year.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import pandas as pd
import pytest
from conftest import HOURS, ROOT, micro, option, region, site, solve_checked, system

import optimizer
from optimizer import SolveOptions
from optimizer.analysis.explain import explain
from optimizer.analysis.marginal import MarginalValueError, marginal_values
from optimizer.analysis.sweep import parse_grid, sweep
from optimizer.files import OutputExistsError
from optimizer.instance.errors import InstanceError


def row(df, kind, record, period="2026", scenario="base"):
    r = df[(df["kind"] == kind) & (df["record"] == record) & (df["period"] == period) & (df["scenario"] == scenario)]
    assert len(r) == 1, df
    return r.iloc[0]


def inst_of(data):
    return optimizer.instance_from_dict(copy.deepcopy(data), "micro")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], check=False, capture_output=True, text=True, cwd=ROOT,
                          timeout=300, stdin=subprocess.DEVNULL)


# ----------------------------------------------------------------------------- marginal values
def _grid_case() -> dict:
    """Two one-year periods at 10 % discounting, two identical scenarios (p 0.25 / 0.75).

    Demand 100 PFLOPS in both periods (penalty $1e6 per PFLOPS-year); gpus cost $100 in
    2026 and $1000 in 2027, so all 10 are bought in 2026. Grid: 12 MW in 2026 (all 10
    run), 5 MW in 2027 (only 5 run; 50 PFLOPS unserved). Electricity $50/MWh.
    """
    return micro(periods=("2026", "2027"), rate=0.1,
                 sites=[site("s1", grid={"2026": 12, "2027": 5}, price=50)],
                 systems=[system("gpu", price={"2026": 100, "2027": 1000})],
                 regions=[region("r", 100, penalty=1e6)],
                 scenarios=[{"id": "a", "probability": 0.25}, {"id": "b", "probability": 0.75}])


def test_grid_value_is_the_unserved_penalty_saved_per_mw():
    """With the 10 units fixed, 1 MW more grid in 2027 runs one more idle unit: 10 PFLOPS
    more served saves 10 * 1e6 per year, less its energy 1 MW * 8760 h * $50 = 438,000.
    2027 is discounted by 1/1.1 (one-year period starting after one year): the expected
    value is (1e7 - 438,000) / 1.1 = 8,692,727.27, split 0.25 / 0.75 over the scenarios.
    2026 has 2 MW spare: worth 0.
    """
    plan = solve_checked(_grid_case(), keep_model=True)
    assert plan.objective == pytest.approx(1000 + 50 * 1e6 / 1.1 + 10 * 50 * HOURS + 5 * 50 * HOURS / 1.1, rel=1e-9)
    df = marginal_values(plan)
    v = (1e7 - 50 * HOURS) / 1.1
    assert row(df, "grid", "s1", "2027", "a")["value"] == pytest.approx(0.25 * v, rel=1e-9)
    assert row(df, "grid", "s1", "2027", "b")["value"] == pytest.approx(0.75 * v, rel=1e-9)
    assert row(df, "grid", "s1", "2027", "all")["value"] == pytest.approx(v, rel=1e-9)
    r26 = row(df, "grid", "s1", "2026", "all")
    assert r26["value"] == 0 and r26["slack"] == pytest.approx(2.0)
    assert row(df, "grid", "s1", "2027", "a")["unit"] == "USD/MW"
    assert row(df, "grid", "s1", "2027", "a")["constraint"] == "grid_limit[s1,'2027',a]"
    # the plan's model is left as it was: integers free again, values untouched
    m = plan.model
    assert all(not v.fixed and not v.is_continuous() for v in m.units_bought.values())
    assert df.attrs["lp_objective"] == pytest.approx(plan.objective, rel=1e-12)
    # ... and one more MW really saves that much (the units stay fixed, so the duals are exact)
    more = _grid_case()
    more["sites"][0]["grid_mw"]["2027"] = 6
    assert plan.objective - solve_checked(more).objective == pytest.approx(v, rel=1e-9)


def _two_systems(divisible: bool, **a_extra) -> dict:
    """Systems a ($100) and b ($130), both 10 PFLOPS per 1 MW unit; demand 100 PFLOPS."""
    return micro(systems=[system("a", price=100, divisible=divisible, **a_extra), system("b", price=130, divisible=True)],
                 regions=[region("r", 100, penalty=1e6)])


def test_export_cap_value_is_the_price_difference_to_the_next_system():
    """a is capped at 3 units for CN: 3 a + 7 b = 300 + 910 = 1210. One more unit under
    the cap replaces one b by one a: worth 130 - 100 = $30. With indivisible a the unit
    count is a fixed discrete decision: the cap row is not priced."""
    d = _two_systems(True)
    d["policies"] = {"export_rules": [{"id": "a-cap", "system": "a", "jurisdiction": "CN", "action": "cap", "cap_units": 3}]}
    plan = solve_checked(d, keep_model=True)
    assert plan.objective == pytest.approx(1210)
    r = row(marginal_values(plan), "export_cap", "a-cap")
    assert r["value"] == pytest.approx(30.0) and r["slack"] == 0 and r["unit"] == "USD/unit"

    d = _two_systems(False)
    d["policies"] = {"export_rules": [{"id": "a-cap", "system": "a", "jurisdiction": "CN", "action": "cap", "cap_units": 3}]}
    plan = solve_checked(d, keep_model=True)
    r = row(marginal_values(plan), "export_cap", "a-cap")
    assert math.isnan(r["value"]) and "not priced" in r["meaning"]


def test_supply_limit_value():
    """Only 4 units of a can be supplied: 4 a + 6 b = 1180; one more unit of supply saves $30."""
    plan = solve_checked(_two_systems(True, supply_units=4), keep_model=True)
    assert plan.objective == pytest.approx(1180)
    r = row(marginal_values(plan), "supply", "a")
    assert r["value"] == pytest.approx(30.0) and r["unit"] == "USD/unit"


def _share_case(target: float) -> dict:
    """Domestic 'dom' ($200) and foreign 'for' ($100), both divisible, 10 PFLOPS per unit;
    demand 100 PFLOPS; hard target: at least ``target`` of CN's installed compute domestic."""
    return micro(systems=[system("dom", origin="CN", price=200, divisible=True), system("for", price=100, divisible=True)],
                 regions=[region("r", 100, penalty=1e6)],
                 policies={"share_targets": [{"id": "cn", "jurisdiction": "CN", "min_domestic_share": target}]})


def test_share_target_cost_per_percentage_point():
    """30 %: 3 dom + 7 for = 1300. One point more moves 1 PFLOPS (0.1 unit) from for to
    dom: +$10 per point. The dual of the row (+$10 per PFLOPS of domestic surplus) times
    the installed 100 PFLOPS / 100 gives the same."""
    plan = solve_checked(_share_case(0.3), keep_model=True)
    assert plan.objective == pytest.approx(1300)
    r = row(marginal_values(plan), "share_target", "cn")
    assert r["value"] == pytest.approx(10.0) and r["unit"] == "USD/pp"
    assert solve_checked(_share_case(0.31)).objective - plan.objective == pytest.approx(r["value"])


def test_subsidy_captured():
    """50 % energy subsidy on domestic systems at $100/MWh: one domestic unit (1 MW) serves
    10 PFLOPS; captured 0.5 * 100 * 8760 = 438,000."""
    d = micro(sites=[site("s1", price=100)], systems=[system("dom", origin="CN")], regions=[region("r", 10)],
              policies={"energy_subsidies": [{"id": "half", "jurisdiction": "CN", "discount_share": 0.5,
                                              "applies_to": "domestic_systems"}]})
    plan = solve_checked(d, keep_model=True)
    r = row(marginal_values(plan), "subsidy", "half@s1")
    assert r["value"] == pytest.approx(0.5 * 100 * HOURS)


def _full_site(max_mw: float, demand: float, capex: float) -> dict:
    """Convertible site c (option retro: 1 MW blocks at ``capex`` $/MW, at most ``max_mw``);
    gpu $100, 1 MW, 10 PFLOPS, indivisible; demand ``demand`` PFLOPS at $1,000 per PFLOPS-year."""
    return micro(sites=[site("c", "convertible", options=[option("retro", capex=capex, max_mw=max_mw)])],
                 regions=[region("r", demand, penalty=1000)])


def test_marginal_one_more_block_at_a_full_site_is_priced_by_a_re_solve():
    """Max 1 MW (one block) at $1,000/MW, demand 20 PFLOPS. Plan: the block and one gpu,
    10 PFLOPS served and 10 unserved: 1,000 + 100 + 10 * 1,000 = 11,100 (nothing built:
    20 * 1,000 = 20,000). The site is full (1 gpu = 1 MW = the block) and the blocks and the
    gpu count are fixed in the LP, so nameplate_limit has no dual (NaN). One more block (the
    maximum raised to 2 MW) and a second gpu serve the other 10 PFLOPS: the penalty saved,
    10 * 1,000 = 10,000, minus the block's cost 1,000 and the gpu's 100 = 8,900.

    Max 10 MW, demand 15, $6,000/MW: still one block (10 * 1,000 = 10,000 > 6,000 + 100); a
    second block and gpu serve the other 5 PFLOPS: 5 * 1,000 - 6,000 - 100 = -1,100 (the
    MIP was right not to buy it).
    """
    plan = solve_checked(_full_site(1, 20, 1000), keep_model=True)
    assert plan.objective == pytest.approx(11_100)
    df = marginal_values(plan)
    r = df[(df["kind"] == "capacity") & (df["method"] == "re-solve, one more block")]
    assert len(r) == 1, df
    r = r.iloc[0]
    assert r["value"] == 8_900.0 and r["unit"] == "USD/block"
    assert (r["record"], r["period"], r["scenario"]) == ("c", "2026", "base")
    assert "max_it_mw raised" in r["meaning"] and r["slack"] == 0
    lp = row(df[df["method"] == "dual of the fixed LP"], "capacity", "c")
    assert lp["method"] == "dual of the fixed LP" and math.isnan(lp["value"]) and "re-solve" in lp["meaning"]
    assert df.attrs["block_resolves"] == 2
    assert (df.loc[df["kind"] != "capacity", "method"] == "dual of the fixed LP").all()

    plan = solve_checked(_full_site(10, 15, 6000), keep_model=True)
    assert plan.objective == pytest.approx(11_100) and plan.tables["builds"]["blocks"].tolist() == [1]
    r = marginal_values(plan).query("method == 're-solve, one more block'").iloc[0]
    assert r["value"] == -1_100.0 and "max_it_mw" not in r["meaning"]
    no_resolve = marginal_values(plan, blocks=False)
    assert set(no_resolve["method"]) == {"dual of the fixed LP"} and no_resolve.attrs["block_resolves"] == 0


def test_marginal_cli_prices_the_full_sites_of_us_power_crunch():
    """Every converted site is full and Seattle is partly unserved: at least one non-zero
    value is printed, with the method that gave it, in one number format."""
    r = cli("marginal", "instances/us-power-crunch.yaml")
    assert r.returncode == 0, r.stderr
    assert "no limit has a non-zero marginal value" not in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("capacity")]
    methods = {"dual of the fixed LP", "re-solve, one more block"}
    priced = [ln for ln in lines if any(m in ln for m in methods) and " USD " in ln and " 0 USD " not in ln]
    assert priced, r.stdout
    assert "e+0" not in r.stdout and "e-0" not in r.stdout


def test_marginal_values_need_the_model():
    plan = solve_checked(_share_case(0.3))
    with pytest.raises(MarginalValueError, match="keep_model=True"):
        marginal_values(plan)


# ----------------------------------------------------------------------------- sweeps
def _sweep_case() -> dict:
    """Demand 100 PFLOPS at an existing site; grid g MW runs g gpus; penalty P per PFLOPS.

    P = 1: serving costs $10 per PFLOPS (a $100 gpu serves 10) > 1: serve nothing, cost 100.
    P = 1e6: buy g gpus; cost 100 g + (100 - 10 g) * 1e6: g = 5 -> 50,000,500; g = 8 -> 20,000,800.
    """
    return micro(sites=[site("s1", grid=5)], regions=[region("r", 100, penalty=1e6)])


GRID = {"sites[s1].grid_mw": [5, 8], "regions[r].unserved_penalty_usd_per_pflops_year": [1, 1e6]}
EXPECTED = [100, 50_000_500, 100, 20_000_800]


def test_sweep_processes_and_dask_give_the_same_plans(tmp_path):
    from distributed import LocalCluster

    inst = inst_of(_sweep_case())
    res = sweep(inst, GRID, executor="process", workers=2, options=SolveOptions(threads=1, diagnose_time_limit=10),
                out=tmp_path / "sw")
    t = res.table
    assert list(t["run_id"]) == ["run-001", "run-002", "run-003", "run-004"]
    assert list(t["sites[s1].grid_mw"]) == [5, 5, 8, 8]
    assert list(t["objective_usd"]) == pytest.approx(EXPECTED, rel=1e-9)
    assert list(t["units_cuda"]) == pytest.approx([0, 5, 0, 8])
    assert list(t["unserved_pct"]) == pytest.approx([100, 50, 100, 20])
    assert list(t["cost_unserved_penalty_usd"]) == pytest.approx([100, 50e6, 100, 20e6])
    assert (t["status"] == "optimal").all() and (t["sites_built"] == 0).all()
    out = tmp_path / "sw"
    written = pd.read_csv(out / "comparison.csv")
    assert list(written["objective_usd"]) == pytest.approx(EXPECTED, rel=1e-9)
    assert json.loads((out / "runs" / "run-004" / "run.json").read_text())["overrides"] == {
        "sites[s1].grid_mw": 8, "regions[r].unserved_penalty_usd_per_pflops_year": 1e6}
    assert (out / "runs" / "run-004" / "fleet.csv").exists() and (out / "sweep.json").exists()
    with pytest.raises(OutputExistsError):
        sweep(inst, GRID, executor="serial", out=out)

    with LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        dres = sweep(inst, GRID, executor="dask", scheduler=cluster.scheduler_address,
                     options=SolveOptions(threads=1, diagnose_time_limit=10), out=out, overwrite=True)
    assert list(dres.table["objective_usd"]) == list(t["objective_usd"])
    assert list(pd.read_csv(out / "comparison.csv")["objective_usd"]) == pytest.approx(EXPECTED, rel=1e-9)


def test_sweep_scales_and_validates_before_solving():
    g = parse_grid(["sites[s1].grid_mw*=1,1.6", "policies.share_targets=[],[{id: t, jurisdiction: CN, min_domestic_share: 0}]"])
    assert g["sites[s1].grid_mw*"] == [1, 1.6]
    assert g["policies.share_targets"][0] == [] and g["policies.share_targets"][1][0]["id"] == "t"
    res = sweep(inst_of(_sweep_case()), {"sites[s1].grid_mw*": [1, 1.6]}, executor="serial")
    assert list(res.table["objective_usd"]) == pytest.approx([50_000_500, 20_000_800]), res.table.T.to_string()
    with pytest.raises(InstanceError, match="grid_mw"):
        sweep(inst_of(_sweep_case()), {"sites[s1].grid_mw": [5, -1]}, executor="serial")


def test_sweep_cli(tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps(_sweep_case()))
    out = tmp_path / "sw"
    r = cli("sweep", str(f), "--grid", "sites[s1].grid_mw=5,8", "--out", str(out), "--workers", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "run-002" in r.stdout and (out / "comparison.csv").exists()
    r = cli("sweep", str(f), "--grid", "sites[s1].grid_mw=5,8", "--out", str(out), "--workers", "1")
    assert r.returncode == 5 and "--overwrite" in r.stderr
    r = cli("sweep", str(f), "--grid", "sites[nowhere].grid_mw=5", "--out", str(tmp_path / "x"), "--overwrite")
    assert r.returncode == 2 and "no record 'nowhere'" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- counterfactuals
def _two_sites() -> dict:
    """30 PFLOPS (3 gpus, 3 MW) at one of two convertible sites: 'cheap' $10/MW, 'dear'
    $50/MW + $1000 fixed. Plan: 3 MW at cheap = 30 + 300 = 330."""
    return micro(sites=[site("cheap", "convertible", options=[option("retro", capex=10)]),
                        site("dear", "convertible", options=[option("new", capex=50, fixed=1000)])],
                 regions=[region("r", 30)])


def test_explain_why_not_and_why():
    """Forcing 'dear' costs its fixed capex plus the cheapest way to use it: 1 MW there
    (50) instead of at cheap (10): +1040. Forbidding 'cheap' moves all 3 MW: 1000 + 3*(50-10) = +1120.
    Forbidding both leaves 30 PFLOPS unserved at $1e9 each."""
    inst = inst_of(_two_sites())
    ex = explain(inst, force=["site=dear"])
    assert ex.base.objective == pytest.approx(330) and ex.difference == pytest.approx(1040)
    costs = ex.costs.set_index("category")["difference_usd"]
    assert costs["site_capex"] == pytest.approx(1040) and costs["system_capex"] == pytest.approx(0)
    b = ex.builds.set_index("site")
    assert b.loc["dear", "change"] == "added" and b.loc["dear", "variant_it_mw"] == 1
    assert b.loc["cheap", "change"] == "resized" and b.loc["cheap", "variant_it_mw"] == 2
    assert "+1.040 k USD" in ex.text()

    ex = explain(inst, forbid=["site=cheap"])
    assert ex.difference == pytest.approx(1120)
    ex = explain(inst, forbid=["site=cheap", "site=dear"])
    assert ex.difference == pytest.approx(30e9 - 330)
    lim = ex.limits.set_index("limit")
    assert lim.loc["demand unserved", "variant"] == pytest.approx(30)
    assert lim.loc["demand unserved", "change"] == "binds only with change"

    ex = explain(inst, force=["site=cheap"])
    assert ex.difference == pytest.approx(0) and "already has site cheap" in ex.text()


def test_explain_infeasible_counterfactual_and_cli(tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps(_two_sites()))
    ex = explain(inst_of(_two_sites()), force=["system=gpu"], forbid=["site=cheap", "site=dear"])
    assert ex.variant.status == "infeasible" and "no plan exists" in ex.text()
    out = tmp_path / "ex"
    r = cli("explain", str(f), "--why-not", "site=dear", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Why not site=dear?" in r.stdout and "+1.040 k USD" in r.stdout
    assert (out / "costs.csv").exists() and (out / "variant" / "builds.csv").exists()
    r = cli("explain", str(f), "--why-not", "sight=dear")
    assert r.returncode == 2 and "expected KIND=ID" in r.stderr


def test_marginal_cli(tmp_path):
    d = _two_systems(True)
    d["policies"] = {"export_rules": [{"id": "a-cap", "system": "a", "jurisdiction": "CN", "action": "cap", "cap_units": 3}]}
    f = tmp_path / "m.json"
    f.write_text(json.dumps(d))
    out = tmp_path / "mv"
    r = cli("marginal", str(f), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "export_cap" in r.stdout and "a-cap" in r.stdout
    mv = pd.read_csv(out / "marginal_values.csv")
    assert mv.loc[mv["kind"] == "export_cap", "value"].tolist() == pytest.approx([30.0])
    assert (out / "summary.json").exists()
