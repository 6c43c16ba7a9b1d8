"""First-stage decisions beyond the site builds in progressive hedging and the value of information.

Later build phases are shared between the scenario models like the opening phase; on-site
generation, batteries and optional PPAs (continuous first-stage decisions that fixing a plan's
builds does not fix) are refused with an error naming each source, exit 2 on the command line.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from conftest import ROOT, micro, option, region, site, solve_checked

import optimizer
from optimizer import SolveOptions
from optimizer.analysis.hedging import progressive_hedging
from optimizer.analysis.uncertainty import first_stage_problems, value_of_information
from optimizer.instance.errors import InstanceError

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


@pytest.mark.parametrize(("source", "words"), [(GAS, "onsite MW a plan builds and keeps"),
                                               (OFFER, "optional PPA")])
def test_hedging_refuses_unfixable_first_stage_and_value_of_information_fixes_it(source, words):
    inst = optimizer.instance_from_dict(_with(source), "micro")
    with pytest.raises(InstanceError, match=r"sites\[c\]\.power_sources\[" + source["id"] + r"\]") as exc:
        progressive_hedging(inst)
    assert "progressive hedging cannot yet fix" in str(exc.value) and words in str(exc.value)
    rep = value_of_information(inst)  # evaluations fix generators and PPA offers too (Decisions.from_plan)
    assert rep.plans and all(e.outcomes["status"].eq("optimal").all() for e in rep.plans.values())


def test_what_is_accepted():
    inst = optimizer.instance_from_dict(_with({**OFFER, "signed": True}), "micro")
    assert first_stage_problems(inst, "x") == []
    gas_late = {**GAS, "lead_time_months": 60}  # usable only after the horizon: nothing to decide
    assert first_stage_problems(optimizer.instance_from_dict(_with(gas_late), "micro"), "x") == []
    one = _with(GAS)
    one["scenarios"] = []  # one scenario: nothing to share, re-planning it is the plan
    assert first_stage_problems(optimizer.instance_from_dict(one, "micro"), "x") == []


def test_cli_hedge_exits_2_naming_the_source(tmp_path):
    f = tmp_path / "gas.json"
    f.write_text(json.dumps(_with(GAS)))
    for command in ("hedge",):
        r = subprocess.run([sys.executable, "-m", "optimizer", command, str(f)], check=False, capture_output=True,
                           text=True, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        assert "sites[c].power_sources[gas]" in r.stderr and "dcplan solve" in r.stderr
