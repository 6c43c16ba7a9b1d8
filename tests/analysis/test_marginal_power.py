"""Marginal values of the power options: firm and flexible grid MW, permits, curtailment shares,
emission caps and one more block in a later phase, on micro instances derived by hand; and the
counterfactual tables that compare phases, on-site generation and permits.

Common data (tests/conftest.py): one-year periods, one divisible system 'gpu' (1 MW per unit,
no idle draw, 10 PFLOPS for training and inference, $100), an existing 100 MW site 's1' in CN
with PUE 1, 8,760 hours per year. Electricity at $50/MWh costs 50 × 8,760 = 438,000 per MW-year.
Sign convention of every value: positive = expected discounted cost saved.
"""

from __future__ import annotations

import copy
import math

import pytest
from conftest import HOURS, micro, option, region, site, solve_checked, system

import optimizer
from optimizer.analysis.explain import explain
from optimizer.analysis.marginal import LESS_CURTAILMENT, MORE_CURTAILMENT, RESOLVE, marginal_values

MWY = 50 * HOURS  # one MW for a year at $50/MWh


def row(df, kind, record, period="2026", scenario="base", method="dual of the fixed LP"):
    r = df[(df["kind"] == kind) & (df["record"] == record) & (df["period"] == period) & (df["scenario"] == scenario)
           & (df["method"] == method)]
    assert len(r) == 1, df
    return r.iloc[0]


def _flexible_site(firm: float = 10, flexible: float = 5, share: float = 0.05, budget: float | None = None) -> dict:
    """Firm grid ``firm`` MW plus a flexible connection of ``flexible`` MW curtailed ``share`` of hours.

    A must-place training job of 100 PFLOPS and 100 PFLOPS of inference demand (unserved at
    $1e6 per PFLOPS-year) share the site. Inference never pauses; training units that pause
    during events lose ``share`` of their compute (0.05 × 10 = 0.5 PFLOPS per paused unit).
    """
    s = site("s1", grid=firm, price=50, power_sources=[
        {"id": "flex", "kind": "grid_flexible", "mw": flexible, "curtailment_share": share}])
    if budget is not None:
        s["max_curtailment_share"] = budget
    return micro(sites=[s], systems=[system("gpu", divisible=True)], regions=[region("r", 100, penalty=1e6)],
                 jobs=[{"id": "run", "compute_pflops": {"2026": 100}, "must_place": True}])


def test_firm_and_flexible_mw_where_the_flexible_mw_bind():
    """Firm 10 MW, flexible 5 MW. With T training units, v of them paused in events, and I MW of
    inference: outside events T + I <= 15 (grid_limit), in events T + I - v <= 10
    (curtailment_firm_supply), and 10 T - 0.5 v >= 100 (training_supply). Both rows bind: v = 5,
    T = 10.25, I = 4.75 (47.5 PFLOPS served, 52.5 unserved): cost 15 gpus 1,500 + 15 MW of energy
    6,570,000 + 52.5e6 = 59,071,500.

    One flexible MW more: v = 6, T = 10.3, I = 5.7 — 9.5 PFLOPS more served for one more gpu
    and 1 MW more energy: 9.5e6 - 100 - 438,000 = 9,061,900 per flexible MW. One firm MW more:
    v = 5, T = 10.25, I = 5.75 — 10 PFLOPS: 1e7 - 100 - 438,000 = 9,561,900 per firm MW (the
    500,000 between them is the dual of curtailment_firm_supply: firm MW also count in events).
    Both are linear here, so re-solving with one more MW moves the objective by exactly that.
    """
    plan = solve_checked(_flexible_site(), keep_model=True)
    assert plan.objective == pytest.approx(1_500 + 15 * MWY + 52.5e6, rel=1e-12)
    df = marginal_values(plan, curtailment=False)
    flex, firm = row(df, "grid_flexible", "s1"), row(df, "grid", "s1")
    assert flex["value"] == pytest.approx(9.5e6 - 100 - MWY, rel=1e-9) and flex["unit"] == "USD/MW"
    assert firm["value"] == pytest.approx(1e7 - 100 - MWY, rel=1e-9) and firm["unit"] == "USD/MW"
    assert flex["meaning"].startswith("flexible MW:") and firm["meaning"].startswith("firm MW:")
    assert flex["constraint"] == "grid_limit[s1,'2026',base]" and flex["slack"] == 0
    assert firm["constraint"] == "grid_limit[s1,'2026',base] + curtailment_firm_supply[s1,'2026',base]"
    assert solve_checked(_flexible_site(flexible=6)).objective == pytest.approx(plan.objective - flex["value"], rel=1e-9)
    assert solve_checked(_flexible_site(firm=11)).objective == pytest.approx(plan.objective - firm["value"], rel=1e-9)
    assert not (df["kind"] == "curtailment").any()


def test_one_point_less_curtailment_is_priced_by_re_solves():
    """Same site. At 4 % a paused unit loses 0.4 PFLOPS: T = (100 + 0.4 × 5) / 10 = 10.2, so
    0.05 MW moves to inference: 0.5 PFLOPS more served, the same gpus and energy: +500,000.
    At 6 %: T = 10.3, 0.5 PFLOPS less served: -500,000. Both re-solves fix the plan's builds
    (none here) and share the base solve: 3 solves."""
    plan = solve_checked(_flexible_site(), keep_model=True)
    df = marginal_values(plan)
    less = row(df, "curtailment", "s1", "all", "base", LESS_CURTAILMENT)
    more = row(df, "curtailment", "s1", "all", "base", MORE_CURTAILMENT)
    assert less["value"] == pytest.approx(500_000, rel=1e-6) and less["unit"] == "USD/pp"
    assert more["value"] == pytest.approx(-500_000, rel=1e-6)
    assert "curtailed 4 % instead of 5 %" in less["meaning"] and "curtailed 6 % instead of 5 %" in more["meaning"]
    assert less["constraint"] == "sites[s1].power_sources[flex].curtailment_share" and math.isnan(less["slack"])
    assert df.attrs["curtailment_resolves"] == 3 and df.attrs["block_resolves"] == 0


def _curtailed_training(share: float, budget: float | None = None) -> dict:
    """No firm grid, 20 flexible MW curtailed ``share``: every training unit must pause in events
    (T - v <= 0), so the job of 100 PFLOPS needs T = 10 / (1 - share) units, each 1 MW at $50/MWh
    and $100: cost 438,100 × 10 / (1 - share)."""
    s = site("s1", grid=0, price=50, power_sources=[{"id": "flex", "kind": "grid_flexible", "mw": 20,
                                                     "curtailment_share": share}])
    if budget is not None:
        s["max_curtailment_share"] = budget
    return micro(sites=[s], systems=[system("gpu", divisible=True)],
                 jobs=[{"id": "run", "compute_pflops": {"2026": 100}, "must_place": True}])


def test_curtailment_share_change_derived_by_hand():
    """5 %: cost 438,100 × 10 / 0.95. One point less saves 438,100 × (10/0.95 - 10/0.96) =
    48,037.28; one point more costs 438,100 × (10/0.94 - 10/0.95) = 49,059.35 (the cost is convex
    in the share). The re-solves equal those of the instance with the share changed."""
    plan = solve_checked(_curtailed_training(0.05), keep_model=True)
    assert plan.objective == pytest.approx(438_100 * 10 / 0.95, rel=1e-9)
    df = marginal_values(plan)
    less = row(df, "curtailment", "s1", "all", "base", LESS_CURTAILMENT)["value"]
    more = row(df, "curtailment", "s1", "all", "base", MORE_CURTAILMENT)["value"]
    assert less == pytest.approx(438_100 * (10 / 0.95 - 10 / 0.96), rel=1e-6)
    assert more == pytest.approx(-438_100 * (10 / 0.94 - 10 / 0.95), rel=1e-6)
    assert plan.objective - less == pytest.approx(solve_checked(_curtailed_training(0.04)).objective, rel=1e-9)
    # no firm MW: one more firm MW lets one unit run in events, T = (100 - 0.5) / 9.5 (per unit 438,100)
    assert row(df, "grid", "s1")["value"] == pytest.approx(438_100 * 0.5 / 9.5, rel=1e-9)


def test_curtailment_share_near_zero_and_at_the_budget():
    """0.5 % with a budget of 1 %: one point less stops at 0 % and one more at the budget, 0.5 pp
    each; the values are per point moved: 438,100 × (10/0.995 - 10) / 0.5 and
    -438,100 × (10/0.99 - 10/0.995) / 0.5. At the budget itself no more curtailment is priced."""
    plan = solve_checked(_curtailed_training(0.005, budget=0.01), keep_model=True)
    df = marginal_values(plan)
    less = row(df, "curtailment", "s1", "all", "base", LESS_CURTAILMENT)
    more = row(df, "curtailment", "s1", "all", "base", MORE_CURTAILMENT)
    assert less["value"] == pytest.approx(438_100 * (10 / 0.995 - 10) / 0.5, rel=1e-6)
    assert more["value"] == pytest.approx(-438_100 * (10 / 0.99 - 10 / 0.995) / 0.5, rel=1e-6)
    assert "curtailed 0 % instead of 0.5 %" in less["meaning"] and "per pp of the 0.5 pp moved" in less["meaning"]

    plan = solve_checked(_curtailed_training(0.01, budget=0.01), keep_model=True)
    more = row(marginal_values(plan), "curtailment", "s1", "all", "base", MORE_CURTAILMENT)
    assert math.isnan(more["value"]) and "budget" in more["meaning"]


def test_flexible_mw_replacing_on_site_generation():
    """No firm grid, 4 flexible MW (5 %), on-site gas up to 20 MW at $1,000/MW with fuel $100/MWh.
    The job's 10 units run through events on gas (pausing one would save 1 MW of gas, $1,000, but
    cost 0.05 units more, 0.05 × 876,100): gas built 10 MW, 4 MW of tariff energy and 6 of gas:
    1,000 + 10,000 + 4 × 438,000 + 6 × 876,000 = 7,019,000.

    One flexible MW more replaces 1 MW of gas energy by tariff energy: (100 - 50) × 8,760 =
    438,000 (grid_energy_limit). One firm MW more also lets 1 MW less gas firm the site in
    events: 438,000 + 1,000. The gas permit (20 MW) does not bind: 0.
    """
    d = micro(sites=[site("s1", grid=0, price=50, power_sources=[
        {"id": "flex", "kind": "grid_flexible", "mw": 4, "curtailment_share": 0.05},
        {"id": "gas", "kind": "onsite", "mw": 20, "capex_usd_per_mw": 1000, "fuel_usd_per_mmbtu": 10,
         "heat_rate_mmbtu_per_mwh": 10}])],
        systems=[system("gpu", divisible=True)], jobs=[{"id": "run", "compute_pflops": {"2026": 100}, "must_place": True}])
    plan = solve_checked(d, keep_model=True)
    assert plan.objective == pytest.approx(7_019_000, rel=1e-9)
    df = marginal_values(plan, curtailment=False)
    assert row(df, "grid_flexible", "s1")["value"] == pytest.approx(438_000, rel=1e-9)
    assert row(df, "grid", "s1")["value"] == pytest.approx(439_000, rel=1e-9)
    assert "grid_energy_limit[s1,'2026',base]" in row(df, "grid_flexible", "s1")["constraint"]
    permit = row(df, "permit", "s1:gas", "all", "base")
    assert permit["value"] == 0 and permit["slack"] == pytest.approx(10)


def _permit(mw: float) -> dict:
    """Firm grid 2 MW, on-site gas with a permit for ``mw`` MW at $1,000/MW and $30/MWh of fuel
    (3 $/MMBtu × 10 MMBtu/MWh: 262,800 per MW-year); 100 PFLOPS of inference at $1e6 per
    PFLOPS-year; free electricity."""
    return micro(sites=[site("s1", grid=2, power_sources=[
        {"id": "gas", "kind": "onsite", "mw": mw, "capex_usd_per_mw": 1000, "fuel_usd_per_mmbtu": 3,
         "heat_rate_mmbtu_per_mwh": 10}])],
        systems=[system("gpu", divisible=True)], regions=[region("r", 100, penalty=1e6)])


def test_permit_cap_that_binds():
    """Permit 3 MW: 5 gpus run on 2 + 3 MW, 50 PFLOPS unserved. One MW more permit: one more MW
    of gas built (1,000) and run (262,800) and one more gpu (100) serve 10 PFLOPS:
    1e7 - 1,000 - 262,800 - 100 = 9,736,100. The MW built are bounded by the permit twice (the
    row and the variable's bound); the bound is lifted in the LP, so the row carries the value,
    and the plan's model keeps its bounds. One firm MW more: 1e7 - 100 (free electricity)."""
    plan = solve_checked(_permit(3), keep_model=True)
    df = marginal_values(plan)
    r = row(df, "permit", "s1:gas", "all", "base")
    assert r["value"] == pytest.approx(1e7 - 1000 - 262_800 - 100, rel=1e-9)
    assert r["unit"] == "USD/MW" and r["constraint"] == "permit_cap[s1,gas]" and r["slack"] == 0
    assert row(df, "grid", "s1")["value"] == pytest.approx(1e7 - 100, rel=1e-9)
    assert all(x.ub == 3 for x in plan.model.generator_built_mw.values())
    assert plan.objective - solve_checked(_permit(4)).objective == pytest.approx(r["value"], rel=1e-9)


def _capped(cap: float) -> dict:
    """One 2-year period; the grid emits 0.5 t/MWh at $50/MWh, a signed 20 MW PPA is clean at
    $80/MWh; 10 MW of inference; a hard cap of ``cap`` t per year on CN."""
    s = site("s1", grid=12, price=50, grid_co2_t_per_mwh=0.5,
             power_sources=[{"id": "wind", "kind": "ppa", "mw": 20, "price_usd_per_mwh": 80}])
    return micro(years=(2.0,), sites=[s], systems=[system("gpu", divisible=True)], regions=[region("r", 100, penalty=1e6)],
                 policies={"emission_rules": [{"id": "cap", "jurisdiction": "CN", "cap_t_per_year": cap}]})


def test_emission_cap_value_per_tonne():
    """The 10 MW would emit 43,800 t/year from the grid; capped at 30,000 some energy comes from
    the PPA. One tonne more allowed replaces 2 MWh (1/0.5 t) of PPA energy by grid energy:
    (80 - 50) × 2 = $60 per tonne. The row is per year over a 2-year period, so its dual is
    $120 per t/year; per tonne, divided by the 2 years: 60."""
    plan = solve_checked(_capped(30_000), keep_model=True)
    r = row(marginal_values(plan), "emission_cap", "cap")
    assert r["value"] == pytest.approx(60.0, rel=1e-9) and r["unit"] == "USD/t" and r["slack"] == 0
    # 2 t/year more over 2 years = 4 t: 240
    assert plan.objective - solve_checked(_capped(30_002)).objective == pytest.approx(4 * r["value"], rel=1e-9)


def test_one_more_block_keeps_the_phase():
    """Option retro in 1 MW blocks (at most 2 MW, 2 phases, $1,000/MW), indivisible gpus, demand 10
    PFLOPS in 2026 and 20 in 2027, 10 % discounting: phase 1 (1 block, 2026) and phase 2 (1 block,
    2027). Both periods are full, so each phase gets a re-solve with one more block (the maximum
    raised): nothing more to serve, so each is worth minus its capex, -1,000 and -1,000 / 1.1."""
    d = micro(periods=("2026", "2027"), rate=0.1,
              sites=[site("c", "convertible", options=[option("retro", capex=1000, max_mw=2, max_phases=2)])],
              regions=[region("r", {"2026": 10, "2027": 20}, penalty=5000)])
    plan = solve_checked(copy.deepcopy(d), keep_model=True)
    assert plan.tables["builds"]["phase"].tolist() == [1, 2]
    df = marginal_values(plan)
    r1 = row(df, "capacity", "c", "2026", "base", RESOLVE)
    r2 = row(df, "capacity", "c", "2027", "base", RESOLVE)
    assert r1["value"] == pytest.approx(-1000) and r1["constraint"] == "blocks[c,retro,2026]"
    assert r2["value"] == pytest.approx(-1000 / 1.1) and r2["constraint"] == "expand_blocks[c,retro,2027]"
    assert "phase 2, decided 2027" in r2["meaning"] and "max_it_mw raised" in r2["meaning"]
    assert df.attrs["block_resolves"] == 3


def test_explain_compares_phases_generation_and_permits():
    """s2 (convertible, 2 phases) serves the 100 PFLOPS in the base: 8 MW at $1,000 + 10 gpus.
    Forbidding s2 leaves s1: 2 MW of grid and its 3 MW gas permit, used up; 50 PFLOPS unserved."""
    d = _permit(3)
    d["sites"].append(site("s2", "convertible", grid=100, options=[option("retro", capex=1000, max_mw=20, max_phases=2)]))
    ex = explain(optimizer.instance_from_dict(d, "micro"), forbid=["site=s2"])
    b = ex.builds.iloc[0]
    assert (b["site"], b["phase"], b["change"], b["base_it_mw"]) == ("s2", 1, "removed", 8.0)
    p = ex.power.iloc[0]
    assert (p["site"], p["source"], p["kind"], p["change"], p["variant_mw"]) == ("s1", "gas", "onsite", "added", 3.0)
    lim = ex.limits.set_index("limit")
    assert lim.loc["permit used up", "record"] == "s1:gas" and lim.loc["permit used up", "variant"] == 3.0
    assert "s1 gas (onsite, decided 2026): none -> 3 MW" in ex.text() and "power" in ex.tables()
