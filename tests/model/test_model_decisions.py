"""Micro instances of the model family decisions: forced and forbidden choices and fixed site builds
(optimizer/model/decisions.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
(one period of one year, one system 'gpu', an existing 100 MW site) is described in
``tests/model/model_cases.py``. Every plan is re-checked by the verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import lead_time_case, two_scenario_build

from optimizer.instance.decisions import Decisions

pytestmark = pytest.mark.family("decisions")


def test_forbid_and_force_choices():
    """The lead-time case with a 12-month greenfield (optimum: greenfield, 110).

    Forbidding the greenfield site gives the conversion (150); forcing both sites to be
    built adds the cheapest useless greenfield: 1 MW block at $10 -> 150 + 10 = 160.
    """
    from optimizer.instance.decisions import Decisions

    d = lead_time_case(12)
    plan = solve_checked(d, decisions=Decisions.parse(forbid=["site=green"]))
    assert plan.objective == pytest.approx(150, abs=1e-6)
    plan = solve_checked(d, decisions=Decisions.parse(force=["site=mine", "option=green:new"]))
    assert plan.objective == pytest.approx(160, abs=1e-6)
    plan = solve_checked(d, decisions=Decisions.parse(forbid=["system=gpu"]), expect_status="infeasible")


def test_fixed_builds_evaluate_a_plan_in_every_scenario():
    """Fix the forecast plan's build (5 MW, from the 'high'-only solve) and re-plan the
    rest on both scenarios: cost 5000 in each, expected 5000 (vs 4000 for the stochastic
    plan: the value of the stochastic solution is 1000)."""
    from optimizer.instance.decisions import Decisions

    plan = solve_checked(two_scenario_build(), decisions=Decisions.parse())
    det = solve_checked(micro(sites=[site("mine", "convertible", options=[option(capex=1000)])],
                              systems=[system("gpu", price=0)], regions=[region("r", 50, penalty=150)]))
    fixed = solve_checked(two_scenario_build(), decisions=Decisions.from_builds(det.tables["builds"]))
    assert plan.objective == pytest.approx(4000, abs=1e-6)
    assert fixed.objective == pytest.approx(5000, abs=1e-6)


def _bridge_case(curtailment_share: float) -> dict:
    """One 2026 period; site 'mine' has no firm grid, a 10 MW flexible connection curtailed
    ``curtailment_share`` of the hours, and a gas permit of 5 MW at $1,000/MW (no fuel cost);
    one job needs 10 PFLOPS (divisible 1 MW gpus at $100, 10 PFLOPS each); electricity free."""
    return micro(sites=[site("mine", "convertible", grid=0, options=[option(max_mw=30)], power_sources=[
        {"id": "flex", "kind": "grid_flexible", "mw": 10, "curtailment_share": curtailment_share},
        {"id": "gas", "kind": "onsite", "mw": 5, "capex_usd_per_mw": 1000}])],
        systems=[system("gpu", divisible=True)], jobs=[{"id": "run", "compute_pflops": {"2026": 10}, "must_place": True}])


def test_fixed_first_stage_includes_generators():
    """Curtailed 95 % of the hours, pausing would need y * 0.05 >= 10, i.e. 20 units ($2,000);
    firming the 1 MW load with 1 MW of gas costs $1,000 + one unit $100 = 1,100: optimal.
    Without curtailment (share 0) the flexible MW are as good as firm: one unit, $100. The
    first plan's first stage fixed (Decisions.from_plan: builds, gas built and kept) in the
    curtailment-free instance keeps the gas: 1,100 again, not 100."""
    plan = solve_checked(_bridge_case(0.95))
    assert plan.objective == pytest.approx(1100, abs=1e-6)
    assert plan.tables["generator_builds"]["mw"].tolist() == pytest.approx([1.0])
    assert solve_checked(_bridge_case(0.0)).objective == pytest.approx(100, abs=1e-6)
    fixed = solve_checked(_bridge_case(0.0), decisions=Decisions.from_plan(plan.tables))
    assert fixed.objective == pytest.approx(1100, abs=1e-6)
    assert fixed.tables["generator_builds"]["mw"].tolist() == pytest.approx([1.0])
