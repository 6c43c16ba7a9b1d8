"""Micro instances of the model family sites, build phases: an option built in several
build events (``max_phases``), their fixed cost, their lead time and their order
(optimizer/model/sites.py: expand, phase_after_opening, max_phases, phased_max_blocks).

Optima are derived by hand in each test's docstring; the common data of the micro instances
is described in ``tests/model/model_cases.py`` (here: :func:`model_cases.ramp_case`, free
gpus, so only the site costs count). Every plan is re-checked by the verifier.
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import cat, ramp_case

pytestmark = pytest.mark.family("sites")

RAMP = {"2026": 10, "2027": 10, "2028": 30}  # 1 MW of gpus in 2026 and 2027, 3 MW in 2028


def _builds(plan) -> list[tuple[int, str, str, float]]:
    b = plan.tables["builds"].sort_values("phase")
    return list(zip(b["phase"], b["decision_period"], b["online_period"], b["it_mw"]))


def test_two_phases_beat_one_big_build_under_fixed_om():
    """Capex $1000/MW, fixed O&M $500/MW-year from the online period; demand 1 MW in 2026 and
    2027, 3 MW in 2028.

    max_phases 1: all 3 MW in 2026: capex 3000 + O&M 3 MW x 3 years x 500 = 4500 -> 7500.
    max_phases 2: 1 MW in 2026 (1000 + 1 x 3 x 500 = 2500) and 2 MW decided in 2028
    (2000 + 2 x 1 x 500 = 3000) -> 5500; the second phase in 2027 would cost 2000 + 2000 = 4000
    instead of 3000. Phasing saves the O&M of 2 MW for 2 years: 2000.
    """
    plan = solve_checked(ramp_case(RAMP, max_phases=1))
    assert plan.objective == pytest.approx(7500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 3.0)]

    plan = solve_checked(ramp_case(RAMP, max_phases=2))
    assert plan.objective == pytest.approx(5500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 1.0), (2, "2028", "2028", 2.0)]
    assert cat(plan, "site_capex") == pytest.approx(3000, abs=1e-6)
    assert cat(plan, "site_fom") == pytest.approx(2500, abs=1e-6)


def test_two_phases_beat_one_big_build_under_discounting():
    """No fixed O&M, capex $1000/MW, discount rate 25 %: a lump paid at the start of 2028
    (2 years in) is worth 1.25^-2 = 0.64 of it.

    max_phases 1: 3 MW in 2026 -> 3000. max_phases 2: 1 MW in 2026 (1000) + 2 MW in 2028
    (2000 x 0.64 = 1280) -> 2280.
    """
    plan = solve_checked(ramp_case(RAMP, max_phases=1, fom=0, rate=0.25))
    assert plan.objective == pytest.approx(3000, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 3.0)]

    plan = solve_checked(ramp_case(RAMP, max_phases=2, fom=0, rate=0.25))
    assert plan.objective == pytest.approx(2280, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 1.0), (2, "2028", "2028", 2.0)]


def test_phase_fixed_capex_decides_whether_phasing_pays():
    """The ramp of the first test (fixed O&M $500/MW-year) with a fixed cost per phase F',
    paid for every phase, the opening one included. Phasing saves 2000 of O&M and costs one
    more F'.

    F' = 1000: one build 7500 + 1000 = 8500; two phases 5500 + 2000 = 7500 -> two phases.
    F' = 3000: one build 7500 + 3000 = 10500; two phases 5500 + 6000 = 11500 -> one build.
    """
    plan = solve_checked(ramp_case(RAMP, max_phases=2, phase_fixed_capex_usd=1000))
    assert plan.objective == pytest.approx(7500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 1.0), (2, "2028", "2028", 2.0)]
    assert plan.tables["builds"]["capex_usd"].tolist() == pytest.approx([2000, 3000])

    plan = solve_checked(ramp_case(RAMP, max_phases=2, phase_fixed_capex_usd=3000))
    assert plan.objective == pytest.approx(10500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 3.0)]


def test_phase_lead_time_moves_or_removes_the_later_phase():
    """The ramp of the first test with a phase lead time (the opening has none).

    12 months: the 2028 phase must be decided in 2027; O&M starts when it is online (2028),
    so the cost is unchanged: 5500, phase 2 decided 2027, online 2028.
    24 months: a phase decided in 2027 would be online in 2029, after the horizon, so no
    later phase can be used and the plan builds everything at once: 7500.
    """
    plan = solve_checked(ramp_case(RAMP, max_phases=2, phase_lead_time_months=12))
    assert plan.objective == pytest.approx(5500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 1.0), (2, "2027", "2028", 2.0)]

    plan = solve_checked(ramp_case(RAMP, max_phases=2, phase_lead_time_months=24))
    assert plan.objective == pytest.approx(7500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 3.0)]


def test_max_phases_is_respected():
    """Demand 1, 2 and 4 MW in 2026, 2027, 2028; capex $1000/MW, O&M $500/MW-year.

    max_phases 3: 1 MW each in 2026 (1000 + 1500) and 2027 (1000 + 1000), 2 MW in 2028
    (2000 + 1000) -> 7500.
    max_phases 2: 1 + 3 MW (2026, 2027): 2500 + 3000 + 3000 = 8500; 2 + 2 MW (2026, 2028):
    2000 + 3000 + 2000 + 1000 = 8000 -> 8000, two build rows.
    max_phases 1: 4 MW in 2026: 4000 + 6000 = 10000.
    """
    ramp = {"2026": 10, "2027": 20, "2028": 40}
    plan = solve_checked(ramp_case(ramp, max_phases=3))
    assert plan.objective == pytest.approx(7500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 1.0), (2, "2027", "2027", 1.0), (3, "2028", "2028", 2.0)]

    plan = solve_checked(ramp_case(ramp, max_phases=2))
    assert plan.objective == pytest.approx(8000, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 2.0), (2, "2028", "2028", 2.0)]

    plan = solve_checked(ramp_case(ramp, max_phases=1))
    assert plan.objective == pytest.approx(10000, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 4.0)]


def test_phases_stay_within_max_it_mw():
    """max_it_mw 3 MW in total over all phases; demand 1 MW in 2026 and 4 MW in 2028, the
    MW above 3 unserved at $1000 per PFLOPS-year (10 PFLOPS per MW: $10,000 per MW-year).

    A gpu MW costs at most 1000 + 3 x 500 = 2500 < 10,000, so the site fills its 3 MW:
    1 MW in 2026 (2500) and 2 MW in 2028 (3000); 10 PFLOPS unserved in 2028: 10,000.
    Objective 15,500 (a 4th MW in 2028 would exceed max_it_mw).
    """
    d = micro(periods=("2026", "2027", "2028"),
              sites=[site("green", "greenfield", options=[option("hall", capex=1000, fom_usd_per_mw_year=500,
                                                                 max_mw=3, max_phases=2)])],
              systems=[system("gpu", price=0)],
              regions=[region("r", {"2026": 10, "2027": 10, "2028": 40}, penalty=1000)])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(15_500, abs=1e-6)
    assert _builds(plan) == [(1, "2026", "2026", 1.0), (2, "2028", "2028", 2.0)]
    assert cat(plan, "unserved_penalty") == pytest.approx(10_000, abs=1e-6)


def test_a_later_phase_is_never_online_before_the_opening():
    """Option 'slow' ($100/MW, 24-month lead time, max_phases 2, phases take 0 months) and
    option 'fast' ($1000/MW, no lead time) at one site; demand 1 MW in 2027 and 2028,
    unserved at $50 per PFLOPS-year (10 PFLOPS: $500 a year).

    Opening 'slow' in 2026 (online 2028) and adding a 2027 phase online in 2027 would serve
    both years for 100 + 100 = 200, but a later phase cannot be usable before its opening.
    So: 'slow' opened in 2026, 1 MW (100), 2027 unserved (500) -> 600; 'fast' (1000) is
    dearer.
    """
    d = micro(periods=("2026", "2027", "2028"),
              sites=[site("green", "greenfield", options=[
                  option("fast", capex=1000),
                  option("slow", capex=100, lead=24, max_phases=2, phase_lead_time_months=0)])],
              systems=[system("gpu", price=0)],
              regions=[region("r", {"2026": 0, "2027": 10, "2028": 10}, penalty=50)])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(600, abs=1e-6)
    b = plan.tables["builds"]
    assert list(zip(b["option"], b["phase"], b["decision_period"], b["online_period"], b["it_mw"])) == [
        ("slow", 1, "2026", "2028", 1.0)]
    dem = plan.tables["demand"].set_index("period")
    assert dem.loc["2027", "unserved_pflops"] == pytest.approx(10)
