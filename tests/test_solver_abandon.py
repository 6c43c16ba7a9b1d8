"""A HiGHS run that does not return after its deadline is abandoned, and the plan is the
latest incumbent HiGHS reported (``HighsSession.run_highs``, ``ABANDON_AFTER_S``).

HiGHS 1.16.0 has a root phase (central rounding) that checks neither its time limit nor the
callbacks; these tests stand in for it with a ``Highs`` whose solver thread never says it
returned, after it has really solved the model (so its improving-solution callbacks have
fired as in a real run)."""

from __future__ import annotations

import time

import highspy
import pytest
from conftest import micro, option, site, solve_checked

from optimizer.solver import session as session_module
from optimizer.solver.session import ABANDONED


def _greenfield() -> dict:
    """The two-scenario greenfield case of tests/test_solver_relax_fix.py: optimum $3,730
    (build 3 MW of a $500 + $1,000/MW hall, place the job in both scenarios:
    3,500 + 0.7 x 200 + 0.3 x 300)."""
    return micro(sites=[site("g", "greenfield", options=[option("hall", capex=1000, fixed=500, max_mw=10, block=1)])],
                 jobs=[{"id": "run", "compute_pflops": {"2026": 20}, "unplaced_cost_usd": 1e6}],
                 scenarios=[{"id": "base", "probability": 0.7},
                            {"id": "high", "probability": 0.3, "training_scale": 1.5}])


class _Runs(list):
    """The start times of the stand-in's runs, and the real ``Highs.run``."""

    real_run = None


@pytest.fixture
def highs_never_returns(monkeypatch):
    """``Highs.run`` solves at once (callbacks fire), then blocks as if still running (15 s at
    most, so that a broken abandonment fails the test instead of hanging it); abandonment
    0.3 s past the deadline instead of 10 s + 3 %."""
    runs = _Runs()
    real_run = highspy.Highs.run
    runs.real_run = real_run

    def run(self):
        runs.append(time.perf_counter())
        status = real_run(self)
        time.sleep(15.0)
        return status

    monkeypatch.setattr(highspy.Highs, "run", run)
    monkeypatch.setattr(session_module, "ABANDON_AFTER_S", 0.3)
    monkeypatch.setattr(session_module, "ABANDON_SHARE", 0.0)
    return runs


def test_an_abandoned_run_keeps_the_latest_incumbent_and_claims_no_bound(highs_never_returns):
    """Direct: the one run is abandoned 0.3 s after its 1 s limit; its improving-solution
    callback had reported the optimum, $3,730, which is the plan (verified), but with no
    bound (HiGHS's info belongs to no finished run), so it is feasible, not optimal."""
    t0 = time.perf_counter()
    plan = solve_checked(_greenfield(), expect_status="feasible", strategy="direct", mip_gap=0.0, time_limit=1.0)
    took = time.perf_counter() - t0
    assert plan.solver_status == ABANDONED
    assert plan.best_bound is None and plan.mip_gap is None
    assert plan.objective == pytest.approx(3730, abs=1e-6)
    assert any("HiGHS did not return after the time limit" in msg for msg in plan.messages)
    assert len(highs_never_returns) == 1
    assert took < 1.0 + 0.3 + 5.0


def test_after_an_abandoned_stage_nothing_else_runs(highs_never_returns):
    """Relax-and-fix: stage 1 (sites integer, placements fractional) is abandoned 0.3 s after
    its share of the 1 s limit. Its incumbent is not a plan of the whole model, and no later
    stage can run while HiGHS is busy, so there is no plan: no_solution, said so, not a
    stage-1 relaxation passed off as a plan."""
    plan = solve_checked(_greenfield(), expect_status="no_solution", strategy="relax-and-fix", mip_gap=0.0,
                         time_limit=1.0)
    assert not plan.has_solution and plan.objective is None
    assert any("HiGHS did not return after the time limit" in msg for msg in plan.messages)
    assert len(highs_never_returns) == 1  # stages 2-4 did not call HiGHS


def test_a_run_that_returns_is_not_abandoned():
    """The same model without the stand-in: optimal at $3,730 with its bound, not abandoned."""
    plan = solve_checked(_greenfield(), strategy="direct", mip_gap=0.0, time_limit=30.0)
    assert plan.solver_status != ABANDONED
    assert plan.best_bound == pytest.approx(3730, abs=1e-6)


def test_a_second_interrupt_gives_up_at_once_and_the_next_solve_does_not_wait(highs_never_returns):
    """While HiGHS runs (here: blocked for 15 s after solving), a KeyboardInterrupt (what the
    second Ctrl-C raises) reaches Python at once instead of after HiGHS returns; the session is
    abandoned, and the next solve on this thread gets a runner of its own instead of queueing
    behind the blocked one: it returns the optimum, $3,730, in well under 15 s."""
    import signal
    import threading

    import optimizer
    from optimizer.plan import timed_build
    from optimizer.solver.session import HighsSession

    inst = optimizer.instance_from_dict(_greenfield(), "micro")
    session = HighsSession(timed_build(inst)[1])
    main = threading.get_ident()
    threading.Timer(0.5, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        session.run(time_limit=None, mip_gap=0.0)
    assert time.perf_counter() - t0 < 5.0
    assert session.abandoned
    assert session.run(time_limit=None, mip_gap=0.0).solver_status == ABANDONED  # this HiGHS is busy for good
    highspy.Highs.run = highs_never_returns.real_run  # an ordinary run for the next solve
    t1 = time.perf_counter()
    plan = solve_checked(_greenfield(), strategy="direct", mip_gap=0.0)
    assert plan.objective == pytest.approx(3730, abs=1e-6)
    assert time.perf_counter() - t1 < 10.0
