"""Micro instances of the model family objective: discounting, end-of-horizon value and
the risk-averse (CVaR) objective (optimizer/model/objective.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
is described in ``tests/model/model_cases.py``. Every plan is re-checked by the verifier.
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked
from model_cases import MWY, cat, two_scenario_build

pytestmark = pytest.mark.family("objective")


def test_discounting_of_capex_and_multi_year_periods():
    """Periods: 2026 (1 year), 2027 (2 years); rate 10 %; demand 10 PFLOPS in 2027 only; $100/MWh.

    The gpu is bought at the start of 2027 (t = 1): 100 / 1.1.
    Energy 876,000 per year in years t = 1, 2: 876,000 * (1/1.1 + 1/1.21).
    """
    d = micro(periods=("2026", "2027"), years=[1, 2], rate=0.1, sites=[site("s1", price=100)],
              regions=[region("r", {"2026": 0, "2027": 10})])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(100 / 1.1 + MWY * (1 / 1.1 + 1 / 1.21), rel=1e-9)


def test_cvar_weight_one_plans_for_the_worst_tail():
    """Same data as the low-demand scenario test. CVaR at alpha 0.5 is the cost of the
    worst half of the probability mass, here the 'high' scenario alone.

    Build B MW: high costs 1000 B + 150 * max(0, 50 - 10 B); minimised at B = 5 (5000;
    B = 4 gives 5500, B = 1 gives 7000). Objective 5000; the plan's expected cost is 5000 too
    (both scenarios pay the build only).
    """
    from optimizer import Risk

    plan = solve_checked(two_scenario_build(), risk=Risk(0.5, 1.0))
    assert plan.objective == pytest.approx(5000, abs=1e-6)
    assert plan.expected_cost == pytest.approx(5000, abs=1e-6)
    assert plan.tables["builds"]["it_mw"].tolist() == [5.0]


def test_cvar_weight_zero_is_the_expected_cost_plan():
    """Weight 0: the risk-neutral plan (1 MW, expected cost 4000)."""
    from optimizer import Risk

    plan = solve_checked(two_scenario_build(), risk=Risk(0.5, 0.0))
    assert plan.objective == pytest.approx(4000, abs=1e-6)


def test_end_value_credits_remaining_life():
    """Straight-line end value. Three 1-year periods, rate 10 %, gpu life 10 years, $100;
    10 PFLOPS needed in 2028 only; a convertible site at $1000/MW, 20-year life, built in 2028.

    Both are bought at the start of 2028 (t = 2): 1100 / 1.21. At the horizon's end (t = 3)
    the gpu has 9 of 10 years left (90) and the site 19 of 20 (950): credit 1040 / 1.331.
    """
    d = micro(periods=("2026", "2027", "2028"), rate=0.1,
              sites=[site("mine", "convertible", options=[option(capex=1000)])],
              regions=[region("r", {"2026": 0, "2027": 0, "2028": 10})])
    d["horizon"]["end_value"] = "straight_line"
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(1100 / 1.21 - 1040 / 1.331, rel=1e-9)
    assert cat(plan, "end_value") == pytest.approx(-1040 / 1.331, rel=1e-9)
