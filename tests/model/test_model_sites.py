"""Micro instances of the model family sites: site builds, build options, lead times and
blocks (optimizer/model/sites.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
is described in ``tests/model/model_cases.py``. Every plan is re-checked by the verifier.
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import cat, lead_time_case

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


def _empty_hall(subsidy: float, *, fixed: float = 0.0) -> dict:
    """A greenfield site (up to 100 MW, capex $1M/MW, 20-year life), one 1-year period, no
    discounting, straight-line end value, a CN capex subsidy per MW; no demand, no jobs."""
    d = micro(sites=[site("s1", "greenfield", grid=1000,
                          options=[option(capex=1e6, fixed=fixed, max_mw=100, lifetime_years=20)])],
              policies={"capex_subsidies": [{"id": "c", "jurisdiction": "CN", "usd_per_mw": subsidy}]})
    d["horizon"]["end_value"] = "straight_line"
    return d


def test_subsidised_empty_hall_is_not_free_money():
    """Nothing to serve, so nothing should be built.

    Per MW built in 2026: capex 1,000,000, subsidy -200,000, end value (19 of 20 years left
    at the end of the 1-year horizon) credited on what was paid, net of the subsidy:
    -0.95 * 800,000 = -760,000. Net cost +40,000 per MW > 0, so the optimum builds nothing:
    objective 0. (Crediting capex before subsidy, -950,000, made each MW earn 150,000 and
    the plan build all 100 MW at -15,000,000.)
    """
    plan = solve_checked(_empty_hall(2e5))
    assert plan.objective == pytest.approx(0, abs=1e-6)
    assert plan.tables["builds"].empty


def test_end_value_credits_capex_net_of_subsidy():
    """Same site, but 1 PFLOPS must be served (one 0.1 MW gpu at $0, 20-year life): one 1 MW
    block is built. Cost: capex 1,000,000 - subsidy 200,000 - end value 0.95 * 800,000
    = 40,000; the gpu is free. end_value row: -760,000."""
    d = _empty_hall(2e5)
    d["systems"] = [system("gpu", kw=100, infer=10, train=0, price=0, life=20)]
    d["regions"] = [region("r", 1, must_serve=True)]
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(40_000, rel=1e-9)
    assert cat(plan, "end_value") == pytest.approx(-760_000, rel=1e-9)
    assert cat(plan, "site_capex_subsidy") == pytest.approx(-200_000, rel=1e-9)


def test_capex_subsidy_pays_at_most_the_capex_per_mw():
    """A $1.5M/MW subsidy on $1M/MW capex (fixed capex $10M): the subsidy pays at most the
    $1M/MW, so a build costs at least its fixed capex less its end value,
    10,000,000 * (1 - 0.95) = 500,000 > 0. Nothing to serve: the optimum builds nothing,
    objective 0 (uncapped, 100 MW would earn 50,000,000 - 500,000)."""
    plan = solve_checked(_empty_hall(1.5e6, fixed=1e7))
    assert plan.objective == pytest.approx(0, abs=1e-6)
    assert plan.tables["builds"].empty
