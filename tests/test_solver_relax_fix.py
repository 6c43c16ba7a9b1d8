"""``--strategy relax-and-fix`` (optimizer/solver/relax_fix.py; its hand-derived cases are in
tests/test_solver_strategy.py, beside fix-and-optimize's): the same optimum as direct,
a bound that never exceeds it, the verifier's approval; HiGHS's time limit counted per run
and the deadline the callbacks check. No timing here: benchmarks/README.md measures."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, micro, option, site, solve_checked

import optimizer
from optimizer.instance.load import load_instance
from optimizer.options import SolveOptions
from optimizer.plan import timed_build
from optimizer.solver.progress import Deadline
from optimizer.solver.relax_fix import PLACEMENT_VARS, SITE_VARS, _neighbourhoods, columns_of, scenario_groups
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


def _two_scenario_job_case() -> dict:
    """One 10-PFLOPS job (unplaced: $1 M) at an existing 2 MW site with free power, one gpu
    (1 MW, 10 PFLOPS, $100); scenarios 'base' (p = 0.3) and 'high' (p = 0.7)."""
    return micro(sites=[site("a", it_mw=2)],
                 jobs=[{"id": "run", "compute_pflops": {"2026": 10}, "unplaced_cost_usd": 1e6}],
                 scenarios=[{"id": "base", "probability": 0.3}, {"id": "high", "probability": 0.7}])


def test_scenario_groups_partition_the_placements_most_probable_first():
    prep, m, ctx, _ = timed_build(optimizer.instance_from_dict(_two_scenario_job_case(), "micro"))
    s = HighsSession(m)
    placements = columns_of(s, m, PLACEMENT_VARS)
    groups = scenario_groups(s, m, placements, {"base": 0.3, "high": 0.7})
    assert [w for w, _ in groups] == ["high", "base"]
    assert sorted(np.concatenate([c for _, c in groups]).tolist()) == sorted(placements.tolist())
    assert all(key[-1] == w for w, cols in groups for key, var in m.assign.items() if s.column(var) in cols)


def test_scenario_neighbourhoods_improve_a_plan_one_scenario_at_a_time():
    """From the plan that leaves the job unplaced in both scenarios (0.3 x $1 M + 0.7 x $1 M
    = $1,000,000), the first pass frees 'high' (p = 0.7) alone: one gpu bought there, the job
    placed, 0.7 x $100 + 0.3 x $1 M = $300,070; then 'base': 0.7 x 100 + 0.3 x 100 = $100, the
    optimum. The second pass improves nothing and ends the search: 4 runs in 2 passes. The
    placements are left fixed at the best plan (both 1)."""
    prep, m, ctx, _ = timed_build(optimizer.instance_from_dict(_two_scenario_job_case(), "micro"))
    s = HighsSession(m)
    arrays = s.lp()
    placements = columns_of(s, m, PLACEMENT_VARS)
    s.set_col_bounds(placements, np.zeros(placements.size), np.zeros(placements.size))
    worst = s.run(time_limit=None, mip_gap=0.0)
    assert worst.objective == pytest.approx(1_000_000, abs=1e-6)
    groups = scenario_groups(s, m, placements, {"base": 0.3, "high": 0.7})
    best, note = _neighbourhoods(s, placements, groups, worst, arrays, 0.0, lambda: None, [], 1.0)
    assert best.objective == pytest.approx(100, abs=1e-6)
    assert "2 scenarios, 4 runs in 2 passes" in note and "1e+06 -> 100" in note
    held = s.lp()
    assert held.lower[placements].tolist() == held.upper[placements].tolist() == [1.0, 1.0]


def test_relax_and_fix_with_two_scenarios_searches_their_neighbourhoods():
    """A greenfield site 'g' (fixed $500, $1,000 per MW in 1 MW blocks, up to 10 MW, free power)
    and the job of 20 PFLOPS in 'base' (p = 0.7) and 30 in 'high' (p = 0.3, training x 1.5):
    2 and 3 gpus. Build 3 MW ($3,500) and place it in both: 3,500 + 0.7 x 200 + 0.3 x 300 =
    $3,730; with 2 MW the job stays unplaced in 'high' (2,500 + 140 + 0.3 x $1 M), and
    unplaced everywhere costs $1 M. relax-and-fix finds $3,730 (as direct), and stage 2 ran
    its scenario neighbourhoods."""
    d = micro(sites=[site("g", "greenfield", options=[option("hall", capex=1000, fixed=500, max_mw=10, block=1)])],
              jobs=[{"id": "run", "compute_pflops": {"2026": 20}, "unplaced_cost_usd": 1e6}],
              scenarios=[{"id": "base", "probability": 0.7},
                         {"id": "high", "probability": 0.3, "training_scale": 1.5}])
    direct = solve_checked(d, strategy="direct", mip_gap=0.0)
    rf = solve_checked(d, strategy="relax-and-fix", mip_gap=0.0)
    assert direct.objective == pytest.approx(3730, abs=1e-6)
    assert rf.objective == pytest.approx(3730, abs=1e-6)
    assert "stage_neighbourhoods" in rf.seconds
    assert any("scenario neighbourhoods (2 scenarios" in msg for msg in rf.messages)
