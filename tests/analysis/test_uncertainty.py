"""Planning under uncertainty: VSS, EVPI, regret, CVaR and scenario generation.

The micro case (as in ``tests/model``): a convertible site, build $1000 per MW in 1-MW
blocks; each MW holds one free gpu serving 10 PFLOPS; one region of 50 PFLOPS, unserved
$150 per PFLOPS-year; one year, no discounting, free electricity. Scenario 'high' keeps
the 50 PFLOPS, 'low' scales it to 10; probability 0.5 each. Building B MW costs

    high: 1000 B + 150 max(0, 50 - 10 B)        low: 1000 B + 150 max(0, 10 - 10 B)

Every plan solved inside :func:`value_of_information` is re-checked by the independent
verifier (``verify_plan(inst, plan.tables, plan.expected_cost)``); the tests assert that
each plan was checked and that no violation was reported.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, micro, option, region, site, solve_checked, system

import optimizer
from optimizer import SolveOptions
from optimizer.analysis.scenarios import (
    DemandPath,
    load_regimes,
    regimes_from_data,
    sample_scenarios,
    scenario_product,
    write_instance,
)
from optimizer.analysis.uncertainty import (
    EXPECTED_VALUE,
    RISK_AVERSE,
    STOCHASTIC,
    value_of_information,
)
from optimizer.cli import main
from optimizer.instance.derive import prepare
from optimizer.instance.errors import InstanceError
from optimizer.instance.transforms import mean_scenario_instance, single_scenario
from optimizer.options import Risk
from optimizer.results.outcomes import cvar, scenario_outcomes

BUBBLE = ROOT / "instances" / "china-bubble.yaml"


def _case(*, must_serve: bool = False, scenarios=None) -> dict:
    extra = {"must_serve": True} if must_serve else {}
    scen = ([{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}]
            if scenarios is None else scenarios)
    return micro(sites=[site("mine", "convertible", options=[option(capex=1000)])],
                 systems=[system("gpu", price=0)], regions=[region("r", 50, penalty=150, **extra)], scenarios=scen)


def _inst(data: dict) -> optimizer.Instance:
    return optimizer.instance_from_dict(copy.deepcopy(data), "micro")


def _checked(rep) -> None:
    """Every solve that found a plan was verified, and the verifier found nothing."""
    assert rep.verified >= 1
    assert not any("verifier" in m for m in rep.messages), rep.messages


def _mw(rep, plan: str) -> list[float]:
    return rep.plans[plan].builds["it_mw"].tolist()


# ----------------------------------------------------------------------------- VSS, EVPI, regret
def test_vss_and_evpi_of_the_two_scenario_build():
    """RP: B = 1 gives high 7000, low 1000, expected 4000 (B = 0: 4500, B = 2: 4250,
    B = 5: 5000): the stochastic plan builds 1 MW, less than the 'high' forecast's 5 MW.

    EV: the mean scenario has demand 0.5 * 50 + 0.5 * 10 = 30; each MW saves 150 * 10 =
    1500 > 1000 up to 3 MW: EV plan 3 MW, EV = 3000. Fixed at 3 MW: high 3000 + 150 * 20
    = 6000, low 3000: EEV = 4500, so VSS = EEV - RP = 500.

    WS: high alone builds 5 MW (5000), low alone 1 MW (1000): WS = 3000, EVPI = RP - WS = 1000.

    Regret (cost in the column's scenario minus its optimum 5000 | 1000):
    forecast:high (5 MW) 0 | 4000; forecast:low (1 MW) 2000 | 0; EV plan (3 MW) 1000 | 2000;
    stochastic (1 MW) 2000 | 0. Expected regret = expected cost - WS (2000, 1000, 1500, 1000).
    """
    rep = value_of_information(_inst(_case()))
    _checked(rep)
    assert rep.status == "optimal"
    assert rep.rp == pytest.approx(4000, abs=1e-6)
    assert rep.ev == pytest.approx(3000, abs=1e-6)
    assert rep.eev == pytest.approx(4500, abs=1e-6)
    assert rep.vss == pytest.approx(500, abs=1e-6)
    assert rep.ws == pytest.approx(3000, abs=1e-6)
    assert rep.evpi == pytest.approx(1000, abs=1e-6)
    assert rep.scenario_optimum == pytest.approx({"high": 5000, "low": 1000})
    assert _mw(rep, STOCHASTIC) == [1.0] and _mw(rep, EXPECTED_VALUE) == [3.0]
    assert _mw(rep, "forecast:high") == [5.0] and _mw(rep, "forecast:low") == [1.0]
    regret = rep.regret_table()
    expected = {STOCHASTIC: (2000, 0), EXPECTED_VALUE: (1000, 2000), "forecast:high": (0, 4000), "forecast:low": (2000, 0)}
    for plan, (hi, lo) in expected.items():
        assert regret.loc[plan, "high"] == pytest.approx(hi, abs=1e-6)
        assert regret.loc[plan, "low"] == pytest.approx(lo, abs=1e-6)
    pt = rep.plans_table().set_index("plan")
    assert pt.loc["forecast:high", "expected_regret_usd"] == pytest.approx(2000, abs=1e-6)
    assert pt.loc[EXPECTED_VALUE, "expected_regret_usd"] == pytest.approx(1500, abs=1e-6)
    summary = rep.summary().set_index("quantity")["value_usd"]
    assert summary["VSS"] == pytest.approx(500) and summary["EVPI"] == pytest.approx(1000)
    text = rep.text()
    for word in ("RP", "EEV", "VSS", "WS", "EVPI", "regret"):
        assert word in text


def test_scenario_outcomes_cost_idle_and_unserved():
    """The stochastic plan (1 MW): high serves 10 of 50 (unserved 80 %), costs 1000 + 6000;
    low serves all 10, costs 1000. The 'high' forecast plan (5 MW) in 'low' keeps 4 of its
    5 MW idle (one busy gpu serves the 10 PFLOPS): idle capacity 80 %."""
    data = _case()
    plan = solve_checked(data)
    out = scenario_outcomes(plan).set_index("scenario")
    assert out.loc["high", "cost_usd"] == pytest.approx(7000) and out.loc["low", "cost_usd"] == pytest.approx(1000)
    assert out.loc["high", "unserved_pct"] == pytest.approx(80) and out.loc["low", "unserved_pct"] == pytest.approx(0)
    assert out.loc["high", "unserved_pflops_years"] == pytest.approx(40)
    assert out.loc["high", "idle_capacity_pct"] == pytest.approx(0) and out.loc["low", "idle_capacity_pct"] == pytest.approx(0)
    assert out["probability"].tolist() == [0.5, 0.5]
    rep = value_of_information(_inst(data), forecast_plans=True)
    o = rep.outcomes_table()
    row = o[(o["plan"] == "forecast:high") & (o["scenario"] == "low")].iloc[0]
    assert row["idle_capacity_pct"] == pytest.approx(80) and row["built_mw_years"] == pytest.approx(5)
    assert row["regret_usd"] == pytest.approx(4000)


def test_expected_value_plan_infeasible_in_a_scenario_is_reported():
    """Same case with must-serve demand. RP must build 5 MW (high needs 50 PFLOPS served):
    5000 in both scenarios, RP = 5000. WS = 0.5 * 5000 + 0.5 * 1000 = 3000, EVPI = 2000.
    The mean scenario (30 PFLOPS, must serve) builds 3 MW (EV = 3000), which cannot serve
    'high': EEV and VSS do not exist, and the report says where the plan fails."""
    rep = value_of_information(_inst(_case(must_serve=True)))
    _checked(rep)
    assert rep.rp == pytest.approx(5000, abs=1e-6) and _mw(rep, STOCHASTIC) == [5.0]
    assert rep.ws == pytest.approx(3000, abs=1e-6) and rep.evpi == pytest.approx(2000, abs=1e-6)
    assert rep.ev == pytest.approx(3000, abs=1e-6)
    assert rep.eev is None and rep.vss is None
    assert rep.plans[EXPECTED_VALUE].infeasible_in == ["high"]
    assert rep.plans["forecast:low"].infeasible_in == ["high"]
    assert any("infeasible" in m and "high" in m for m in rep.messages)
    assert "INFEASIBLE in high" in rep.text()


def test_cvar_weight_one_reproduces_the_worst_tail_plan():
    """CVaR at alpha 0.5 is the cost of the worst half of the probability mass: the 'high'
    scenario. Weight 1 minimises high's cost alone: build 5 MW, the 'high' forecast plan.
    Evaluated in both scenarios it costs 5000 each: expected 5000, so the price of risk
    aversion is 5000 - 4000 = 1000; its CVaR is 5000 against the stochastic plan's 7000
    (its high cost): a CVaR reduction of 2000. Weight 0 gives back the stochastic plan."""
    rep = value_of_information(_inst(_case()), risk=Risk(0.5, 1.0))
    _checked(rep)
    assert _mw(rep, RISK_AVERSE) == _mw(rep, "forecast:high") == [5.0]
    assert rep.plans[RISK_AVERSE].expected_cost == pytest.approx(5000, abs=1e-6)
    s = rep.summary().set_index("quantity")["value_usd"]
    assert s["PRA"] == pytest.approx(1000, abs=1e-6) and s["CVR"] == pytest.approx(2000, abs=1e-6)
    assert rep.plans_table().set_index("plan").loc[RISK_AVERSE, "cvar0.5_usd"] == pytest.approx(5000)
    neutral = value_of_information(_inst(_case()), risk=Risk(0.5, 0.0), forecast_plans=False)
    assert RISK_AVERSE not in neutral.plans and _mw(neutral, STOCHASTIC) == [1.0]


def test_cvar_of_a_discrete_distribution():
    """Worst half of {7000, 1000} at 0.5 each is 7000; alpha 0 is the mean; an atom on the
    boundary counts in part: {10 @ 0.2, 0 @ 0.8} at alpha 0.5 -> (0.2 * 10 + 0.3 * 0) / 0.5 = 4."""
    assert cvar([7000, 1000], [0.5, 0.5], 0.5) == pytest.approx(7000)
    assert cvar([7000, 1000], [0.5, 0.5], 0.0) == pytest.approx(4000)
    assert cvar([7000, 1000], [0.5, 0.5], 0.9) == pytest.approx(7000)
    assert cvar([10, 0], [0.2, 0.8], 0.5) == pytest.approx(4)


def test_deterministic_instance_has_no_value_of_information():
    """Without scenarios every plan is the same plan: VSS = EVPI = 0 (one scenario 'base')."""
    data = _case(scenarios=[])
    inst = _inst(data)
    assert single_scenario(inst, "base") is inst and mean_scenario_instance(inst) is inst
    rep = value_of_information(inst)
    _checked(rep)
    assert rep.rp == pytest.approx(5000) and rep.vss == pytest.approx(0, abs=1e-9) and rep.evpi == pytest.approx(0, abs=1e-9)
    assert rep.scenarios == [("base", 1.0)]


# ----------------------------------------------------------------------------- the mean scenario
def test_mean_scenario_averages_demand_prices_jobs_and_takes_the_likeliest_policies():
    """Three scenarios (p 0.2, 0.5, 0.3): demand x0.5 / x1 / x2 of 10 -> mean 0.2*5 + 0.5*10 +
    0.3*20 = 12; electricity x1 / x2 / x1 of 100 -> 150; job x0 / x1 / x1 -> 0.8; gpu price
    x1 / x1 / x3 -> 1.6. Policies: those of 'mid' (p 0.5), the gpu ban."""
    ban = {"export_rules": [{"system": "gpu", "jurisdiction": "US", "action": "ban"}]}
    data = micro(sites=[site("s1", price=100)], systems=[system("gpu"), system("npu", origin="CN", family="cann")],
                 regions=[region("r", 10)], jobs=[{"id": "j", "compute_pflops": {"2026": 5}}],
                 scenarios=[{"id": "low", "probability": 0.2, "demand_scale": 0.5, "job_scale": {"j": 0}},
                            {"id": "mid", "probability": 0.5, "electricity_price_scale": 2, "policies": ban},
                            {"id": "high", "probability": 0.3, "demand_scale": 2, "system_price_scale": {"gpu": 3}}])
    mean = mean_scenario_instance(_inst(data))
    assert [w.id for w in mean.scenarios] == ["mean"] and mean.scenarios[0].probability == 1.0
    w = prepare(mean).scenarios[0]
    assert w.demand["r", "2026"] == pytest.approx(12)
    assert w.price_mwh["s1", "2026"] == pytest.approx(150)
    assert w.job_compute["j"]["2026"] == pytest.approx(4)
    assert w.unit_price["gpu", "2026"] == pytest.approx(160)
    assert w.policies.export_rules[0].system == "gpu"
    tie = copy.deepcopy(data)
    tie["scenarios"][0]["probability"] = 0.4  # low and mid tie at 0.4: the first listed (low, no override) wins
    tie["scenarios"][1]["probability"] = 0.4
    tie["scenarios"][2]["probability"] = 0.2
    assert mean_scenario_instance(_inst(tie)).scenarios[0].policies is None


# ----------------------------------------------------------------------------- scenario generation
REGIMES = [
    {"id": "h20-allowed", "probability": 0.2, "description": "licensable, 15 % fee",
     "policies": {"export_rules": [{"system": "gpu", "jurisdiction": "CN", "action": "premium", "premium_share": 0.15}]}},
    {"id": "h20-banned", "probability": 0.5,
     "policies": {"export_rules": [{"system": "gpu", "jurisdiction": "CN", "action": "ban"}]}},
    {"id": "h20-boycotted", "probability": 0.3,
     "policies": {"export_rules": [{"system": "gpu", "jurisdiction": "CN", "action": "ban", "periods": ["2027"]}]}},
]


def _base() -> optimizer.Instance:
    return _inst(micro(periods=("2026", "2027"), sites=[site("s1")],
                       systems=[system("gpu"), system("npu", origin="CN", family="cann")],
                       regions=[region("r", {"2026": 10, "2027": 30}), region("q", 5)],
                       jobs=[{"id": "j", "compute_pflops": {"2027": 5}}]))


def test_product_of_demand_paths_and_policy_regimes():
    """3 demand paths x 3 regimes = 9 scenarios; probability of 'low-h20-banned' = 0.3 * 0.5."""
    paths = DemandPath.parse_list("low=0.2:0.3,base=1:0.5,high=3:0.2")
    inst = scenario_product(_base(), paths, regimes_from_data(REGIMES))
    assert len(inst.scenarios) == 9
    prob = {w.id: w.probability for w in inst.scenarios}
    assert prob["low-h20-banned"] == pytest.approx(0.15) and prob["high-h20-allowed"] == pytest.approx(0.04)
    assert sum(prob.values()) == pytest.approx(1.0, abs=1e-12)
    by = {w.id: w for w in inst.scenarios}
    assert by["high-h20-boycotted"].demand_scale == 3 and by["high-h20-boycotted"].policies.export_rules[0].periods == ["2027"]
    assert by["base-h20-allowed"].policies.export_rules[0].action == "premium"
    w = {s.id: s for s in prepare(inst).scenarios}
    assert w["low-h20-banned"].demand["r", "2027"] == pytest.approx(6)
    assert ("s1", "gpu", "2026") in w["low-h20-banned"].banned and ("s1", "gpu", "2026") not in w["low-h20-boycotted"].banned
    only_demand = scenario_product(_base(), paths)
    assert [s.id for s in only_demand.scenarios] == ["low", "base", "high"]
    only_regimes = scenario_product(_base(), regimes=regimes_from_data({"regimes": {r["id"]: r for r in REGIMES}}))
    assert [s.probability for s in only_regimes.scenarios] == [0.2, 0.5, 0.3]


def test_growth_paths_keep_todays_demand_and_training_option():
    """Growth x0.5 on r = {10, 30}: 2026 stays 10, 2027 = 10 + 0.5 * 20 = 20; q is flat (5, 5).
    with_training scales the job by the same factor."""
    inst = scenario_product(_base(), [DemandPath("slow", 0.5, 1.0)], growth=True, with_training=True)
    w = prepare(inst).scenarios[0]
    assert w.demand["r", "2026"] == pytest.approx(10) and w.demand["r", "2027"] == pytest.approx(20)
    assert w.demand["q", "2027"] == pytest.approx(5)
    assert w.job_compute["j"]["2027"] == pytest.approx(2.5)


def test_scenario_generation_rejects_bad_probabilities_and_demand_in_regimes():
    with pytest.raises(ValueError, match="sum to"):
        scenario_product(_base(), DemandPath.parse_list("a=1:0.5,b=2:0.4"))
    with pytest.raises(ValueError, match="NAME=FACTOR:PROBABILITY"):
        DemandPath.parse_list("a=1")
    with pytest.raises(InstanceError, match="demand belongs to the demand paths"):
        regimes_from_data([{"id": "x", "probability": 1, "demand_scale": 2}])
    with pytest.raises(InstanceError):  # an unknown system in a regime's rule is caught at its scenario path
        scenario_product(_base(), regimes=regimes_from_data([{"id": "x", "probability": 1, "policies": {
            "export_rules": [{"system": "nope", "jurisdiction": "CN", "action": "ban"}]}}]))


def test_monte_carlo_samples_are_seeded_and_equally_likely():
    """N samples of probability 1/N; the same seed repeats them, another seed does not;
    lognormal factors of mean 1 (400 samples, sigma 0.5: sample mean within 0.1 of 1);
    regimes drawn by probability."""
    base = _base()
    a = sample_scenarios(base, 20, seed=7)
    b = sample_scenarios(base, 20, seed=7)
    c = sample_scenarios(base, 20, seed=8)
    assert len(a.scenarios) == 20 and all(w.probability == pytest.approx(0.05) for w in a.scenarios)
    assert a.model_dump() == b.model_dump() and a.model_dump() != c.model_dump()
    flat = sample_scenarios(base, 3, sigma=0.0)
    assert all(w.region_demand_scale == {} and w.demand_scale == 1.0 for w in flat.scenarios)
    many = sample_scenarios(base, 400, seed=1, sigma=0.5, regimes=regimes_from_data(REGIMES))
    f = [w.region_demand_scale.get("r", 1.0) for w in many.scenarios]
    assert sum(f) / len(f) == pytest.approx(1.0, abs=0.1)
    drawn = [w.description.split("regime ")[1] for w in many.scenarios]
    assert 40 < drawn.count("h20-allowed") < 120 and 150 < drawn.count("h20-banned") < 250


def test_generated_instance_round_trips_through_yaml(tmp_path):
    inst = scenario_product(_base(), DemandPath.parse_list("low=0.2:0.5,high=3:0.5"), regimes_from_data(REGIMES))
    path = write_instance(inst, tmp_path / "g.yaml", header="generated")
    again = optimizer.load_instance(path)
    assert again.model_dump() == inst.model_dump()
    with pytest.raises(FileExistsError):
        write_instance(inst, path)
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"regimes": REGIMES}))
    assert [r.id for r in load_regimes(tmp_path / "r.yaml")] == ["h20-allowed", "h20-banned", "h20-boycotted"]


# ----------------------------------------------------------------------------- example instance
def test_china_bubble_hedges_against_the_boom_forecast():
    """china-bubble solves to optimality in seconds; the stochastic plan builds no western
    training campus, the boom-only forecast plan does; both VSS and EVPI are positive and
    the stochastic plan's expected cost is below the forecast plan's."""
    inst = optimizer.load_instance(BUBBLE)
    rep = value_of_information(inst, options=SolveOptions(mip_gap=1e-4))
    _checked(rep)
    assert rep.status == "optimal" and rep.max_mip_gap <= 1e-4
    west = {s.id for s in inst.sites if s.jurisdiction == "CN-west"}
    b_sp, b_boom = rep.plans[STOCHASTIC].builds, rep.plans["forecast:boom"].builds
    assert b_sp[b_sp["site"].isin(west)]["it_mw"].sum() == 0
    assert b_boom[b_boom["site"].isin(west)]["it_mw"].sum() > 0
    assert rep.vss > 0 and rep.evpi > 0
    assert rep.plans[STOCHASTIC].expected_cost < rep.plans["forecast:boom"].expected_cost


# ----------------------------------------------------------------------------- command line
def run(*args: str) -> subprocess.CompletedProcess:
    """The real entry point (``python -m optimizer``), in a subprocess."""
    return subprocess.run([sys.executable, "-m", "optimizer", *args], check=False, capture_output=True, text=True,
                          cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)


def test_cli_uncertainty_prints_and_writes_the_analysis(tmp_path, capsys):
    f = tmp_path / "m.yaml"
    f.write_text(yaml.safe_dump(_case()))
    out = tmp_path / "u"
    r = run("uncertainty", str(f), "--out", str(out), "--risk", "cvar:0.5:1")
    assert r.returncode == 0, r.stderr
    assert "VSS" in r.stdout and "EVPI" in r.stdout and "risk-averse" in r.stdout
    for name in ("summary.csv", "plans.csv", "outcomes.csv", "regret.csv", "builds.csv", "report.json", "report.txt"):
        assert (out / name).exists()
    rep = json.loads((out / "report.json").read_text())
    assert rep["vss"] == pytest.approx(500) and rep["evpi"] == pytest.approx(1000)
    assert main(["uncertainty", str(f), "--out", str(out)]) == 5
    assert main(["uncertainty", str(f), "--risk", "cvar:2:1"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(micro(sites=[site("s1", it_mw=1)], regions=[region("r", 25, must_serve=True)])))
    assert main(["uncertainty", str(bad)]) == 3
    assert "Traceback" not in capsys.readouterr().err


def test_cli_scenarios_writes_a_valid_instance(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(micro(periods=("2026", "2027"),
                                         systems=[system("gpu"), system("npu", origin="CN", family="cann")],
                                         regions=[region("r", 10)])))
    (tmp_path / "regimes.yaml").write_text(yaml.safe_dump({"regimes": REGIMES}))
    out = tmp_path / "out.yaml"
    r = run("scenarios", str(base), str(out), "--demand", "low=0.2:0.3,base=1:0.5,high=3:0.2",
            "--regimes", str(tmp_path / "regimes.yaml"))
    assert r.returncode == 0, r.stderr
    assert len(optimizer.load_instance(out).scenarios) == 9
    assert main(["scenarios", str(base), str(out), "--demand", "a=1:1"]) == 5
    assert main(["scenarios", str(base), str(out), "--sample", "12", "--seed", "3", "--overwrite"]) == 0
    assert len(optimizer.load_instance(out).scenarios) == 12
    assert main(["scenarios", str(base), str(tmp_path / "x.yaml"), "--demand", "a=1:0.5"]) == 2
    assert main(["scenarios", str(base), str(tmp_path / "x.yaml"), "--demand", "a=1:1", "--sample", "3"]) == 2
    assert main(["scenarios", str(base), str(tmp_path / "x.yaml"), "--regimes", str(tmp_path / "none.yaml")]) == 2


def test_cli_scenarios_writes_the_format_its_suffix_names(tmp_path, capsys):
    """``OUT.json`` gets JSON (it once got YAML, which ``load_instance`` rejects as malformed JSON),
    ``.xlsx`` a workbook; a suffix that names no instance file is a usage error and writes nothing."""
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(micro(regions=[region("r", 10)])))
    for name in ("out.json", "out.xlsx", "out.yml"):
        out = tmp_path / name
        assert main(["scenarios", str(base), str(out), "--sample", "4", "--seed", "2"]) == 0
        assert len(optimizer.load_instance(out).scenarios) == 4
    assert json.loads((tmp_path / "out.json").read_text())["name"] == "micro"
    assert (tmp_path / "out.yml").read_text().startswith("#")
    for name in ("out.txt", "folder"):
        assert main(["scenarios", str(base), str(tmp_path / name), "--sample", "4"]) == 2
        assert not (tmp_path / name).exists()
    assert "name it .yaml, .yml, .json or .xlsx" in capsys.readouterr().err
