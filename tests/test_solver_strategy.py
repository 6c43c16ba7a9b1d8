"""``SolveOptions.strategy``: fix-and-optimize gives the same optimum as direct, honest bounds,
the verifier's approval, and a clear refusal of unknown names (optimizer/solver/strategy.py).
No timing here: benchmarks/strategy.py measures."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, micro, option, region, site, solve_checked, system

sys.path.insert(0, str(Path(__file__).parent / "model"))
from model_cases import ramp_case  # noqa: E402

import optimizer  # noqa: E402
from optimizer.cli import main  # noqa: E402
from optimizer.options import STRATEGIES, SolveOptions  # noqa: E402
from optimizer.solver.strategy import round_sites  # noqa: E402

QUICK = str(ROOT / "instances" / "quickstart.yaml")
RAMP = {"2026": 10, "2027": 10, "2028": 30}  # as in tests/model/test_model_phases.py


def _sites_case() -> dict:
    """Four greenfield sites of different fixed and per-MW costs and prices, one must-serve
    region of 25 MW: the optimum opens a mix the LP spreads fractionally."""
    sites = [site(f"g{i}", "greenfield", price=price, grid=40.0,
                  options=[option("hall", capex=capex, fixed=fixed, max_mw=max_mw, block=1.0)])
             for i, (price, capex, fixed, max_mw) in enumerate([(30, 900, 9000, 12), (50, 700, 4000, 9),
                                                                 (20, 1200, 15000, 20), (60, 500, 2500, 6)])]
    return micro(periods=("2026", "2027"), sites=sites, systems=[system("gpu", price=50.0)],
                 regions=[region("r", {"2026": 150.0, "2027": 250.0}, must_serve=True)])


CASES = {
    "sites": _sites_case,
    "phases": lambda: ramp_case(RAMP, max_phases=2),
    "one-phase": lambda: ramp_case(RAMP, max_phases=1, fom=0, rate=0.25),
}


@pytest.mark.parametrize("strategy", ["fix-and-optimize", "relax-and-fix"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_strategy_finds_the_direct_optimum_and_the_verifier_accepts_it(name, strategy):
    data = CASES[name]()
    direct = solve_checked(data, strategy="direct", mip_gap=0.0)
    fo = solve_checked(data, strategy=strategy, mip_gap=0.0)
    assert fo.objective == pytest.approx(direct.objective, rel=1e-7, abs=1e-6)
    assert fo.best_bound is not None and fo.best_bound <= fo.objective + 1e-6 * max(1.0, abs(fo.objective))
    assert any(strategy in m for m in fo.messages)
    assert fo.options.as_dict()["strategy"] == strategy


def test_fix_and_optimize_on_quickstart_matches_direct():
    direct = optimizer.solve(QUICK, SolveOptions(strategy="direct", verify=True))
    fo = optimizer.solve(QUICK, SolveOptions(strategy="fix-and-optimize", verify=True))
    assert fo.status == direct.status == "optimal"
    assert fo.objective == pytest.approx(direct.objective, rel=1e-6)
    assert fo.best_bound is not None and fo.best_bound <= fo.objective * (1 + 1e-9)
    assert any("verifier: plan re-checked" in m for m in fo.messages)
    # the history has the LP bound, the restricted plan and the end; the bound never exceeds the plan
    assert fo.progress and all(p["bound"] is None or p["incumbent"] is None or p["bound"] <= p["incumbent"] * (1 + 1e-9)
                               for p in fo.progress)
    for key in ("lp_relaxation", "restricted_mip", "full_mip"):
        assert key in fo.seconds


def test_auto_is_direct_on_a_small_model():
    """quickstart has far fewer than 2,000 integer columns: auto runs direct, with or without a limit."""
    for limit in (None, 60.0):
        plan = optimizer.solve(QUICK, SolveOptions(time_limit=limit))
        assert plan.options.strategy == "auto"
        assert not any("fix-and-optimize" in m or "relax-and-fix" in m for m in plan.messages)
        assert "lp_relaxation" not in plan.seconds and "stage_sites" not in plan.seconds


class _Columns:
    """A stand-in for a HighsSession: only its integer columns matter to resolve_strategy."""

    def __init__(self, n: int) -> None:
        self.n = n

    def integer_columns(self) -> np.ndarray:
        return np.arange(self.n)


def test_auto_runs_relax_and_fix_from_2000_integer_columns_under_a_time_limit_of_60_s():
    from optimizer.solver.strategy import AUTO_RELAX_FIX_INTEGERS, resolve_strategy

    assert AUTO_RELAX_FIX_INTEGERS == 2_000
    assert resolve_strategy("auto", _Columns(2_000), 600.0) == "relax-and-fix"
    assert resolve_strategy("auto", _Columns(2_000), 60.0) == "relax-and-fix"
    assert resolve_strategy("auto", _Columns(50_000), 59.0) == "direct"  # too short for the stages
    assert resolve_strategy("auto", _Columns(1_999), 600.0) == "direct"
    assert resolve_strategy("auto", _Columns(50_000), None) == "direct"  # no limit: no time shares
    assert resolve_strategy("direct", _Columns(50_000), 600.0) == "direct"
    assert resolve_strategy("fix-and-optimize", _Columns(10), None) == "fix-and-optimize"
    assert resolve_strategy("relax-and-fix", _Columns(0), 600.0) == "direct"  # an LP


def test_a_stop_before_the_full_mip_keeps_the_restricted_plan_with_the_lp_bound(monkeypatch):
    """Ctrl-C during the restricted MIP: the plan is the restricted one, the bound the LP's
    (valid for the whole model), the status feasible; the signal handlers are restored."""
    import optimizer.solver.strategy as strategy

    real = strategy._stages

    def stop_after_stages(*args, **kwargs):
        out = real(*args, **kwargs)
        args[6].append("Ctrl-C")  # the interrupted flag, as the signal handler sets it
        return out

    monkeypatch.setattr(strategy, "_stages", stop_after_stages)
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    plan = optimizer.solve(optimizer.instance_from_dict(_sites_case(), "micro"),
                           SolveOptions(strategy="fix-and-optimize", mip_gap=0.0, verify=True))
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert plan.status == "feasible" and plan.solver_status == "Interrupted by user"
    assert "full_mip" not in plan.seconds
    assert plan.best_bound is not None and plan.best_bound <= plan.objective
    assert any(m.startswith("interrupted (Ctrl-C)") for m in plan.messages)
    assert any("verifier: plan re-checked" in m for m in plan.messages)


def test_rounding_opens_what_the_lp_pays_for_one_build_per_site():
    keys = [("build", "a", ("a", "x")), ("build", "a", ("a", "y")), ("build", "b", ("b", "x")),
            ("build", "c", ("c", "x")), ("expand", "a", ("a", "x")), ("expand", "b", ("b", "x"))]
    values = np.array([0.6, 0.55, 0.3, 0.2, 0.7, 0.9])
    # target ceil(0.6 + 0.55 + 0.3 + 0.2) = 2 builds: a/x (>= 0.5; a/y is the same site), then b (largest left)
    assert round_sites(values, keys).tolist() == [1, 0, 1, 0, 1, 1]
    assert round_sites(np.zeros(6), keys).tolist() == [0] * 6
    # a phase is opened only where its site and option are built
    assert round_sites(np.array([0.0, 0.0, 0.0, 0.0, 0.9, 0.9]), keys).tolist() == [0] * 6
    # partial: open at >= 0.5, close at 0, leave the rest free (NaN)
    partial = round_sites(np.array([0.6, 0.0, 0.3, 0.2, 0.7, 0.0]), keys, "partial")
    assert np.isnan(partial[[2, 3]]).all() and partial[[0, 1, 4, 5]].tolist() == [1, 0, 1, 0]


def test_partial_rounding_finds_the_direct_optimum(monkeypatch):
    import optimizer.solver.strategy as strategy

    monkeypatch.setattr(strategy, "ROUNDING", "partial")
    data = _sites_case()
    direct = solve_checked(data, strategy="direct", mip_gap=0.0)
    assert solve_checked(data, strategy="fix-and-optimize", mip_gap=0.0).objective == pytest.approx(direct.objective)


@pytest.mark.parametrize("bad", ["", "Direct", "fix_and_optimize", "greedy"])
def test_unknown_strategies_are_refused(bad):
    with pytest.raises(ValueError, match="strategy must be one of auto, direct, fix-and-optimize"):
        SolveOptions(strategy=bad)


def test_the_cli_refuses_an_unknown_strategy_with_exit_2(capsys):
    assert main(["solve", QUICK, "--strategy", "greedy"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "strategy must be one of auto, direct, fix-and-optimize, relax-and-fix, not 'greedy'" in err


def test_every_command_with_solve_options_documents_strategy(capsys):
    for command in ("solve", "sweep", "marginal", "explain", "uncertainty", "hedge"):
        try:
            main([command, "--help"])
        except SystemExit:
            pass
        out = " ".join(capsys.readouterr().out.split())
        assert "--strategy " + "|".join(STRATEGIES) in out, command


def test_the_cli_passes_the_strategy(capsys):
    assert main(["solve", QUICK, "--strategy", "fix-and-optimize", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("optimal ")
