"""Micro instances of the model family supply: energy by source (tariff, PPA, on-site
generation), flexible grid connections and the curtailment budget, emissions and the
energy subsidy on tariff energy (optimizer/model/supply.py, optimizer/model/policy.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
is described in ``tests/model/model_cases.py``: 1 MW gpus of 10 PFLOPS at $100, PUE 1,
no idle draw, 8,760 h a year, so 1 MW for a year at $X/MWh costs 8,760 X. Every plan is
re-checked by the verifier.
"""

from __future__ import annotations

import pytest
from conftest import HOURS, micro, option, region, site, solve_checked, system
from model_cases import cat, flexible, onsite, ppa, rows

pytestmark = pytest.mark.family("supply")


# ----------------------------------------------------------------------------- flexible connection
def _flexible_or_wait(budget: float | None, *, other: bool = True) -> dict:
    """Site 'green': greenfield, firm grid 10 MW only from 2027, a flexible connection of 10 MW
    curtailed 20 % of the hours, build $100/MW. Site 'other' (if ``other``): convertible, firm
    grid 10 MW now, build $1000/MW. A training job of 8 PFLOPS in 2026 and 2027 (unplaced: $10,000)."""
    sites = [site("green", "greenfield", grid=10, grid_available_from="2027", options=[option(capex=100)],
                  power_sources=[flexible(10, 0.2)], max_curtailment_share=budget)]
    if other:
        sites.append(site("other", "convertible", grid=10, options=[option(capex=1000)]))
    return micro(periods=("2026", "2027"), sites=sites,
                 jobs=[{"id": "run", "compute_pflops": {"2026": 8, "2027": 8}, "unplaced_cost_usd": 10_000}])


def test_flexible_connection_beats_waiting_within_the_curtailment_budget():
    """Budget 20 % = the connection's curtailment share: the flexible MW are usable.

    2026 at 'green' (no firm grid): the one gpu must pause during events (firm power 0), so it
    delivers 10 - 0.2 x 10 = 8 PFLOPS: enough. 2027: firm grid, no pause needed.
    Cost: 1 MW at 'green' 100 + 1 gpu 100 = 200 ('other' would cost 1000 + 100 = 1100).
    Time to power: first load 2026 on 'flex', firm grid 2027: 1 year gained.
    """
    plan = solve_checked(_flexible_or_wait(0.2))
    assert plan.objective == pytest.approx(200, abs=1e-6)
    assert plan.tables["builds"]["site"].tolist() == ["green"]
    cu = rows(plan, "compute_use", site="green").set_index("period")
    assert cu.loc["2026", "paused_units"] == pytest.approx(1.0)
    assert cu.loc["2026", "units_in_service"] == pytest.approx(1.0)
    flex = rows(plan, "power", site="green", source="flex").set_index("period")
    assert flex.loc["2026", "mw_used"] == pytest.approx(1.0)
    assert flex.loc["2026", "curtailment_hours"] == pytest.approx(0.2 * HOURS)
    ttp = rows(plan, "time_to_power", site="green").iloc[0]
    assert (ttp["first_period"], ttp["sources"], ttp["firm_grid_period"]) == ("2026", "flex", "2027")
    assert ttp["years_before_firm_grid"] == pytest.approx(1.0)


def test_flexible_connection_beyond_the_curtailment_budget_is_unusable():
    """Budget 10 % < the connection's 20 %: 'green' has no power in 2026, so the job (which runs
    in 2026 and 2027 at one site) goes to 'other': 1000 + 100 = 1100.
    Without 'other' it cannot run anywhere and is left unplaced: 10,000.
    """
    plan = solve_checked(_flexible_or_wait(0.1))
    assert plan.objective == pytest.approx(1100, abs=1e-6)
    assert plan.tables["builds"]["site"].tolist() == ["other"]
    assert rows(plan, "power", source="flex").empty

    plan = solve_checked(_flexible_or_wait(0.1, other=False))
    assert plan.objective == pytest.approx(10_000, abs=1e-6)
    assert plan.tables["builds"].empty
    assert plan.tables["training"]["placed"].tolist() == [False]


# ----------------------------------------------------------------------------- PPAs
def _ppa_case(source: dict, demand: float | dict = 10, periods=("2026",)) -> dict:
    """The existing site s1 (tariff $50/MWh) with one PPA; must-serve demand in PFLOPS."""
    return micro(periods=periods, sites=[site("s1", price=50, power_sources=[source])],
                 regions=[region("r", demand, must_serve=True)])


def test_optional_ppa_is_signed_below_the_tariff_and_not_above():
    """1 MW of load; an optional PPA (up to 2 MW) with no take-or-pay.

    At $40/MWh < $50: the 1 MW comes from the PPA: 40 x 8760 = 350,400 + gpu 100 = 350,500.
    At $60/MWh > $50: the tariff: 50 x 8760 = 438,000 + 100 = 438,100, no PPA energy.
    """
    plan = solve_checked(_ppa_case(ppa(40, signed=False)))
    assert plan.objective == pytest.approx(350_500, abs=1e-6)
    assert cat(plan, "ppa_energy") == pytest.approx(350_400, abs=1e-6)
    assert cat(plan, "energy") == pytest.approx(0, abs=1e-6)
    assert rows(plan, "power", source="ppa")["mw_used"].tolist() == pytest.approx([1.0])

    plan = solve_checked(_ppa_case(ppa(60, signed=False)))
    assert plan.objective == pytest.approx(438_100, abs=1e-6)
    assert cat(plan, "ppa_energy") == pytest.approx(0, abs=1e-6)
    assert rows(plan, "power", source="ppa")["mw_used"].tolist() == pytest.approx([0.0])


def test_take_or_pay_makes_a_too_large_contract_costly():
    """A signed 2 MW PPA at $40/MWh with take-or-pay 75 %: 1.5 MW are paid for whatever is
    taken, and the 1 MW of load is taken from it (the tariff would add $50/MWh).
    Cost: 1.5 x 40 x 8760 = 525,600 + gpu 100 = 525,700, more than the tariff alone (438,100).
    """
    plan = solve_checked(_ppa_case(ppa(40, take_or_pay_share=0.75)))
    assert plan.objective == pytest.approx(525_700, abs=1e-6)
    p = rows(plan, "power", source="ppa").iloc[0]
    assert (p["mw_available"], p["mw_used"]) == pytest.approx((2.0, 1.0))
    assert p["energy_cost_usd"] == pytest.approx(525_600, abs=1e-6)
    assert cat(plan, "energy") == pytest.approx(0, abs=1e-6)


def test_take_or_pay_sizes_an_optional_contract():
    """An optional PPA (up to 2 MW) at $40/MWh with take-or-pay 75 %; load 1 MW in 2026 and
    2 MW in 2027; tariff $50/MWh. Contract c MW (the same in both years), in $/MWh x 8760:

    c <= 4/3: 2026 pays max(1, 0.75c) = 1 MW -> 40; 2027 takes c -> 40c + 50(2 - c) = 100 - 10c.
    c >= 4/3: 2026 pays 0.75c -> 30c; 2027 100 - 10c; total 20c + 100, rising.
    Best c = 4/3: 40 + 100 - 40/3 = 380/3, x 8760 = 1,109,600; + 2 gpus 200 -> 1,109,800.
    """
    plan = solve_checked(_ppa_case(ppa(40, signed=False, take_or_pay_share=0.75), {"2026": 10, "2027": 20},
                                   periods=("2026", "2027")))
    assert plan.objective == pytest.approx(1_109_800, abs=1e-6)
    p = rows(plan, "power", source="ppa").set_index("period")
    assert p["mw_available"].tolist() == pytest.approx([4 / 3, 4 / 3])
    assert p["mw_used"].tolist() == pytest.approx([1.0, 4 / 3])
    assert cat(plan, "ppa_energy") == pytest.approx(40 * HOURS * (1 + 4 / 3), abs=1e-6)
    assert cat(plan, "energy") == pytest.approx(50 * HOURS * (2 / 3), abs=1e-6)


def test_ppa_delivers_only_in_its_term():
    """A signed 2 MW PPA at $40/MWh from 2027 on; 1 MW of load in 2026 and 2027.
    2026 at the tariff 438,000; 2027 from the PPA 350,400; gpu 100 -> 788,500.
    """
    plan = solve_checked(_ppa_case(ppa(40, available_from="2027"), periods=("2026", "2027")))
    assert plan.objective == pytest.approx(788_500, abs=1e-6)
    p = rows(plan, "power", source="ppa")
    assert p["period"].tolist() == ["2027"] and p["mw_used"].tolist() == pytest.approx([1.0])
    firm = rows(plan, "power", source="grid_firm").set_index("period")
    assert firm["mw_used"].tolist() == pytest.approx([1.0, 0.0])


# ----------------------------------------------------------------------------- emissions
GAS = onsite("gas", 5, capex_usd_per_mw=1000, fuel_usd_per_mmbtu=3, heat_rate_mmbtu_per_mwh=10, co2_t_per_mwh=0.4)
"""On-site gas: $1000/MW, fuel $3/MMBtu x 10 MMBtu/MWh = $30/MWh, 0.4 t/MWh (3,504 t per MW-year)."""


def _gas_or_grid(**rule) -> dict:
    """The existing site s1 (tariff $40/MWh, grid 0.1 t/MWh: 876 t per MW-year) with on-site gas
    (:data:`GAS`); 1 MW of must-serve load; one emission rule on CN (``rule``)."""
    return micro(sites=[site("s1", price=40, grid_co2_t_per_mwh=0.1, power_sources=[GAS])],
                 regions=[region("r", 10, must_serve=True)],
                 policies={"emission_rules": [{"id": "co2", "jurisdiction": "CN", **rule}]})


def test_carbon_price_flips_onsite_gas_to_grid():
    """Per MW-year: gas 1000 + 30 x 8760 = 263,800 + 3,504 t; grid 40 x 8760 = 350,400 + 876 t.

    $20/t: gas 263,800 + 70,080 = 333,880 < grid 350,400 + 17,520 = 367,920 -> gas; + gpu 100
    -> 333,980, 3,504 t. $50/t: gas 263,800 + 175,200 = 439,000 > grid 350,400 + 43,800
    = 394,200 -> grid: 394,300, 876 t.
    """
    plan = solve_checked(_gas_or_grid(price_usd_per_t=20))
    assert plan.objective == pytest.approx(333_980, abs=1e-6)
    assert rows(plan, "power", source="gas")["mw_used"].tolist() == pytest.approx([1.0])
    assert plan.tables["emissions"]["co2_t_per_year"].tolist() == pytest.approx([3504])
    assert cat(plan, "carbon_price") == pytest.approx(70_080, abs=1e-6)

    plan = solve_checked(_gas_or_grid(price_usd_per_t=50))
    assert plan.objective == pytest.approx(394_300, abs=1e-6)
    assert plan.tables["generator_builds"].empty
    assert plan.tables["emissions"]["co2_t_per_year"].tolist() == pytest.approx([876])
    assert cat(plan, "carbon_price") == pytest.approx(43_800, abs=1e-6)


def test_hard_emission_cap_limits_gas():
    """Cap 2,190 t/year. Gas for g MW of the 1 MW: 8760 (0.4 g + 0.1 (1 - g)) = 876 + 2628 g
    <= 2190 -> g <= 0.5. Gas is cheaper per MW-year (263,800 < 350,400), so g = 0.5:
    gas capex 500 + fuel 0.5 x 262,800 = 131,400 + tariff 0.5 x 350,400 = 175,200 + gpu 100
    -> 307,200 (uncapped: 263,900).
    """
    plan = solve_checked(_gas_or_grid(cap_t_per_year=2190))
    assert plan.objective == pytest.approx(307_200, abs=1e-6)
    assert plan.tables["generator_builds"]["mw"].tolist() == pytest.approx([0.5])
    assert plan.tables["emissions"]["co2_t_per_year"].tolist() == pytest.approx([2190])


def test_soft_emission_cap_is_exceeded_when_the_penalty_is_low():
    """Cap 2,190 t/year, soft. Moving the last 0.5 MW from grid to gas saves
    0.5 x (350,400 - 263,800) = 43,300 and emits 0.5 x 2628 = 1,314 t more: worth it below
    43,300 / 1,314 = 32.95 $/t.

    Penalty $10/t: all gas, 1,314 t excess: 263,900 + 13,140 = 277,040.
    Penalty $100/t: keep to the cap: 307,200, no excess.
    """
    plan = solve_checked(_gas_or_grid(cap_t_per_year=2190, hard=False, excess_penalty_usd_per_t=10))
    assert plan.objective == pytest.approx(277_040, abs=1e-6)
    e = plan.tables["emissions"].iloc[0]
    assert (e["co2_t_per_year"], e["excess_t_per_year"]) == pytest.approx((3504, 1314))
    assert cat(plan, "emission_excess_penalty") == pytest.approx(13_140, abs=1e-6)

    plan = solve_checked(_gas_or_grid(cap_t_per_year=2190, hard=False, excess_penalty_usd_per_t=100))
    assert plan.objective == pytest.approx(307_200, abs=1e-6)
    assert plan.tables["emissions"]["excess_t_per_year"].tolist() == pytest.approx([0])


# ----------------------------------------------------------------------------- energy subsidy
def test_energy_subsidy_applies_to_tariff_energy_only():
    """A domestic system (CN origin, 1 MW, 10 PFLOPS, $100) and a 50 % domestic-systems energy
    subsidy in CN; tariff $50/MWh (25 after the subsidy); a signed 1 MW PPA at $10/MWh.
    Load 2 MW. The PPA (10 < 25) covers 1 MW: 87,600; the tariff the other MW: 438,000;
    the subsidy discounts min(domestic facility power 2, tariff energy 1) = 1 MW:
    -0.5 x 438,000 = -219,000; 2 units 200. Objective 306,800.
    A qualifying-site subsidy (threshold 50 %, the site is 100 % domestic) discounts the tariff
    energy only as well: the same 306,800 (the whole facility power would give -438,000).
    """
    for mode in ({"applies_to": "domestic_systems"},
                 {"applies_to": "qualifying_sites", "domestic_share_threshold": 0.5}):
        d = micro(sites=[site("s1", price=50, power_sources=[ppa(10, mw=1)])],
                  systems=[system("npu", origin="CN")], regions=[region("r", 20, must_serve=True)],
                  policies={"energy_subsidies": [{"id": "e", "jurisdiction": "CN", "discount_share": 0.5, **mode}]})
        plan = solve_checked(d)
        assert plan.objective == pytest.approx(306_800, abs=1e-6), mode
        assert cat(plan, "energy_subsidy") == pytest.approx(-219_000, abs=1e-6)
        assert cat(plan, "ppa_energy") == pytest.approx(87_600, abs=1e-6)
        assert cat(plan, "energy") == pytest.approx(438_000, abs=1e-6)
