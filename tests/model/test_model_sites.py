"""Micro instances of the model family sites: site builds, build options, lead times and blocks (optimizer/model/sites.py).

Optima are derived by hand in each test's docstring. Common data unless a test says otherwise: one period of one year, no discounting, one
system 'gpu' (US origin, family cuda, 1 MW per unit, no idle draw, 10 PFLOPS training
and inference, $100 per unit, 10-year life), free electricity, an existing 100 MW site
in CN with PUE 1. 8,760 hours per year, so 1 MW for a year at $100/MWh costs $876,000.
Every plan is re-checked by the independent verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest
from conftest import micro, option, site, solve_checked
from model_cases import lead_time_case

pytestmark = pytest.mark.family("sites")


def test_conversion_beats_greenfield_when_lead_time_binds():
    """A job needs 10 PFLOPS (one gpu, 1 MW) in 2027 only.

    The mine converts in 12 months (decided 2026, online 2027) at $50/MW; the greenfield
    site is cheaper ($10/MW) but takes 24 months, so it is online only in 2028 — too late.
    Optimum: convert the mine, 1 MW: 50 + one gpu 100 = 150.
    With a 12-month greenfield lead time both are in time and greenfield wins: 10 + 100 = 110.
    """
    plan = solve_checked(lead_time_case(24))
    assert plan.objective == pytest.approx(150, abs=1e-6)
    b = plan.tables["builds"]
    assert list(b["site"]) == ["mine"] and list(b["online_period"]) == ["2027"] and list(b["it_mw"]) == [1.0]

    plan = solve_checked(lead_time_case(12))
    assert plan.objective == pytest.approx(110, abs=1e-6)
    assert list(plan.tables["builds"]["site"]) == ["green"]


def test_reserved_option_id_is_rejected():
    import optimizer

    d = micro(sites=[site("s1", options=[option("existing")])])
    with pytest.raises(optimizer.InstanceError, match="reserved"):
        optimizer.instance_from_dict(d)
