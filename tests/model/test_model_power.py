"""Micro instances of the model family power: IT load, pools, PUE, redundancy, the grid limit and energy cost
(optimizer/model/power.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
(one period of one year, one system 'gpu', an existing 100 MW site) is described in
``tests/model/model_cases.py``. Every plan is re-checked by the verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import MWY

pytestmark = pytest.mark.family("power")


def test_blocks_pue_and_redundancy_limit_the_grid():
    """Grid 12 MW, PUE 1.2, 2N (usable share 0.5): IT load <= 12*0.5/1.2 = 5 MW.

    Demand 80 PFLOPS needs 8 gpus; only 5 can run, 30 PFLOPS go unserved at $1e6 each.
    5 units need 5 MW nameplate, in 2 MW blocks -> 3 blocks = 6 MW at $1000/MW.
    Cost = 30e6 + 6000 + 5*100 = 30,006,500.
    """
    d = micro(
        sites=[site("mine", "convertible", grid=12, options=[option(capex=1000, pue=1.2, share=0.5, block=2, max_mw=20)])],
        regions=[region("r", 80, penalty=1e6)],
    )
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(30_006_500, rel=1e-9)
    assert plan.tables["builds"]["it_mw"].tolist() == [6.0]
    sp = plan.tables["site_power"]
    assert sp["grid_capacity_held_mw"].tolist() == pytest.approx([12.0])  # 6 MW facility / usable share 0.5
    assert sp["grid_drawn_mw"].tolist() == pytest.approx([6.0]) and sp["grid_held_pct"].tolist() == pytest.approx([100.0])


def test_existing_site_expansion_uses_the_efficient_pool():
    """Existing hall 1 MW at PUE 2.0; an expansion option at PUE 1.0 costs $1000 fixed.

    One gpu (1 MW) serves 10 PFLOPS. In the old hall: energy 2 * 876,000 = 1,752,000.
    Built expansion: 1000 + 876,000 = 877,000, cheaper. Cost = 877,000 + 100 = 877,100,
    with the whole IT load in the expansion pool.
    """
    d = micro(
        sites=[site("dc", it_mw=1, pue=2.0, price=100, options=[option("hall2", fixed=1000, max_mw=5)])],
        regions=[region("r", 10)],
    )
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(877_100, rel=1e-9)
    pl = plan.tables["pool_load"].set_index("pool")
    assert pl.loc["hall2", "it_load_mw"] == pytest.approx(1.0)
    assert pl.loc["existing", "it_load_mw"] == pytest.approx(0.0)


def test_idle_units_cost_energy():
    """Demand 20 PFLOPS in 2026 and 10 in 2027; gpus draw 30 % when idle; $100/MWh.

    Two gpus bought in 2026 (200). 2026: both busy, 2 MW -> 1,752,000.
    2027: one busy, one idle: 1 + 0.3 = 1.3 MW -> 1,138,800. Total 2,891,000.
    """
    d = micro(periods=("2026", "2027"), sites=[site("s1", price=100)], systems=[system("gpu", idle=0.3)],
              regions=[region("r", {"2026": 20, "2027": 10})])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(200 + 2 * MWY + 1.3 * MWY, rel=1e-9)
    cu = plan.tables["compute_use"].set_index("period")
    assert cu.loc["2027", "idle_pct"] == pytest.approx(50.0)
