"""Micro instances of the model family generation: on-site generation as a bridge until the
firm grid arrives, its retirement, the permit cap, and batteries that firm a flexible
connection during curtailment events (optimizer/model/generation.py, with the energy and
the curtailment rows of optimizer/model/supply.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
is described in ``tests/model/model_cases.py``: 1 MW gpus of 10 PFLOPS at $100, PUE 1,
no idle draw, 8,760 h a year. Every plan is re-checked by the verifier.
"""

from __future__ import annotations

import pytest
from conftest import HOURS, micro, option, region, site, solve_checked
from model_cases import battery, cat, flexible, onsite, rows

pytestmark = pytest.mark.family("generation")

BRIDGE = dict(capex_usd_per_mw=1000, fom_usd_per_mw_year=100_000, fuel_usd_per_mmbtu=3, heat_rate_mmbtu_per_mwh=10,
              vom_usd_per_mwh=2)
"""Gas: $1000/MW, fixed O&M $100,000/MW-year, energy 3 x 10 + 2 = $32/MWh (280,320 per MW-year)."""


def _bridge(grid: float | dict, *, permit: float = 5.0, kind: str = "greenfield", **extra) -> dict:
    """Site 'green' (build $100/MW, tariff $40/MWh = 350,400 per MW-year) with gas (:data:`BRIDGE`,
    permit cap ``permit`` MW); 1 MW of must-serve load in 2026, 2027 and 2028."""
    return micro(periods=("2026", "2027", "2028"),
                 sites=[site("green", kind, grid=grid, price=40, options=[option(capex=100)],
                             power_sources=[onsite("gas", permit, **BRIDGE)], **extra)],
                 regions=[region("r", 10, must_serve=True)])


def _kept(plan) -> list[float]:
    return rows(plan, "power", source="gas").sort_values("period")["mw_available"].tolist()


def test_bridge_gas_until_the_grid_arrives_then_retired():
    """Firm grid 10 MW from 2027. 2026: the only power is gas: build 1 MW (1000), O&M 100,000,
    energy 32 x 8760 = 280,320. From 2027 the grid costs 350,400 a year; keeping the gas
    would cost 100,000 + 280,320 = 380,320 a year, so it is retired (kept 0).
    Objective: 100 + 100 (site, gpu) + 1000 + 100,000 + 280,320 + 2 x 350,400 = 1,082,320.
    """
    plan = solve_checked(_bridge(10, grid_available_from="2027"))
    assert plan.objective == pytest.approx(1_082_320, abs=1e-6)
    g = plan.tables["generator_builds"]
    assert list(zip(g["source"], g["decision_period"], g["online_period"], g["mw"])) == [("gas", "2026", "2026", 1.0)]
    assert _kept(plan) == pytest.approx([1.0, 0.0, 0.0])
    gas = rows(plan, "power", source="gas", period="2026").iloc[0]
    assert (gas["mw_used"], gas["energy_cost_usd"]) == pytest.approx((1.0, 32 * HOURS))
    assert cat(plan, "generator_energy") == pytest.approx(280_320, abs=1e-6)
    assert cat(plan, "generator_fom") == pytest.approx(100_000, abs=1e-6)
    assert cat(plan, "energy") == pytest.approx(700_800, abs=1e-6)
    ttp = plan.tables["time_to_power"].iloc[0]
    assert (ttp["first_period"], ttp["sources"], ttp["firm_grid_period"]) == ("2026", "gas", "2027")


def test_retired_generation_stays_retired():
    """Firm grid only in 2027 (10 MW; none in 2026 and 2028), so 2026 and 2028 need gas.

    Permit 5 MW: retiring in 2027 and building 1 MW again in 2028 costs 350,400 (grid 2027)
    + 1000 = 351,400 < keeping it through 2027, 100,000 + 280,320 = 380,320. Objective:
    200 + 1000 + 380,320 (2026) + 350,400 (2027) + 1000 + 380,320 (2028) = 1,113,240.
    Permit 1 MW: no second build; a retired MW never comes back, so the gas is kept all
    three years: 200 + 1000 + 3 x 380,320 = 1,142,160.
    """
    grid = {"2026": 0, "2027": 10, "2028": 0}
    plan = solve_checked(_bridge(grid, kind="convertible"))
    assert plan.objective == pytest.approx(1_113_240, abs=1e-6)
    g = plan.tables["generator_builds"]
    assert list(zip(g["decision_period"], g["mw"])) == [("2026", 1.0), ("2028", 1.0)]
    assert _kept(plan) == pytest.approx([1.0, 0.0, 1.0])

    plan = solve_checked(_bridge(grid, kind="convertible", permit=1))
    assert plan.objective == pytest.approx(1_142_160, abs=1e-6)
    assert plan.tables["generator_builds"]["mw"].tolist() == pytest.approx([1.0])
    assert _kept(plan) == pytest.approx([1.0, 1.0, 1.0])
    assert rows(plan, "power", source="gas")["mw_used"].tolist() == pytest.approx([1.0, 1.0, 1.0])  # 32 < 40 $/MWh


def test_availability_derates_generation():
    """No grid; gas at $1000/MW with availability 50 %, fuel 3 x 10 = $30/MWh. 1 MW of load
    needs 2 MW built: 2000 + 30 x 8760 = 262,800 + site 100 + gpu 100 -> 265,000."""
    d = micro(sites=[site("s1", "convertible", grid=0, options=[option(capex=100)],
                          power_sources=[onsite("gas", 5, capex_usd_per_mw=1000, fuel_usd_per_mmbtu=3,
                                                heat_rate_mmbtu_per_mwh=10, availability=0.5)])],
              regions=[region("r", 10, must_serve=True)])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(265_000, abs=1e-6)
    assert plan.tables["generator_builds"]["mw"].tolist() == pytest.approx([2.0])
    assert rows(plan, "power", source="gas")["mw_used"].tolist() == pytest.approx([1.0])
    assert cat(plan, "generator_energy") == pytest.approx(3 * 10 * HOURS, abs=1e-6)  # fuel x heat rate per MWh


def _firmed(duration_h: float) -> dict:
    """Site 'flexsite': no firm grid, a 10 MW flexible connection curtailed 20 % of the hours in
    4-hour events, build $100/MW; a battery of ``duration_h`` hours at $500/MW; 1 MW of
    must-serve inference (inference never pauses, so all of it must be firmed)."""
    return micro(sites=[site("flexsite", "convertible", grid=0, options=[option(capex=100)],
                             power_sources=[flexible(10, 0.2, event_hours=4), battery(duration_h)])],
                 regions=[region("r", 10, must_serve=True)])


@pytest.mark.parametrize(("duration_h", "battery_mw"), [(8, 1.0), (4, 1.0), (2, 2.0), (1, 4.0)])
def test_battery_firms_the_flexible_connection(duration_h: float, battery_mw: float):
    """A battery at least as long as the event (8 h, 4 h) counts fully: 1 MW firms 1 MW.
    Shorter, it counts duration / event: 2 h -> 0.5, so 2 MW; 1 h -> 0.25, so 4 MW.
    Objective: site 100 + gpu 100 + 500 x battery MW (700, 700, 1200, 2200). The battery
    delivers no energy: the load runs on the flexible connection.
    """
    plan = solve_checked(_firmed(duration_h))
    assert plan.objective == pytest.approx(200 + 500 * battery_mw, abs=1e-6)
    g = plan.tables["generator_builds"]
    assert list(zip(g["source"], g["kind"], g["mw"])) == [("bat", "battery", pytest.approx(battery_mw))]
    assert rows(plan, "power", source="bat")["mw_used"].tolist() == pytest.approx([0.0])
    assert rows(plan, "power", source="flex")["mw_used"].tolist() == pytest.approx([1.0])
