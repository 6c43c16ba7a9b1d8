"""The progress history of a solve: recorded, monotone, on the plan; fed by HiGHS's callbacks.

For a minimisation the bound never falls and the incumbent never rises; times increase.
No timings are asserted (the reporting thread is only checked to call its function).
"""

from __future__ import annotations

import math
import threading
from types import SimpleNamespace

import pyomo.environ as pyo
import pytest
from conftest import ROOT, micro, region, site, system

import optimizer
from optimizer.solver import progress as progress_module
from optimizer.solver.progress import Progress, record_interval, relative_gap

QUICK = ROOT / "instances" / "quickstart.yaml"
KEYS = {"seconds", "incumbent", "bound", "gap"}


def _check_monotone(history: list[dict]) -> None:
    assert history and all(set(p) == KEYS for p in history)
    times = [p["seconds"] for p in history]
    assert all(b > a for a, b in zip(times, times[1:])), times
    bounds = [p["bound"] for p in history if p["bound"] is not None]
    assert all(b >= a for a, b in zip(bounds, bounds[1:])), bounds
    plans = [p["incumbent"] for p in history if p["incumbent"] is not None]
    assert all(b <= a for a, b in zip(plans, plans[1:])), plans
    for p in history:
        assert p["gap"] == relative_gap(p["incumbent"], p["bound"])


@pytest.mark.parametrize("name", ["quickstart", "global-hybrid"])
def test_history_is_recorded_on_the_plan_and_monotone(name):
    plan = optimizer.solve(ROOT / "instances" / f"{name}.yaml", optimizer.SolveOptions(mip_gap=1e-6, threads=1))
    assert plan.status == "optimal"
    _check_monotone(plan.progress)
    last = plan.progress[-1]
    assert last["incumbent"] == pytest.approx(plan.objective, rel=1e-6)  # HiGHS's view of the final plan
    assert last["bound"] == pytest.approx(plan.best_bound, rel=1e-9)
    assert last["bound"] <= last["incumbent"] * (1 + 1e-9)


def test_an_lp_has_its_final_point():
    """No MIP callbacks in an LP (divisible systems at an existing site): the end of the run is recorded."""
    data = micro(sites=[site("s1")], systems=[system("gpu", divisible=True)], regions=[region("r", 30)])
    plan = optimizer.solve(optimizer.instance_from_dict(data, "micro"), keep_model=True)
    assert plan.status == "optimal" and all(v.is_continuous() for v in plan.model.component_data_objects(pyo.Var))
    assert len(plan.progress) == 1
    _check_monotone(plan.progress)
    assert plan.progress[-1]["gap"] == 0.0


def _data(t: float, primal: float = math.inf, dual: float = -math.inf) -> SimpleNamespace:
    return SimpleNamespace(running_time=t, mip_primal_bound=primal, mip_dual_bound=dual)


def test_callbacks_keep_the_best_values_and_thin_out_bound_points():
    p = Progress(scale=1e-3)
    p.observe(_data(0.5))  # nothing known yet: nothing recorded
    assert p.history == []
    p.observe(_data(1.0, dual=10.0))  # first bound
    p.observe(_data(1.2, dual=11.0))  # better bound within the record interval: state only
    p.observe(_data(1.3, dual=9.0), incumbent=20.0)  # new incumbent: recorded; a looser bound is ignored
    p.observe(_data(1.3, primal=19.0, dual=12.0))  # same instant: replaces the point
    p.observe(_data(9.0, primal=25.0, dual=12.5))  # worse incumbent ignored, tighter bound recorded
    p.finish(9.5, 18.5e3, 18.0e3)  # final values come unscaled
    assert [h["seconds"] for h in p.history] == [1.0, 1.3, 9.0, 9.5]
    assert p.history[1] == {"seconds": 1.3, "incumbent": 19e3, "bound": 12e3, "gap": relative_gap(19e3, 12e3)}
    assert p.history[-1]["incumbent"] == 18.5e3 and p.history[-1]["bound"] == 18e3
    _check_monotone(p.history)
    assert record_interval(10.0) == 1.0 and record_interval(1000.0) == 10.0


def test_reporting_thread_calls_the_report_function(monkeypatch):
    monkeypatch.setattr(progress_module, "REPORT_EVERY_S", 0.01)
    seen: list[dict] = []
    got = threading.Event()

    def report(point: dict) -> None:
        seen.append(point)
        got.set()

    p = Progress(report=report)
    with p.reporting():
        p.observe(_data(0.1, primal=5.0, dual=4.0))
        assert got.wait(30)
    n = len(seen)
    assert set(seen[-1]) == KEYS and seen[-1]["incumbent"] == 5.0
    assert len(seen) == n  # no report after the block


def test_solve_calls_progress_and_ctrl_c_handlers_are_restored():
    import signal

    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    plan = optimizer.solve(QUICK, progress=lambda point: None)
    assert plan.status == "optimal" and plan.progress
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
