"""Micro cases shared by the model-family tests.

Common data unless a test says otherwise (the defaults of the helpers in tests/conftest.py):
one period of one year, no discounting, one system 'gpu' (US origin, family cuda, 1 MW per
unit, no idle draw, 10 PFLOPS training and inference, $100 per unit, 10-year life), free
electricity, an existing 100 MW site in CN with PUE 1. 8,760 hours per year, so 1 MW for a
year at $100/MWh costs $876,000 (:data:`MWY`).
"""

from __future__ import annotations

from conftest import HOURS, micro, option, region, site, system

MWY = 100 * HOURS  # $ for 1 MW over one year at $100/MWh



def cat(plan, category: str) -> float:
    c = plan.tables["costs"]
    return float(c.loc[c["category"] == category, "discounted_usd"].sum())



def lead_time_case(green_lead: float) -> dict:
    return micro(
        periods=("2026", "2027", "2028"),
        sites=[
            site("mine", "convertible", options=[option("retrofit", capex=50, lead=12)]),
            site("green", "greenfield", grid_available_from="2026", options=[option("new", capex=10, lead=green_lead)]),
        ],
        jobs=[{"id": "run", "compute_pflops": {"2027": 10}, "must_place": True}],
    )



def two_scenario_build(**kw):
    return micro(sites=[site("mine", "convertible", options=[option(capex=1000)])],
                 systems=[system("gpu", price=0)], regions=[region("r", 50, penalty=150)],
                 scenarios=[{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}], **kw)



def two_vendor(policies: dict, demand: float = 30, **kw) -> dict:
    return micro(systems=[system("gpu"), system("npu", origin="CN", family="cann", price=300)],
                 regions=[region("r", demand)], policies=policies, **kw)
