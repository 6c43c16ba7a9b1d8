"""Micro instances of the model family fleet: units bought, in service and retired; supply limits, export rules
(optimizer/model/fleet.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
(one period of one year, one system 'gpu', an existing 100 MW site) is described in
``tests/model/model_cases.py``. Every plan is re-checked by the verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest
from conftest import micro, region, site, solve_checked, system
from model_cases import two_vendor

pytestmark = pytest.mark.family("fleet")


def test_units_retire_after_their_lifetime():
    """Lifetime 2 years, three 1-year periods, 10 PFLOPS needed in each, rate 10 %.

    A gpu bought in 2026 serves 2026 and 2027 and retires at the start of 2028; a second
    is bought in 2028 (buying it in 2027 would cost more after discounting).
    Cost 100 + 100 / 1.1**2.
    """
    d = micro(periods=("2026", "2027", "2028"), rate=0.1, systems=[system("gpu", life=2)], regions=[region("r", 10)])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(100 + 100 / 1.21, rel=1e-9)
    f = plan.tables["fleet"].set_index("period")
    assert f.loc["2028", "units_retired"] == 1 and f.loc["2028", "units_bought"] == 1
    assert f.loc["2027", "units_bought"] == 0


def test_export_cap_limits_purchases():
    """Demand 30 PFLOPS: 3 units. gpu $100, npu $300; at most 2 gpus may be bought in CN.

    Optimum: 2 gpu + 1 npu = 500.
    """
    cap = {"id": "cap", "system": "gpu", "jurisdiction": "CN", "action": "cap", "cap_units": 2}
    plan = solve_checked(two_vendor({"export_rules": [cap]}))
    assert plan.objective == pytest.approx(500, abs=1e-6)
    pol = plan.tables["policy"]
    assert pol.loc[pol["kind"] == "export_cap", "value"].tolist() == [2.0]


@pytest.mark.parametrize("share, expected", [(0.5, 3 * 170), (2.5, 3 * 300)])
def test_export_premium(share, expected):
    """Premium on gpus in CN: share of price plus $20 per unit.

    share 0.5: gpu costs 100 + 50 + 20 = 170 < 300 -> 3 gpus = 510.
    share 2.5: gpu costs 100 + 250 + 20 = 370 > 300 -> 3 npus = 900.
    """
    rule = {"system": "gpu", "jurisdiction": "CN", "action": "premium", "premium_share": share, "premium_usd_per_unit": 20}
    plan = solve_checked(two_vendor({"export_rules": [rule]}))
    assert plan.objective == pytest.approx(expected, abs=1e-6)


def test_ban_applies_inside_the_jurisdiction_only_in_its_periods():
    """gpu banned in CN (covers the CN-west site) in 2026 only; 10 PFLOPS each year.

    2026: one npu (300). 2027: the npu still serves (10-year life): nothing more to buy.
    Cost 300. Without the ban: one gpu, 100.
    """
    d = micro(periods=("2026", "2027"), sites=[site("w", jur="CN-west")],
              systems=[system("gpu"), system("npu", origin="CN", family="cann", price=300)],
              regions=[region("r", 10)],
              policies={"export_rules": [{"family": "cuda", "jurisdiction": "CN", "periods": ["2026"], "action": "ban"}]})
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(300, abs=1e-6)
    assert set(plan.tables["fleet"]["system"]) == {"npu"}


def test_supply_cap():
    """Only one gpu can be bought per period; demand 30 -> 1 gpu + 2 npu = 700."""
    d = two_vendor({})
    d["systems"][0]["supply_units"] = 1
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(700, abs=1e-6)
