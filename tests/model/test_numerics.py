"""Numerical honesty: "optimal" means optimal within the stated gap in USD, bounds are valid,
and every incumbent's costs describe its decisions.

Micro case: two systems, ``g1`` at price p and ``g2`` at 1.05 p per unit (1 PFLOPS each,
free power), one region demanding 10 PFLOPS with an unserved penalty P. Serving costs
10 p, never serving costs 10 P >> 10 p, so the optimum buys 10 units of g1: objective
exactly 10 p (one-year horizon, no discounting, the units' lifetime is longer than the
horizon but no end value is credited). Before the objective scaling kept small costs
resolvable, p = 10 beside P = 1e12 was scaled by 1e-8 (prices 1e-7, at HiGHS's dual
tolerance) and the plan bought 20 units, objective 200, reported "optimal" with a bound
of 200 above the true optimum 100.
"""

from __future__ import annotations

import copy
import math

import pytest
from conftest import ROOT, micro, region, site, system

import optimizer
from optimizer.solver import RESOLVABLE_RANGE, objective_scale


def _case(p: float, penalty: float, divisible: bool = False) -> dict:
    return micro(sites=[site("a"), site("b")],
                 systems=[system("g2", price=1.05 * p, infer=1, divisible=divisible),
                          system("g1", price=p, infer=1, divisible=divisible)],
                 regions=[region("r", 10, penalty=penalty)])


@pytest.mark.parametrize("p", [1e-3, 1.0, 10.0, 1e3])
@pytest.mark.parametrize("penalty", [1e6, 1e12, 1e13])
@pytest.mark.parametrize("divisible", [False, True])
def test_wide_cost_ranges_give_the_true_optimum_and_a_valid_bound(p, penalty, divisible):
    inst = optimizer.instance_from_dict(copy.deepcopy(_case(p, penalty, divisible)), "micro")
    plan = optimizer.solve(inst, optimizer.SolveOptions(mip_gap=0, verify=True))
    assert plan.status == optimizer.Status.OPTIMAL, plan.messages
    assert math.isclose(plan.objective, 10 * p, rel_tol=1e-9), (plan.objective, 10 * p)
    assert plan.best_bound <= plan.objective * (1 + 1e-9) + 1e-12  # a bound never above the optimum
    fleet = plan.tables["fleet"]
    assert fleet.groupby("system")["units_in_service"].sum().to_dict() == {"g1": 10.0}


def test_ranges_beyond_what_highs_resolves_are_named():
    """1e-3 USD beside 1e13 USD: the plan is still right here, but the range exceeds
    RESOLVABLE_RANGE and the message names the variables with the extreme coefficients."""
    inst = optimizer.instance_from_dict(copy.deepcopy(_case(1e-3, 1e13)), "micro")
    plan = optimizer.solve(inst, optimizer.SolveOptions(mip_gap=0))
    text = " ".join(plan.messages)
    assert "objective coefficients span" in text and "unserved[r," in text and "units_bought[" in text
    assert 1e13 / 1e-3 > RESOLVABLE_RANGE


def test_scaling_keeps_the_smallest_cost_resolvable():
    assert objective_scale([5.0, 2e9]) == 1e-3  # the largest alone asks 1e-6, but 5e-6 < 1e-3: floor 1e-3/5 rounded up
    assert objective_scale([300.0, 2e9]) == 1e-5  # 300 * 1e-6 < 1e-3 -> floor 1e-5
    assert objective_scale([3000.0, 2e9]) == 1e-6  # the largest decides
    assert objective_scale([1e-3, 1e12]) == 1.0  # never scaled up
    assert objective_scale([0.0, 5.0]) == 1.0


def test_an_incumbent_taken_at_a_limit_is_complete_and_verified(hard_instance):
    """At a time limit HiGHS's incumbent could leave derived variables (subsidies received)
    below what its decisions earn; the integer decisions are fixed and the LP re-solved, so
    the verifier accepts the plan and its costs."""
    plan = optimizer.solve(hard_instance, optimizer.SolveOptions(time_limit=10, threads=1, verify=True))
    assert plan.status == optimizer.Status.FEASIBLE, plan.messages
    assert "verifier: plan re-checked, all constraints hold" in plan.messages
    assert plan.best_bound <= plan.objective


def test_a_plan_the_verifier_rejects_is_never_a_plan(monkeypatch, tmp_path):
    from optimizer.cli import main
    from optimizer.results import verify

    real = verify.verify_plan

    def tampered(inst, tables, objective=None, tol=1e-6):
        tables = {k: v.copy() for k, v in tables.items()}
        tables["fleet"]["units_in_service"] += 1  # what a wrong solver answer would look like
        return real(inst, tables, objective, tol)

    monkeypatch.setattr(verify, "verify_plan", tampered)
    quick = str(ROOT / "instances" / "quickstart.yaml")
    plan = optimizer.solve(quick, optimizer.SolveOptions(verify=True))
    assert plan.status == optimizer.Status.REJECTED and not plan.has_solution
    assert any("REJECTED" in m for m in plan.messages)
    assert main(["solve", quick, "--verify", "--quiet", "--out", str(tmp_path / "o")]) == 6
    assert (tmp_path / "o" / "summary.json").exists()  # kept for inspection
