"""First-stage decisions beyond the site builds in progressive hedging and the value of information.

Later build phases are shared between the scenario models like the opening phase, and so are
on-site generation, batteries and optional PPAs (continuous first-stage decisions that fixing a
plan's builds does not fix).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, micro, option, region, site, solve_checked, system

import optimizer
from optimizer import SolveOptions
from optimizer.analysis.hedging import progressive_hedging
from optimizer.analysis.uncertainty import value_of_information

TWO = [{"id": "low", "probability": 0.5}, {"id": "high", "probability": 0.5,
                                          "region_demand_pflops": {"r": {"2026": 10, "2027": 30}}}]


def _phased() -> dict:
    """Option retro in 1 MW blocks (at most 3 MW, 2 phases, $1,000/MW), indivisible gpus ($100,
    10 PFLOPS), 10 % discounting. Demand 10 PFLOPS in 2026; in 2027 10 (low) or 30 (high), p = ½.

    Builds are first stage: the stochastic plan opens 1 block in 2026 and adds a phase of 2
    blocks in 2027 (a block kept for the high scenario saves ½ × 10 × 5,000 / 1.1 and costs
    1,000 / 1.1): 1,000 + 100 + (2,000 + ½ × 200) / 1.1 = 3,009.09.
    """
    return micro(periods=("2026", "2027"), rate=0.1,
                 sites=[site("c", "convertible", options=[option("retro", capex=1000, max_mw=3, max_phases=2)])],
                 regions=[region("r", {"2026": 10, "2027": 10}, penalty=5000)], scenarios=TWO)


def test_progressive_hedging_agrees_on_later_phases():
    rp = solve_checked(_phased())
    assert rp.objective == pytest.approx(1100 + 2100 / 1.1, rel=1e-9)
    assert rp.tables["builds"][["phase", "decision_period", "blocks"]].values.tolist() == [[1, "2026", 1], [2, "2027", 2]]
    res = progressive_hedging(optimizer.instance_from_dict(_phased(), "micro"), SolveOptions(mip_gap=1e-6))
    assert res.converged and res.upper_bound == pytest.approx(rp.objective, rel=1e-6)
    b = res.builds
    assert b[["phase", "decision_period", "blocks"]].values.tolist() == [[1, "2026", 1], [2, "2027", 2]]
    assert set(res.prices["phase"]) == {1, 2}
    assert res.best is not None and res.best.feasible  # re-checked with every phase fixed
    assert "builds: 1 site(s), 3 MW" in res.text() and "phase 2" in res.text()


def _with(source: dict) -> dict:
    d = copy.deepcopy(_phased())
    d["sites"][0]["power_sources"] = [source]
    return d


GAS = {"id": "gas", "kind": "onsite", "mw": 5, "capex_usd_per_mw": 1000, "fuel_usd_per_mmbtu": 3, "heat_rate_mmbtu_per_mwh": 9}
OFFER = {"id": "wind", "kind": "ppa", "mw": 5, "price_usd_per_mwh": 40, "signed": False}


def _gas_case() -> dict:
    """An existing site with 2 MW of grid and a permit for 10 MW of on-site gas ($1,000 per MW
    built, no fuel or O&M cost), free 1-MW gpus of 10 PFLOPS, one period; demand 50 PFLOPS
    ('high') or 10 ('low', x0.2), p = 1/2 each, unserved $300 per PFLOPS-year.

    Gas is first stage. 'high' needs 5 MW: each gas MW up to 3 saves 10 PFLOPS x $300 = $3,000
    there, expected $1,500 > $1,000, so the stochastic plan builds 3 MW: 3,000 in both
    scenarios, expected **3,000**. Alone, 'high' builds 3 MW (3,000) and 'low' none (0): the
    wait-and-see bound is 1,500, and their mean, 1.5 MW, costs 1,500 + 1/2 x 15 x 300 = 3,750.
    """
    gas = {"id": "gas", "kind": "onsite", "mw": 10, "capex_usd_per_mw": 1000}
    return micro(sites=[site("s1", grid=2, power_sources=[gas])], systems=[system("gpu", price=0)],
                 regions=[region("r", 50, penalty=300)], scenarios=DEMAND)


def _ppa_case() -> dict:
    """The same site with 10 MW of grid at $200/MWh and a PPA offer of up to 10 MW at $120/MWh,
    take-or-pay 100 %; demand must be served ($1e6 per PFLOPS-year): 5 MW in 'high', 1 in 'low'.

    The contract is first stage. Its first MW is used in both scenarios and saves $80/MWh; each
    further MW is used only in 'high' and saves 1/2 x $200 < $120 per MWh: contract **1 MW**,
    expected 8,760 x (1/2 (120 + 4 x 200) + 1/2 x 120) = **4,555,200**. Alone 'high' contracts
    5 MW (8,760 x 600) and 'low' 1 (8,760 x 120): wait-and-see 3,153,600; their mean, 3 MW,
    costs 8,760 x (1/2 (360 + 400) + 1/2 x 360) = 4,905,600.
    """
    ppa = {"id": "wind", "kind": "ppa", "mw": 10, "price_usd_per_mwh": 120, "take_or_pay_share": 1, "signed": False}
    return micro(sites=[site("s1", grid=10, price=200, power_sources=[ppa])], systems=[system("gpu", price=0)],
                 regions=[region("r", 50, penalty=1e6)], scenarios=DEMAND)


DEMAND = [{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}]


@pytest.mark.parametrize(("case", "optimum", "ws", "mean_cost", "decision", "mw", "rel"), [
    (_gas_case, 3000.0, 1500.0, 3750.0, "built", 3.0, 1e-3),
    (_ppa_case, 4_555_200.0, 3_153_600.0, 4_905_600.0, "contracted", 1.0, 5e-3)])
def test_hedging_shares_continuous_first_stage_decisions(case, optimum, ws, mean_cost, decision, mw, rel):
    """On-site generation and PPA offers are shared between the scenario models like the builds:
    iteration 0 gives the wait-and-see bound and the mean's cost derived above; the prices then
    drive the scenarios towards the stochastic plan. The MW converge only in the limit
    (continuous PH), so after 50 iterations the plan is within ``rel`` of the optimum (3,000 for
    gas, 4,555,200 for the PPA; the extensive form confirms both), the bounds enclose the optimum,
    and the plan re-planned per scenario with its MW fixed is re-checked by the verifier."""
    rp = solve_checked(case())
    assert rp.objective == pytest.approx(optimum, rel=1e-9)
    res = progressive_hedging(optimizer.instance_from_dict(case(), "micro"), SolveOptions(mip_gap=1e-4))
    first = res.iterations.iloc[0]
    assert first["lower_bound_usd"] == pytest.approx(ws, rel=1e-9)
    assert first["candidate_cost_usd"] == pytest.approx(mean_cost, rel=1e-9)
    assert res.lower_bound <= optimum * (1 + 1e-9) <= res.upper_bound * (1 + 1e-9) + 1e-9
    assert res.upper_bound == pytest.approx(optimum, rel=rel)
    p = res.power.set_index("decision")
    assert p.loc[decision, "mw"] == pytest.approx(mw, abs=0.1)  # MW within 0.1 of the optimum
    assert res.best is not None and res.best.feasible
    assert not any("verifier" in m for m in res.messages), res.messages
    # the re-check fixed the MW: each scenario's cost is the in-loop evaluation's
    assert float((res.best.outcomes["cost_usd"] * res.best.outcomes["probability"]).sum()) == pytest.approx(
        res.upper_bound, rel=1e-9)


def test_value_of_information_fixes_generators_and_ppa_offers():
    for source in (GAS, OFFER):
        rep = value_of_information(optimizer.instance_from_dict(_with(source), "micro"))
        assert rep.plans and all(e.outcomes["status"].eq("optimal").all() for e in rep.plans.values())


def test_cli_hedge_writes_the_power_decisions(tmp_path):
    f = tmp_path / "gas.json"
    f.write_text(json.dumps(_gas_case()))
    out = tmp_path / "ph"
    r = subprocess.run([sys.executable, "-m", "optimizer", "hedge", str(f), "--mip-gap", "1e-3", "--out", str(out)],
                       check=False, capture_output=True, text=True, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "on-site generation, batteries and PPA offers" in r.stdout
    power = pd.read_csv(out / "power.csv")
    assert set(power["decision"]) == {"built", "kept"} and (power["source"] == "gas").all()
