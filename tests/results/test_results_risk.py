"""Item 5: under a risk setting the objective, the expected cost and the CVaR are each shown under their own name.

The micro case (as in ``tests/analysis/test_uncertainty.py``): a convertible site, build $1000 per MW
in 1-MW blocks, each MW holds one free gpu serving 10 PFLOPS; one region of 50 PFLOPS,
unserved $150 per PFLOPS-year; scenarios 'high' (50 PFLOPS) and 'low' (10), 0.5 each.
Building B MW costs high 1000 B + 150 max(0, 50 - 10 B), low 1000 B + 150 max(0, 10 - 10 B).

With cvar:0.5:0.25 the objective is 0.75 E + 0.25 CVaR_0.5 (CVaR_0.5 = the 'high' cost):
B = 0: 0.75 * 4500 + 0.25 * 7500 = 5250; B = 1: 0.75 * 4000 + 0.25 * 7000 = 4750;
B = 2: 0.75 * 4250 + 0.25 * 6500 = 4812.5; B = 5: 5000. The plan builds 1 MW: risk
objective 4750, expected cost 4000, CVaR 7000.
"""

from __future__ import annotations

import copy
import json

import pytest
from conftest import micro, option, region, site, solve_checked, system

import optimizer
from optimizer.analysis.report import report_html
from optimizer.results.outcomes import objective_name, plan_cvar
from optimizer.results.report import plan_text


def _case() -> dict:
    return micro(sites=[site("mine", "convertible", options=[option(capex=1000)])], systems=[system("gpu", price=0)],
                 regions=[region("r", 50, penalty=150)],
                 scenarios=[{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}])


@pytest.fixture(scope="module")
def risky():
    return solve_checked(copy.deepcopy(_case()), risk=optimizer.Risk(0.5, 0.25))


def test_plan_numbers_under_risk(risky):
    assert risky.objective == pytest.approx(4750, abs=1e-6)
    assert risky.expected_cost == pytest.approx(4000, abs=1e-6)
    assert plan_cvar(risky) == pytest.approx(7000, abs=1e-6)


def test_printed_headline_names_each_number(risky):
    text = plan_text(risky)
    assert "risk objective (0.75 × expected cost + 0.25 × CVaR_0.5): 4.75 k USD (best bound" in text
    assert "\nexpected discounted cost: 4.00 k USD\n" in text
    assert "CVaR_0.5 of discounted cost (mean of the worst 50 % of scenario probability): 7.00 k USD" in text
    assert "expected discounted cost: 4.75 k USD" not in text  # the old mislabelled headline


def test_summary_json_keys(risky, tmp_path):
    s = risky.summary()
    assert s["objective"] == pytest.approx(4750) and s["objective_name"] == objective_name(risky.risk)
    assert s["objective_name"].startswith("risk objective")
    assert s["expected_cost_usd"] == pytest.approx(4000) and s["cvar_usd"] == pytest.approx(7000)
    back = json.loads((optimizer.write_plan(risky, tmp_path / "r") / "summary.json").read_text())
    assert back["expected_cost_usd"] == pytest.approx(4000) and back["cvar_usd"] == pytest.approx(7000)


def test_html_report_cards(risky, tmp_path):
    html = report_html(risky, figures=False)
    card = '<div class="card"><div class="k">{}</div><div class="v">{}</div></div>'
    assert card.format("risk objective (0.75 × expected cost + 0.25 × CVaR_0.5)", "4.75 k USD") in html
    assert card.format("expected discounted cost", "4.00 k USD") in html
    assert card.format("CVaR_0.5 of discounted cost", "7.00 k USD") in html
    folder = optimizer.write_plan(risky, tmp_path / "r")  # the same from the result folder's summary.json
    assert card.format("expected discounted cost", "4.00 k USD") in report_html(folder, risky.instance, figures=False)


def test_without_risk_the_headline_stays_expected_cost():
    """Risk-neutral: B = 1, expected cost 4000 = objective; no CVaR."""
    plan = solve_checked(copy.deepcopy(_case()))
    text = plan_text(plan)
    assert "expected discounted cost: 4.00 k USD (best bound" in text
    assert "risk objective" not in text and "CVaR" not in text
    s = plan.summary()
    assert s["objective_name"] == "expected discounted cost" and s["cvar_usd"] is None
    assert s["expected_cost_usd"] == pytest.approx(s["objective"])
    html = report_html(plan, figures=False)
    assert '<div class="k">expected discounted cost</div><div class="v">4.00 k USD</div>' in html
    assert "CVaR" not in html
