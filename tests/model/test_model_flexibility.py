"""Micro instances of the model family workloads, workload flexibility: training that pauses
during curtailment events of a flexible grid connection, jobs that need firm power, and
inference, which never pauses (optimizer/model/workloads.py: paused_units,
pause_within_training, training_supply, firm_training_supply; with curtailment_firm_supply
of optimizer/model/supply.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
is described in ``tests/model/model_cases.py``: gpus of 1 MW, 10 PFLOPS, $100, no idle
draw, PUE 1, free electricity. The flexible connection is curtailed h = 20 % of the hours,
so a paused unit loses 0.2 x 10 = 2 PFLOPS. Every plan is re-checked by the verifier.
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import flexible, rows

pytestmark = pytest.mark.family("workloads")


def _flex_site(sid: str = "flexsite", firm: float = 0.0, *, block: float = 1.0) -> dict:
    """A convertible site with ``firm`` MW of firm grid and a 10 MW flexible connection (h = 20 %),
    build $100/MW in blocks of ``block`` MW."""
    return site(sid, "convertible", grid=firm, options=[option(capex=100, block=block)], power_sources=[flexible(10, 0.2)])


def _firm_site() -> dict:
    """A convertible site with 10 MW of firm grid, build $1000/MW."""
    return site("firmsite", "convertible", grid=10, options=[option(capex=1000)])


def _job(compute: float, *, tolerates: bool = True, jid: str = "run") -> dict:
    return {"id": jid, "compute_pflops": {"2026": compute}, "must_place": True, "tolerates_curtailment": tolerates}


def test_paused_training_needs_more_units():
    """Firm grid 1 MW + flexible 10 MW; a 20 PFLOPS job; divisible gpus, 0.25 MW blocks.

    N units in service, all busy, v of them pause in events. Events: N - v <= 1 (firm MW).
    Compute: 10 N - 2 v >= 20. With v = N - 1: 8 N + 2 >= 20 -> N = 2.25, v = 1.25 (loss
    0.2 x 10 x 1.25 = 2.5 PFLOPS). Cost: 2.25 MW x 100 + 2.25 x 100 = 450.
    """
    plan = solve_checked(micro(sites=[_flex_site(firm=1, block=0.25)], systems=[system("gpu", divisible=True)],
                               jobs=[_job(20)]))
    assert plan.objective == pytest.approx(450, abs=1e-6)
    cu = plan.tables["compute_use"].iloc[0]
    assert (cu["units_in_service"], cu["busy_units"], cu["paused_units"]) == pytest.approx((2.25, 2.25, 1.25))
    assert cu["training_pflops_used"] == pytest.approx(22.5)
    assert plan.tables["builds"]["it_mw"].tolist() == pytest.approx([2.25])


def test_job_that_does_not_tolerate_curtailment_needs_firm_power():
    """'flexsite' has no firm grid (only the flexible connection, $100/MW); 'firmsite' has
    firm grid at $1000/MW. An 8 PFLOPS job.

    Tolerant: one gpu at 'flexsite' pausing in every event delivers 10 - 2 = 8: 100 + 100 = 200.
    Not tolerant: at 'flexsite' every unit must pause in events (no firm power), none keeps
    running, so the job goes to 'firmsite': 1000 + 100 = 1100.
    """
    plan = solve_checked(micro(sites=[_flex_site(), _firm_site()], jobs=[_job(8)]))
    assert plan.objective == pytest.approx(200, abs=1e-6)
    assert plan.tables["training"]["site"].tolist() == ["flexsite"]
    assert plan.tables["compute_use"]["paused_units"].tolist() == pytest.approx([1.0])

    plan = solve_checked(micro(sites=[_flex_site(), _firm_site()], jobs=[_job(8, tolerates=False)]))
    assert plan.objective == pytest.approx(1100, abs=1e-6)
    assert plan.tables["training"]["site"].tolist() == ["firmsite"]
    assert plan.tables["builds"]["site"].tolist() == ["firmsite"]


def test_tolerant_job_absorbs_the_curtailment_of_a_strict_one():
    """Firm grid 1 MW + flexible 10 MW; a strict 10 PFLOPS job and a tolerant 8 PFLOPS job at
    the same site (whole gpus).

    N units busy, v pause: events N - v <= 1; the running units cover the strict job,
    10 (N - v) >= 10; all compute covers both, 10 N - 2 v >= 18. So N - v = 1 and
    10 + 8 v >= 18 -> v = 1, N = 2: the strict job runs on the firm MW, the tolerant one on
    the paused unit. Cost: 2 MW x 100 + 2 x 100 = 400.
    """
    plan = solve_checked(micro(sites=[_flex_site(firm=1)], jobs=[_job(10, tolerates=False, jid="strict"), _job(8)]))
    assert plan.objective == pytest.approx(400, abs=1e-6)
    cu = plan.tables["compute_use"].iloc[0]
    assert (cu["units_in_service"], cu["paused_units"]) == pytest.approx((2.0, 1.0))
    assert plan.tables["training"]["site"].tolist() == ["flexsite", "flexsite"]


def test_inference_moves_to_a_site_with_firm_power():
    """Inference never pauses, so at a site it needs firm power in events.

    20 PFLOPS of must-serve inference; 'flexsite' with no firm grid cannot serve any: all
    of it from 'firmsite', 2 MW x 1000 + 2 gpus 200 = 2200.
    With 1 MW of firm grid at 'flexsite', 10 PFLOPS run there (100 + 100) and 10 at
    'firmsite' (1000 + 100): 1300.
    """
    plan = solve_checked(micro(sites=[_flex_site(), _firm_site()], regions=[region("r", 20, must_serve=True)]))
    assert plan.objective == pytest.approx(2200, abs=1e-6)
    assert plan.tables["builds"]["site"].tolist() == ["firmsite"]
    assert rows(plan, "compute_use", site="firmsite")["inference_pflops_used"].tolist() == pytest.approx([20.0])

    plan = solve_checked(micro(sites=[_flex_site(firm=1), _firm_site()], regions=[region("r", 20, must_serve=True)]))
    assert plan.objective == pytest.approx(1300, abs=1e-6)
    cu = plan.tables["compute_use"].set_index("site")
    assert cu.loc["flexsite", "inference_pflops_used"] == pytest.approx(10.0)
    assert cu.loc["firmsite", "inference_pflops_used"] == pytest.approx(10.0)
    assert cu.loc["flexsite", "paused_units"] == pytest.approx(0.0)
