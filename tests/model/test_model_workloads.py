"""Micro instances of the model family workloads: training placement, inference routing, latency, residency, unserved demand,
scenarios (optimizer/model/workloads.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
(one period of one year, one system 'gpu', an existing 100 MW site) is described in
``tests/model/model_cases.py``. Every plan is re-checked by the verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import MWY, two_vendor

import optimizer

pytestmark = pytest.mark.family("workloads")


def test_ban_moves_a_training_job_to_another_family():
    """A 10-PFLOPS job. cann delivers 50 % of nominal training FLOPS.

    No ban: one gpu (cuda) = 100. With gpus banned in CN the job moves to cann and needs
    10 / (10 * 0.5) = 2 npus at $100 = 200.
    """
    base = micro(systems=[system("gpu"), system("npu", origin="CN", family="cann")],
                 jobs=[{"id": "run", "compute_pflops": {"2026": 10}, "unplaced_cost_usd": 1e6}])
    plan = solve_checked(base)
    assert plan.objective == pytest.approx(100, abs=1e-6)
    assert plan.tables["training"]["family"].tolist() == ["cuda"]
    base["policies"] = {"export_rules": [{"system": "gpu", "jurisdiction": "CN", "action": "ban"}]}
    plan = solve_checked(base)
    assert plan.objective == pytest.approx(200, abs=1e-6)
    assert plan.tables["training"]["family"].tolist() == ["cann"]


def test_training_job_is_never_split():
    """Two existing sites of 1 MW each (one gpu each); a job needs 20 PFLOPS (two gpus).

    It cannot be split over the sites, so it stays unplaced at its cost of $5,000.
    """
    d = micro(sites=[site("a", it_mw=1), site("b", it_mw=1)],
              jobs=[{"id": "big", "compute_pflops": {"2026": 20}, "unplaced_cost_usd": 5000}])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(5000, abs=1e-6)
    assert plan.tables["training"]["placed"].tolist() == [False]


def test_a_job_has_no_assignment_at_a_site_too_small_for_it():
    """Site 'a' (1 MW IT, free power) holds at most one gpu: 10 PFLOPS. Site 'b' (2 MW IT,
    $10/MWh) holds two. A 20-PFLOPS job ($1 M if unplaced) fits only at 'b', so 'a' gets no
    ``assign`` tuple at all.

    MIP optimum: the job at 'b' on two gpus, $200 + 2 MW x 8,760 h x $10 = $175,400. The LP
    relaxation has the same value: with the tuple at 'a', it could put half the job on each
    site (one gpu at 'a' for $100, one at 'b' for $100 + $87,600: $87,800, half the optimum);
    without it, it cannot.
    """
    from optimizer.instance.derive import prepare
    from optimizer.model import build_model
    from optimizer.solver.session import HighsSession

    d = micro(sites=[site("a", it_mw=1), site("b", it_mw=2, price=10)],
              jobs=[{"id": "big", "compute_pflops": {"2026": 20}, "unplaced_cost_usd": 1e6}])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(175_400, abs=1e-6)
    assert plan.tables["training"]["site"].tolist() == ["b"]
    prep = prepare(optimizer.instance_from_dict(d, "micro"))
    assert prep.ASSIGN == [("big", "b", "cuda", "base")]
    m, _ctx = build_model(prep)
    lp = HighsSession(m)
    lp.set_integrality(lp.integer_columns(), integer=False)
    assert lp.run(time_limit=None, mip_gap=0.0).objective == pytest.approx(175_400, abs=1e-6)


def test_latency_forces_the_nearer_site():
    """Region at (0,0). 'near' at (0,1): 111.2 km, 1.112 ms round trip; 'far' at (0,20): 22.2 ms.

    Far has free power, near $100/MWh. With max latency 10 ms only near can serve:
    100 + 876,000. Without a latency limit far serves: 100.
    """
    sites = [site("near", lon=1, price=100), site("far", lon=20)]
    plan = solve_checked(micro(sites=sites, regions=[region("r", 10, max_latency_ms=10)]))
    assert plan.objective == pytest.approx(100 + MWY, rel=1e-9)
    inf = plan.tables["inference"]
    assert inf["site"].tolist() == ["near"]
    assert inf["latency_ms"].iloc[0] == pytest.approx(6371 * 3.141592653589793 / 180 / 100, rel=1e-9)
    plan = solve_checked(micro(sites=sites, regions=[region("r", 10)]))
    assert plan.objective == pytest.approx(100, abs=1e-6)


def test_residency_keeps_data_in_country():
    """A cheap US site (free power) and a CN site at $100/MWh; the region's data must stay in CN.

    Served in CN: 100 + 876,000.
    """
    sites = [site("us", jur="US"), site("cn", jur="CN-west", price=100)]
    plan = solve_checked(micro(sites=sites, regions=[region("r", 10, allowed_jurisdictions=["CN"])]))
    assert plan.objective == pytest.approx(100 + MWY, rel=1e-9)
    assert plan.tables["inference"]["site"].tolist() == ["cn"]


def test_unserved_demand_is_penalised():
    """Existing site of 1 MW; demand 25 PFLOPS; penalty $50 per PFLOPS-year.

    One gpu serves 10 (100); 15 unserved cost 750. Total 850.
    """
    plan = solve_checked(micro(sites=[site("s1", it_mw=1)], regions=[region("r", 25, penalty=50)]))
    assert plan.objective == pytest.approx(850, abs=1e-6)
    assert plan.tables["demand"]["unserved_pflops"].tolist() == [15.0]


def test_must_serve_beyond_capacity_is_infeasible():
    """Existing 1 MW site, demand 25 PFLOPS that must be served: no plan exists."""
    plan = solve_checked(micro(sites=[site("s1", it_mw=1)], regions=[region("r", 25, must_serve=True)]),
                         expect_status="infeasible")
    assert plan.objective is None and any("must-serve" in m for m in plan.messages)


def test_must_serve_without_any_route_is_explained():
    """The only site is 22 ms away but the region allows 10 ms: infeasible before solving."""
    plan = solve_checked(micro(sites=[site("far", lon=20)], regions=[region("tokyo", 10, max_latency_ms=10, must_serve=True)]),
                         expect_status="infeasible")
    assert any("region 'tokyo'" in m for m in plan.messages)


def test_low_demand_scenario_changes_the_first_stage_build():
    """Build $1000 per MW (1-MW blocks); each MW holds one free gpu (10 PFLOPS); unserved $150/PFLOPS.

    Forecast only 'high' (50 PFLOPS): build 5 MW for 5000 (unserved would cost 7500).
    With 'low' (10 PFLOPS) at probability 0.5: each MW beyond the first serves only the
    high case, worth 0.5 * 150 * 10 = 750 < 1000, so build 1 MW:
    1000 + 0.5 * 150 * 40 = 4000 (vs 4500 for none and 5000 for 5 MW).
    """
    def case(scen):
        return micro(sites=[site("mine", "convertible", options=[option(capex=1000)])],
                     systems=[system("gpu", price=0)], regions=[region("r", 50, penalty=150)], scenarios=scen)

    plan = solve_checked(case([]))
    assert plan.objective == pytest.approx(5000, abs=1e-6)
    assert plan.tables["builds"]["it_mw"].tolist() == [5.0]
    plan = solve_checked(case([{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}]))
    assert plan.objective == pytest.approx(4000, abs=1e-6)
    assert plan.tables["builds"]["it_mw"].tolist() == [1.0]


def test_scenario_policy_override():
    """Scenario 'banned' replaces the export rules with a gpu ban; 'open' keeps none.

    Demand 10: open -> one gpu (100); banned -> one npu (300). Expected 0.5*100 + 0.5*300 = 200.
    """
    d = two_vendor({}, demand=10, scenarios=[
        {"id": "open", "probability": 0.5},
        {"id": "banned", "probability": 0.5,
         "policies": {"export_rules": [{"system": "gpu", "jurisdiction": "CN", "action": "ban"}]}},
    ])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(200, abs=1e-6)
    f = plan.tables["fleet"]
    assert f.loc[f["scenario"] == "banned", "system"].tolist() == ["npu"]
