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


# ----------------------------------------------------------------------------- power sources
def rows(plan, table: str, **eq):
    """The rows of a result table whose columns equal the given values."""
    t = plan.tables[table]
    for k, v in eq.items():
        t = t[t[k] == v]
    return t


def flexible(mw: float = 10.0, share: float = 0.2, **extra) -> dict:
    """A flexible (curtailable) grid connection: ``mw`` beyond the firm grid, curtailed ``share`` of the hours."""
    return {"id": "flex", "kind": "grid_flexible", "mw": mw, "curtailment_share": share, **extra}


def onsite(sid: str = "gas", mw: float = 5.0, **extra) -> dict:
    """On-site generation with a permit cap of ``mw`` (costs and fuel given by the test)."""
    return {"id": sid, "kind": "onsite", "mw": mw, **extra}


def battery(duration_h: float, *, mw: float = 5.0, capex: float = 500.0, **extra) -> dict:
    """A battery of ``duration_h`` hours at full power, ``capex`` $/MW."""
    return {"id": "bat", "kind": "battery", "mw": mw, "duration_hours": duration_h, "capex_usd_per_mw": capex, **extra}


def ppa(price: float, *, mw: float = 2.0, **extra) -> dict:
    """A PPA of ``mw`` at ``price`` $/MWh (signed unless the test says ``signed=False``)."""
    return {"id": "ppa", "kind": "ppa", "mw": mw, "price_usd_per_mwh": price, **extra}


def ramp_case(demand: dict, *, max_phases: int = 1, fom: float = 500.0, capex: float = 1000.0, rate: float = 0.0,
              **option_extra) -> dict:
    """A greenfield site (grid 100 MW) whose option 'hall' costs ``capex`` $/MW and ``fom`` $/MW-year, 1 MW
    blocks up to 10 MW, no lead time; free gpus (10 PFLOPS, 1 MW each); must-serve inference ``demand``
    in PFLOPS per period (three 1-year periods)."""
    return micro(periods=("2026", "2027", "2028"), rate=rate,
                 sites=[site("green", "greenfield", options=[option("hall", capex=capex, fom_usd_per_mw_year=fom,
                                                                    max_phases=max_phases, **option_extra)])],
                 systems=[system("gpu", price=0)], regions=[region("r", demand, must_serve=True)])
