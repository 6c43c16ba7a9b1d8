"""Solver limits, interruptions, determinism and atomic writing on a synthetic instance
that cannot be solved to optimality within seconds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT

import optimizer


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, timeout=600, **kw)


def test_no_solution_within_the_limit_exits_4(hard_instance, tmp_path):
    r = _cli("solve", hard_instance, "--time-limit", "0.01", "--out", str(tmp_path / "out"))
    assert r.returncode == 4, r.stdout + r.stderr
    assert "status: no_solution" in r.stdout and "no plan found within the limits" in r.stdout
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "no_solution"


def test_time_limit_keeps_the_incumbent_and_reports_the_gap(hard_instance):
    inst = optimizer.load_instance(hard_instance)
    plan = optimizer.solve(inst, optimizer.SolveOptions(time_limit=20, threads=1))
    assert plan.status == "feasible" and plan.solver_status == "Time limit reached"
    assert plan.mip_gap > 0 and plan.best_bound < plan.objective
    assert len(plan.tables["builds"]) > 0
    rep = optimizer.verify_plan(inst, plan.tables, plan.expected_cost)
    assert rep.ok, rep.violations[:5]


def test_ctrl_c_stops_the_search_and_keeps_the_plan(hard_instance, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", hard_instance, "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    deadline = time.time() + 120
    time.sleep(8)  # load and build take ~2 s; then the search runs for minutes
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=max(10, deadline - time.time()))
    assert proc.returncode == 0, stdout + stderr
    assert "interrupted (Ctrl-C)" in stdout and "status: feasible" in stdout
    assert json.loads((out / "summary.json").read_text())["status"] == "feasible"


def test_same_seed_and_threads_give_the_same_plan():
    inst = optimizer.load_instance(ROOT / "instances" / "global-hybrid.yaml")
    a = optimizer.solve(inst, optimizer.SolveOptions(seed=7, threads=1))
    b = optimizer.solve(inst, optimizer.SolveOptions(seed=7, threads=1))
    assert a.objective == b.objective
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_interrupted_write_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    plan = optimizer.solve(optimizer.load_instance(ROOT / "instances" / "quickstart.yaml"))
    calls = {"n": 0}
    real = pd.DataFrame.to_csv

    def failing(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(OSError):
        optimizer.write_plan(plan, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []
