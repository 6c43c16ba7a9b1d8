"""Property: with nothing to serve, no rule combination makes building or buying profitable.

Random micro instances (capex, fixed capex, capex subsidies as a share of capex up to
150 % or as an amount, subsidy periods, scenario overrides of the subsidies, lifetimes,
lead times, end value on or off, 1-3 periods of 1-5 years, discount rates, existing sites
with existing units or none, forced builds or purchases) with all demand and jobs removed.
The optimum can never be below the cost of what exists anyway (fixed O&M of existing
capacity, O&M and idle energy of existing units), and with nothing forced it equals that
cost: every build and purchase then only adds cost. Every plan is re-checked by the
independent verifier (``solve_checked``).
"""

from __future__ import annotations

import copy

import pytest
from conftest import HOURS, micro, option, site, solve_checked, system
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer

pytestmark = pytest.mark.family("sites")

PERIODS = ("2026", "2027", "2028")


def _annual_factors(years: list[float], rate: float) -> list[float]:
    """Discounted years of each period (``opex_factor``; docs/formulation.md §3.2)."""
    out, t = [], 0.0
    for y in years:
        phi = (1 + rate) ** -t
        out.append(phi * (1 - (1 + rate) ** -y) / (1 - 1 / (1 + rate)) if rate > 0 else y)
        t += y
    return out


@st.composite
def empty_instances(draw):
    """A random micro instance with no demand and no jobs, its forced decisions, and the
    discounted cost of what exists (computed by hand)."""
    n = draw(st.integers(1, 3))
    periods = PERIODS[:n]
    years = [float(draw(st.integers(1, 5))) for _ in periods]
    rate = draw(st.sampled_from([0.0, 0.03, 0.1, 0.25]))
    psi = _annual_factors(years, rate)
    price = draw(st.sampled_from([0.0, 40.0, 100.0]))
    gpu = system("gpu", price=draw(st.sampled_from([0.0, 100.0, 5e4])), life=float(draw(st.integers(1, 10))),
                 idle=draw(st.sampled_from([0.0, 0.2])), om_usd_per_unit_year=draw(st.sampled_from([0.0, 10.0])))
    sites, subsidies, force = [], [], []
    existing_cost = 0.0
    if draw(st.booleans()):  # an existing site with existing units (no build options: no cheaper hall for them)
        fom, units, pue = draw(st.sampled_from([0.0, 1000.0])), float(draw(st.integers(0, 3))), 1.2
        sites.append(site("old", price=price, it_mw=10, pue=pue,
                          existing_units=[{"system": "gpu", "units": units}] if units else []))
        sites[-1]["existing"]["fom_usd_per_mw_year"] = fom
        per_year = fom * 10 + units * (gpu["om_usd_per_unit_year"]
                                       + gpu["idle_power_share"] * gpu["it_kw_per_unit"] / 1000 * pue * HOURS * price)
        existing_cost = per_year * sum(psi)
    for i in range(draw(st.integers(1, 2))):
        capex = draw(st.sampled_from([0.0, 1e3, 1e6]))
        opts = [option("hall", capex=capex, fixed=draw(st.sampled_from([0.0, 5e5])),
                       lead=draw(st.sampled_from([0, 0, 12] if n > 1 else [0])), max_mw=draw(st.sampled_from([1, 100])),
                       lifetime_years=float(draw(st.integers(1, 30))),
                       fom_usd_per_mw_year=draw(st.sampled_from([0.0, 100.0])))]
        sites.append(site(f"new{i}", draw(st.sampled_from(["greenfield", "convertible"])), grid=1000,
                          price=price, options=opts))
        if draw(st.booleans()):
            amount = (capex * draw(st.sampled_from([0.2, 1.0, 1.5])) if draw(st.booleans())
                      else draw(st.sampled_from([2e5, 2e6])))
            when = draw(st.sampled_from([None, [periods[0]]]))
            subsidies.append({"id": f"c{i}", "jurisdiction": "CN", "usd_per_mw": amount,
                              **({"periods": when} if when else {})})
        if opts[0]["lead_time_months"] == 0 and draw(st.booleans()):
            force.append(("site", f"new{i}"))
    if draw(st.booleans()):
        force.append(("system", "gpu"))
    scenarios = []
    if subsidies and draw(st.booleans()):  # a second scenario doubles the subsidies
        more = [{**c, "usd_per_mw": 2 * c["usd_per_mw"]} for c in subsidies]
        scenarios = [{"id": "base", "probability": 0.5},
                     {"id": "more", "probability": 0.5, "policies": {"capex_subsidies": more}}]
    d = micro(periods=periods, years=years, rate=rate, sites=sites, systems=[gpu],
              policies={"capex_subsidies": subsidies}, scenarios=scenarios)
    d["horizon"]["end_value"] = draw(st.sampled_from(["none", "straight_line"]))
    return d, tuple(force), existing_cost


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(empty_instances())
def test_building_nothing_useful_never_pays(case):
    data, force, existing_cost = case
    plan = solve_checked(copy.deepcopy(data), decisions=optimizer.Decisions(force=force))
    tol = 1e-6 * max(1.0, abs(existing_cost))
    assert plan.objective >= existing_cost - tol, (plan.objective, existing_cost, plan.tables["costs"])
    if not force:
        assert plan.objective == pytest.approx(existing_cost, rel=1e-6, abs=1e-6)
