"""Item 7: one meaning per number — idle capacity and idle systems (MW-weighted) everywhere, the grid
columns named for what they hold, energy subsidies per period tied to the cost table, and unplaced
jobs beside unserved demand in ``dcplan uncertainty``.

Idle case: region 'r' (US, served from US sites only) needs 10 PFLOPS. Site 'us' (US, 2 MW
existing) buys one 'big' unit (1 MW, 10 PFLOPS): busy. Site 'cn' (CN, 1 MW existing) holds
100 'small' units (10 kW each, 1 MW in all) that cannot serve the region: idle.
- idle systems (MW-weighted) = 1 MW idle / 2 MW installed = 50 % (by units it would be 100/101 = 99 %);
- idle capacity = 1 - 1 MW busy / 3 MW built = 66.7 %.
"""

from __future__ import annotations

import copy
import re

import pytest
from conftest import HOURS, micro, option, region, site, solve_checked, system

import optimizer
from optimizer.analysis.report import report_html
from optimizer.analysis.uncertainty import STOCHASTIC, value_of_information
from optimizer.results.columns import COLUMNS, column
from optimizer.results.outcomes import energy_subsidies, idle_by, scenario_outcomes
from optimizer.results.report import plan_text
from optimizer.results.verify import verify_plan


def _idle_case() -> dict:
    cn = site("cn", jur="CN", it_mw=1.0)
    cn["existing_units"] = [{"system": "small", "units": 100}]
    return micro(sites=[site("us", jur="US", it_mw=2.0), cn],
                 systems=[system("big", kw=1000.0, train=10.0, infer=10.0),
                          system("small", kw=10.0, train=0.01, infer=0.01)],
                 regions=[region("r", 10, jur="US", allowed_jurisdictions=["US"])])


@pytest.fixture(scope="module")
def idle_plan():
    return solve_checked(copy.deepcopy(_idle_case()))


def test_idle_is_mw_weighted_in_outcomes(idle_plan):
    o = scenario_outcomes(idle_plan).iloc[0]
    assert o["idle_systems_pct"] == pytest.approx(50.0) and o["installed_mw_years"] == pytest.approx(2.0)
    assert o["idle_capacity_pct"] == pytest.approx(100 * 2 / 3) and o["built_mw_years"] == pytest.approx(3.0)
    by = idle_by(idle_plan.tables, idle_plan.instance, ["site"]).set_index("site")
    assert by.loc["cn", "idle_systems_pct"] == pytest.approx(100.0) and by.loc["us", "idle_systems_pct"] == pytest.approx(0)


def test_idle_is_the_same_number_in_text_report_and_uncertainty(idle_plan):
    text = plan_text(idle_plan)
    assert "idle capacity 66.7 %, idle systems 50.0 %" in text
    assert "Idle installed units" not in text and "99.0 %" not in text
    html = re.sub(r"<td[^>]*>", "<td>", report_html(idle_plan, figures=False))
    assert "idle systems: nameplate MW of installed systems doing no work</td><td>50.0 %" in html
    assert "idle capacity: built IT MW not used by busy systems</td><td>66.7 %" in html
    rep = value_of_information(idle_plan.instance, forecast_plans=False)
    row = rep.plans_table().set_index("plan").loc[STOCHASTIC]
    assert row["idle_systems_pct"] == pytest.approx(50.0) and row["idle_capacity_pct"] == pytest.approx(100 * 2 / 3)
    assert "idle capacity 66.7 %, idle systems 50.0 %" in rep.text()


def test_grid_columns_name_what_they_hold():
    """Grid 12 MW, PUE 1.2, 2N (usable share 0.5): 5 gpus (5 MW IT) draw 6 MW and hold 12 MW of the connection."""
    d = micro(sites=[site("mine", "convertible", grid=12, options=[option(capex=1000, pue=1.2, share=0.5, block=1,
                                                                           max_mw=20)])],
              regions=[region("r", 50, penalty=1e6)])
    plan = solve_checked(d)
    sp = plan.tables["site_power"].iloc[0]
    assert sp["facility_mw"] == pytest.approx(6.0) and sp["grid_drawn_mw"] == pytest.approx(6.0)
    assert sp["grid_capacity_held_mw"] == pytest.approx(12.0) and sp["grid_held_pct"] == pytest.approx(100.0)
    assert "grid_draw_mw" not in COLUMNS["site_power"] and "grid_use_pct" not in COLUMNS["site_power"]
    assert "drawn" in column("site_power", "grid_drawn_mw").description
    # the verifier recomputes both
    t = {k: v.copy() for k, v in plan.tables.items()}
    t["site_power"]["grid_drawn_mw"] = 12.0
    rep = verify_plan(plan.instance, t, plan.expected_cost)
    assert not rep.ok and any("grid_drawn_mw" in m for m in rep.messages), rep.messages
    t = {k: v.copy() for k, v in plan.tables.items()}
    t["site_power"]["grid_capacity_held_mw"] = 6.0
    rep = verify_plan(plan.instance, t, plan.expected_cost)
    assert not rep.ok and any("grid_capacity_held_mw" in m for m in rep.messages), rep.messages


def test_energy_subsidy_in_one_period_only_is_reported_and_printed():
    """As above with demand only in 2027 (0 in 2026): nothing runs in 2026, so no subsidy then (no
    policy row with a saving, pandas' string columns of that period empty); in 2027 the npu serves
    10 PFLOPS, saving 0.6 * 100 * 8760 * 2 = 1,051,200 USD; discounted 1,051,200 / 1.1 = 955,636.36.
    The per-period table has one row, 2027, and the plan text prints (an empty string column once
    made the weighting raise)."""
    s = site("west", jur="CN-west", price=100)
    sub = {"id": "west", "jurisdiction": "CN-west", "discount_share": 0.6, "applies_to": "domestic_systems"}
    d = micro(periods=("2026", "2027"), rate=0.1, sites=[s],
              systems=[system("gpu", price=1000), system("npu", origin="CN", family="cann", kw=2000, price=1000)],
              regions=[region("r", {"2026": 0, "2027": 10})], policies={"energy_subsidies": [sub]})
    plan = solve_checked(d)
    sub_t = energy_subsidies(plan.tables, plan.instance).set_index("period")
    per_year = 0.6 * 100 * HOURS * 2
    assert sub_t.index.tolist() == ["2027"]
    assert sub_t.loc["2027", "usd_per_year"] == pytest.approx(per_year)
    assert sub_t.loc["2027", "discounted_usd"] == pytest.approx(per_year / 1.1)
    assert "saving per year 2027 1.05 M USD/year" in plan_text(plan)


def test_energy_subsidy_per_period_and_discounted_total_match_the_cost_table():
    """60 % off the power bill of domestic systems in CN-west. The npu (domestic, 2 MW) serves the
    10 PFLOPS in 2026 and 2027 (1 year each, 10 % discount rate): saving 0.6 * 100 * 8760 * 2 =
    1,051,200 USD per year; discounted 1,051,200 * (1 + 1 / 1.1) = 2,006,836.36, which is minus
    the energy_subsidy credit of the costs table."""
    s = site("west", jur="CN-west", price=100)
    sub = {"id": "west", "jurisdiction": "CN-west", "discount_share": 0.6, "applies_to": "domestic_systems"}
    d = micro(periods=("2026", "2027"), rate=0.1, sites=[s],
              systems=[system("gpu", price=1000), system("npu", origin="CN", family="cann", kw=2000, price=1000)],
              regions=[region("r", 10)], policies={"energy_subsidies": [sub]})
    plan = solve_checked(d)
    sub_t = energy_subsidies(plan.tables, plan.instance).set_index("period")
    per_year = 0.6 * 100 * HOURS * 2
    assert sub_t["usd_per_year"].tolist() == pytest.approx([per_year, per_year])
    assert sub_t["discounted_usd"].sum() == pytest.approx(per_year * (1 + 1 / 1.1))
    c = plan.tables["costs"]
    assert sub_t["discounted_usd"].sum() == pytest.approx(-c.loc[c["category"] == "energy_subsidy", "discounted_usd"].sum())
    text = plan_text(plan)
    assert "saving per year 2026 1.05 M USD/year, 2027 1.05 M USD/year" in text
    assert "energy subsidies, discounted total: 2.01 M USD" in text
    assert re.search(r"\n  energy_subsidy +-2\.01 M USD", text)  # the cost table's line, the same amount
    assert "summed over periods and scenarios" not in text
    html = report_html(plan, figures=False)
    assert "Energy subsidies received, per period and discounted total" in html and "$2.01 M" in html


def test_uncertainty_shows_jobs_left_unplaced():
    """The uncertainty case (tests/analysis/test_uncertainty.py) plus a 2.83 bn USD job that may run only in the US,
    where there is no site: unplaced in every scenario, 0 % of the inference demand is at stake."""
    d = micro(sites=[site("mine", "convertible", options=[option(capex=1000)])], systems=[system("gpu", price=0)],
              regions=[region("r", 10, penalty=150)],
              jobs=[{"id": "pretrain", "compute_pflops": {"2026": 5}, "allowed_jurisdictions": ["US"],
                     "unplaced_cost_usd": 2.83e9}],
              scenarios=[{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.5}])
    inst = optimizer.instance_from_dict(d, "micro")
    rep = value_of_information(inst, forecast_plans=False)
    row = rep.plans_table().set_index("plan").loc[STOCHASTIC]
    assert row["unserved_pct"] == pytest.approx(0) and row["jobs_unplaced"] == pytest.approx(1)
    assert row["unplaced_penalty_usd"] == pytest.approx(2.83e9)
    text = rep.text()
    assert "unserved 0.0 %, jobs unplaced 1 (2.83 bn USD penalty)" in text
    assert "jobs unplaced |" in text
    o = rep.outcomes_table()
    assert o["jobs_unplaced"].tolist() == [1] * len(o)
