"""Progressive hedging (scenario decomposition) on the micro case of ``test_uncertainty``.

A convertible site, build $1000 per MW in 1-MW blocks; each MW holds one free gpu serving
10 PFLOPS; one region of 50 PFLOPS, unserved $150 per PFLOPS-year; scenario 'high' keeps the
50 PFLOPS, 'low' scales it to 10, probability 0.5 each. Building B MW costs

    high: 1000 B + 150 max(0, 50 - 10 B)        low: 1000 B + 150 max(0, 10 - 10 B)

The extensive form's optimum (RP) is B = 1 at 4000; with must-serve demand B = 5 at 5000.
The plans that progressive hedging returns are re-planned per scenario through
:func:`optimizer.solve` and re-checked by the independent verifier.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_uncertainty import _case, _inst

from optimizer import SolveOptions
from optimizer.analysis.hedging import HedgingOptions, progressive_hedging
from optimizer.cli import main


def test_hedging_reaches_the_stochastic_plan():
    """Iteration 0 solves each scenario alone: high builds 5 MW (5000), low 1 MW (1000), so
    the first lower bound is WS = 0.5 * 5000 + 0.5 * 1000 = 3000. Their mean is 3 MW; built
    alone it costs high 3000 + 150 * 20 = 6000, low 3000: expected 4500, the first upper bound.
    The prices then move both scenarios to B = 1 (the RP plan): high 1000 + 150 * 40 = 7000,
    low 1000, expected 4000, and the Lagrangian bound lies in [3000, 4000].
    """
    res = progressive_hedging(_inst(_case()), SolveOptions(mip_gap=1e-6))
    assert res.status == "feasible"  # the plan is the optimum, but the Lagrangian bound stays below it
    assert res.converged and res.iterations.iloc[-1]["candidate"] == "consensus"
    assert res.upper_bound == pytest.approx(4000, abs=1e-6)
    assert res.builds["it_mw"].tolist() == [1.0]
    first = res.iterations.iloc[0]
    assert first["lower_bound_usd"] == pytest.approx(3000, abs=1e-6)
    assert first["candidate_cost_usd"] == pytest.approx(4500, abs=1e-6)
    assert first["candidate"] == "rounded mean" and first["sites_disagreeing"] == 1
    # the lower bound is the Lagrangian at the reported prices (v per build, w per block):
    # sum_w 0.5 min_{B in 0..10} [cost_w(B) + v_w [B >= 1] + w_w B], prices summing to zero
    pr = res.prices.set_index("scenario")
    v, w = pr["price_build_usd"], pr["price_block_usd"]
    assert v.sum() == pytest.approx(0, abs=1e-6) and w.sum() == pytest.approx(0, abs=1e-6)
    demand = {"high": 50, "low": 10}
    lagrangian = sum(0.5 * min(1000 * b + 150 * max(0, demand[s] - 10 * b) + (v[s] if b else 0) + w[s] * b
                               for b in range(11)) for s in demand)
    assert res.lower_bound == pytest.approx(lagrangian, abs=1e-6)
    assert res.lower_bound > 3000  # the prices improved on wait-and-see
    assert res.gap == pytest.approx((4000 - res.lower_bound) / 4000)
    o = res.best.outcomes.set_index("scenario")
    assert o.loc["high", "cost_usd"] == pytest.approx(7000, abs=1e-6)
    assert o.loc["low", "cost_usd"] == pytest.approx(1000, abs=1e-6)
    assert o.loc["high", "unserved_pct"] == pytest.approx(80.0)
    assert not res.best.infeasible_in
    assert not any("verifier" in m for m in res.messages), res.messages


def test_hedging_with_must_serve_demand_builds_for_the_high_scenario():
    """Must-serve: every plan needs 5 MW for 'high' (50 PFLOPS). The mean (3 MW) is infeasible
    there, so no upper bound exists until the scenarios agree on 5 MW: 5000 in both, RP 5000."""
    res = progressive_hedging(_inst(_case(must_serve=True)), SolveOptions(mip_gap=1e-6))
    assert res.converged and res.status == "feasible"
    assert res.upper_bound == pytest.approx(5000, abs=1e-6)
    assert res.builds["it_mw"].tolist() == [5.0]
    assert res.iterations.iloc[0]["candidate_cost_usd"] != res.iterations.iloc[0]["candidate_cost_usd"]  # NaN: infeasible
    assert 3000 - 1e-6 <= res.lower_bound <= 5000 + 1e-6


def test_hedging_iteration_limit_keeps_the_best_plan_found():
    """With no iterations after the first, the only candidate is the rounded mean (3 MW, 4500):
    an honest 'feasible' with the gap to WS, (4500 - 3000) / 4500."""
    res = progressive_hedging(_inst(_case()), SolveOptions(mip_gap=1e-6), HedgingOptions(max_iterations=0))
    assert res.status == "feasible" and not res.converged
    assert res.upper_bound == pytest.approx(4500, abs=1e-6)
    assert res.lower_bound == pytest.approx(3000, abs=1e-6)
    assert res.gap == pytest.approx(1500 / 4500)
    assert any("iteration limit" in m for m in res.messages)


def test_hedging_reports_a_scenario_without_any_plan():
    """Demand 'high' must be served but the site holds at most 10 MW = 100 PFLOPS; scaled x3
    (150 PFLOPS) it cannot be: infeasible, and the scenario is named."""
    data = _case(must_serve=True, scenarios=[{"id": "high", "probability": 0.5, "demand_scale": 3.0},
                                             {"id": "low", "probability": 0.5, "demand_scale": 0.2}])
    res = progressive_hedging(_inst(data), SolveOptions(mip_gap=1e-6))
    assert res.status == "infeasible" and res.best is None
    assert any("high" in m for m in res.messages), res.messages


def test_hedging_costs_in_millions_give_the_same_plan():
    """Every cost x 1e6 (build $1e9 per MW, unserved $1.5e8 per PFLOPS-year): HiGHS sees the
    objective scaled by 1e-5 (largest coefficient 1e9 -> 1e4); the plan is the same and every
    number scales: 4e9 expected, first candidate 4.5e9, first bound 3e9."""
    data = _case()
    data["sites"][0]["build_options"][0]["capex_usd_per_mw"] = 1000 * 1e6
    data["regions"][0]["unserved_penalty_usd_per_pflops_year"] = 150 * 1e6
    res = progressive_hedging(_inst(data), SolveOptions(mip_gap=1e-6))
    assert res.upper_bound == pytest.approx(4e9, rel=1e-9)
    assert res.builds["it_mw"].tolist() == [1.0]
    assert res.iterations.iloc[0]["candidate_cost_usd"] == pytest.approx(4.5e9, rel=1e-9)
    assert res.iterations.iloc[0]["lower_bound_usd"] == pytest.approx(3e9, rel=1e-9)


def test_hedging_after_a_solve_with_other_threads():
    """A solve with 1 thread first sizes HiGHS's thread pool; hedging with 2 must still run."""
    import optimizer

    optimizer.solve(_inst(_case()), optimizer.SolveOptions(threads=1))
    res = progressive_hedging(_inst(_case()), SolveOptions(mip_gap=1e-6, threads=2))
    assert res.upper_bound == pytest.approx(4000, abs=1e-6)


def test_hedging_options_are_checked():
    with pytest.raises(ValueError):
        SolveOptions(time_limit=0)
    with pytest.raises(ValueError):
        progressive_hedging(_inst(_case()), SolveOptions(mip_gap=0))
    with pytest.raises(ValueError):
        HedgingOptions(rho_factor=-1)


def test_hedge_command(tmp_path, capsys):
    """`dcplan hedge` prints the agreed builds and writes its tables; exit 0."""
    import yaml

    f = tmp_path / "case.yaml"
    f.write_text(yaml.safe_dump(_case()))
    out = tmp_path / "ph"
    assert main(["hedge", str(f), "--mip-gap", "1e-6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "progressive hedging" in text and "4.00 k USD" in text
    assert {p.name for p in out.iterdir()} == {"summary.json", "iterations.csv", "builds.csv", "outcomes.csv", "report.txt"}
    assert main(["hedge", str(f), "--out", str(out)]) == 5  # exists: not overwritten
    assert main(["hedge", str(f), "--rho", "-1"]) == 2


def _three_scenarios():
    """The micro case with a third scenario 'mid' (demand x0.6 = 30 PFLOPS): 0.4 high, 0.2 mid, 0.4 low."""
    return _case(scenarios=[{"id": "high", "probability": 0.4}, {"id": "mid", "probability": 0.2, "demand_scale": 0.6},
                            {"id": "low", "probability": 0.4, "demand_scale": 0.2}])


def test_hedging_on_dask_workers_is_the_serial_run():
    """The scenario models on two Dask workers (one holds 'high' and 'low', the other 'mid';
    reached by the scheduler's address, as a remote cluster would be) give the serial run's
    iterations, bounds and plan. The extensive form of three scenarios, B MW built:
    0.4 (1000 B + 150 max(0, 50 - 10 B)) + 0.2 (1000 B + 150 max(0, 30 - 10 B)) + 0.4 (1000 B
    + 150 max(0, 10 - 10 B)): each MW costs 1000 and saves 1500 of unserved demand in 'high'
    (0.4 * 1500 = 600) while B < 5, in 'mid' 0.2 * 1500 = 300 while B < 3, in 'low' 600 while B < 1;
    so B = 1 (saves 1500 > 1000), the second MW saves only 900 < 1000: the optimum is B = 1 at
    0.4 (1000 + 6000) + 0.2 (1000 + 3000) + 0.4 * 1000 = 2800 + 800 + 400 = 4000."""
    from distributed import LocalCluster

    inst = _inst(_three_scenarios())
    so = SolveOptions(mip_gap=1e-6, threads=1)
    serial = progressive_hedging(inst, so)
    with LocalCluster(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        dask = progressive_hedging(inst, so, HedgingOptions(executor="dask", scheduler=cluster.scheduler_address))
    for res in (serial, dask):
        assert res.upper_bound == pytest.approx(4000, abs=1e-6)
        assert res.builds["it_mw"].tolist() == [1.0]
        assert not res.best.infeasible_in
        assert not any("verifier" in m for m in res.messages), res.messages
    cols = [c for c in serial.iterations.columns if c != "seconds"]
    pd.testing.assert_frame_equal(serial.iterations[cols], dask.iterations[cols])
    assert dask.lower_bound == pytest.approx(serial.lower_bound, rel=1e-12) and dask.solves == serial.solves
    assert dask.to_dict()["options"]["executor"] == "dask"
    assert dask.to_dict()["options"]["scheduler"] == cluster.scheduler_address


def test_hedge_command_on_a_local_dask_cluster(tmp_path, capsys):
    """`dcplan hedge --executor dask --workers 2` starts a local cluster of two processes and
    gives the plan of the serial run (B = 1 at 4000); --scheduler without dask is refused."""
    import yaml

    f = tmp_path / "case.yaml"
    f.write_text(yaml.safe_dump(_three_scenarios()))
    assert main(["hedge", str(f), "--mip-gap", "1e-6", "--executor", "dask", "--workers", "2", "--threads", "1"]) == 0
    assert "4.00 k USD" in capsys.readouterr().out
    assert main(["hedge", str(f), "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "--scheduler needs --executor dask" in capsys.readouterr().err


def test_hedge_progress_lines(tmp_path, capsys):
    """--progress prints one line per iteration to stderr: iteration 0's bounds are WS = 3000
    and the rounded mean's 4500 (see the first test), the last line the final 4000."""
    import yaml

    f = tmp_path / "case.yaml"
    f.write_text(yaml.safe_dump(_case()))
    assert main(["hedge", str(f), "--mip-gap", "1e-6", "--progress"]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("progress")]
    assert len(lines) >= 2
    assert "plan 4.500 k USD" in lines[0] and "bound 3.000 k USD" in lines[0]
    assert "plan 4.000 k USD" in lines[-1]
