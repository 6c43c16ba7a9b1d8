"""``--strategy relax-and-fix`` (optimizer/solver/relax_fix.py; its hand-derived cases are in
tests/test_solver_strategy.py, beside fix-and-optimize's): the same optimum as direct,
a bound that never exceeds it, the verifier's approval; HiGHS's time limit counted per run
and the deadline the callbacks check. No timing here: benchmarks/README.md measures."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

import optimizer
from optimizer.instance.load import load_instance
from optimizer.options import SolveOptions
from optimizer.plan import timed_build
from optimizer.solver.progress import Deadline
from optimizer.solver.relax_fix import PLACEMENT_VARS, SITE_VARS, columns_of
from optimizer.solver.session import HighsSession

QUICK = str(ROOT / "instances" / "quickstart.yaml")
CHINA = str(ROOT / "instances" / "china-2026.yaml")


@pytest.mark.parametrize("path", [QUICK, CHINA])
def test_relax_and_fix_on_examples_with_jobs_matches_direct(path):
    """Examples with training jobs (stage 2 places them): same cost as direct within the gap,
    every point of the history has its bound at or below its plan, the stage-1 bound (the
    first recorded bound) is at or below direct's optimum, and the verifier accepts the plan."""
    gap = 1e-4
    direct = optimizer.solve(path, SolveOptions(strategy="direct", verify=True, mip_gap=gap))
    rf = optimizer.solve(path, SolveOptions(strategy="relax-and-fix", verify=True, mip_gap=gap))
    assert rf.status == direct.status == "optimal"
    assert rf.objective == pytest.approx(direct.objective, rel=2 * gap)
    assert rf.best_bound is not None and rf.best_bound <= direct.objective * (1 + 1e-9)
    assert any("verifier: plan re-checked" in m for m in rf.messages)
    assert all(p["bound"] is None or p["incumbent"] is None or p["bound"] <= p["incumbent"] * (1 + 1e-9)
               for p in rf.progress)
    first_bound = next(p["bound"] for p in rf.progress if p["bound"] is not None)
    assert first_bound <= direct.objective * (1 + 1e-9)
    for key in ("stage_sites", "stage_placements", "stage_sizing", "full_mip"):
        assert key in rf.seconds


def test_the_stage_columns_are_the_site_and_placement_binaries():
    """Stage 1 makes exactly the build/expand columns integer, stage 2 the assign columns."""
    prep, m, ctx, _ = timed_build(load_instance(CHINA))
    s = HighsSession(m)
    sites, placements = columns_of(s, m, SITE_VARS), columns_of(s, m, PLACEMENT_VARS)
    assert sites.size == sum(1 for n in SITE_VARS if hasattr(m, n) for v in getattr(m, n).values() if s.column(v) >= 0)
    assert placements.size == sum(1 for v in m.assign.values() if s.column(v) >= 0) > 0
    assert not np.intersect1d(sites, placements).size
    assert set(sites) | set(placements) <= set(s.integer_columns())


def test_the_time_limit_of_a_run_counts_from_its_start():
    """HiGHS times an LP on a clock that runs on across runs of one Highs object, a MIP from the
    start of its own run: an LP run's limit is the clock's reading plus its seconds, a MIP run's
    its seconds alone (with the clock's reading added, a later MIP run and its sub-MIPs ran
    that much longer)."""
    _, m, _, _ = timed_build(load_instance(QUICK))
    s = HighsSession(m)
    assert s.integer_columns().size > 0
    s.run(time_limit=50.0, mip_gap=0.0)
    before = float(s._h.getRunTime())
    assert before > 0
    out = s.run(time_limit=50.0, mip_gap=0.0)
    assert out.solver_status == "Optimal"
    assert float(s._h.getOptionValue("time_limit")[1]) == pytest.approx(50.0, abs=1e-9)
    s.set_integrality(s.integer_columns(), integer=False)
    before = float(s._h.getRunTime())
    out = s.run(time_limit=50.0, mip_gap=0.0)
    assert out.solver_status == "Optimal"
    assert float(s._h.getOptionValue("time_limit")[1]) == pytest.approx(before + 50.0, abs=1e-3)


def test_the_deadline_passes_at_its_time_and_never_without_one():
    d = Deadline()
    assert not d.passed()  # not armed
    d.start(None)
    assert not d.passed() and not d.hit
    d.start(0.0)
    assert d.passed() and d.hit
    d.start(3600.0)
    assert not d.passed() and not d.hit  # re-arming clears the last hit


def test_a_run_the_deadline_stopped_does_not_stop_the_next(tmp_path):
    """HiGHS keeps a callback's interrupt flag between runs: the callbacks write it on every
    call, so after a run the deadline stopped (reported as a time limit, not as the user's
    interrupt) the next run of the same model goes to its optimum."""
    from benchmarks.synth import main as synth_main
    from optimizer.solver.progress import ctrl_c_stops_search

    path = tmp_path / "synth-S-1.json"
    synth_main(["--size", "S", "--seed", "1", str(path)])
    _, m, _, _ = timed_build(load_instance(path))
    s = HighsSession(m)
    s.scale_objective()
    with ctrl_c_stops_search(s._h, None, s.deadline):
        s.deadline.start(0.0)  # passed before the first callback
        s._h.run()
        status, raw, _ = s.status()
        assert raw == "Time limit reached" and status in ("feasible", "no_solution")
        out = s.run(time_limit=300.0, mip_gap=0.0)
    assert out.solver_status == "Optimal"
