"""Item 9: counts of divisible systems are shown as continuous, and an expensive divisible system is warned about.

Case: one existing 100 MW site in CN; 'rack' (100 kW, 10 PFLOPS, $2 M, divisible) serves a
15 PFLOPS region: 1.5 racks, $3 M; at most 2 racks may be bought in CN (export cap).
"""

from __future__ import annotations

import copy

import pytest
from conftest import micro, region, site, solve_checked, system

import optimizer
from optimizer.analysis.report import report_html
from optimizer.results.format import units
from optimizer.results.outcomes import divisible_warnings
from optimizer.results.report import plan_text


def _case(price: float = 2e6, divisible: bool = True) -> dict:
    return micro(sites=[site("s1")], systems=[system("rack", kw=100.0, price=price, divisible=divisible)],
                 regions=[region("r", 15)],
                 policies={"export_rules": [{"id": "cap", "system": "rack", "jurisdiction": "CN", "action": "cap",
                                             "cap_units": 2}]})


@pytest.fixture(scope="module")
def plan():
    return solve_checked(copy.deepcopy(_case()))


def test_units_formatter():
    assert units(260.41666, True) == "260.4" and units(1440.0000001) == "1,440" and units(0.0, True) == "0"
    assert units(41.6667, True) == "41.7" and units(None) == "n/a"


def test_fleet_table_says_counts_are_continuous(plan):
    f = plan.tables["fleet"]
    assert f["units_in_service"].tolist() == pytest.approx([1.5])
    assert f["divisible"].tolist() == [True]


def test_text_shows_continuous_counts(plan):
    text = plan_text(plan)
    assert "rack (continuous)" in text and "1.5" in text
    assert "export cap cap 2026 [base]: 1.5 of 2 units bought (continuous)" in text


def test_expensive_divisible_system_is_warned_about(plan):
    text = plan_text(plan)
    assert "! warning: system 'rack' costs 2.00 M USD per unit but is divisible" in text
    warnings = plan.summary()["warnings"]
    assert len(warnings) == 1 and "'rack'" in warnings[0] and "continuous (the plan has 1.5)" in warnings[0]
    html = report_html(plan, figures=False)
    assert "warning: system &#x27;rack&#x27; costs 2.00 M USD per unit but is divisible" in html
    assert '<td class="l">continuous</td>' in html  # the fleet tables' unit counts column


@pytest.mark.parametrize("price, divisible", [(1e5, True), (2e6, False)])
def test_no_warning_for_cheap_or_whole_unit_systems(price, divisible):
    p = solve_checked(copy.deepcopy(_case(price, divisible)))
    assert p.summary()["warnings"] == [] and "warning" not in plan_text(p)
    text = plan_text(p)
    assert ("rack (continuous)" in text) == divisible


def test_warning_from_the_instance_alone():
    inst = optimizer.instance_from_dict(copy.deepcopy(_case()), "micro")
    assert len(divisible_warnings(inst)) == 1
