"""Micro instances, one or more per constraint family, with optima derived by hand.

Common data unless a test says otherwise: one period of one year, no discounting, one
system 'gpu' (US origin, family cuda, 1 MW per unit, no idle draw, 10 PFLOPS training
and inference, $100 per unit, 10-year life), free electricity, an existing 100 MW site
in CN with PUE 1. 8,760 hours per year, so 1 MW for a year at $100/MWh costs $876,000.
Every plan is re-checked by the independent verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest

from conftest import HOURS, micro, option, region, site, solve_checked, system

MWY = 100 * HOURS  # $ for 1 MW over one year at $100/MWh


def cat(plan, category: str) -> float:
    c = plan.tables["costs"]
    return float(c.loc[c["category"] == category, "discounted_usd"].sum())


# ----------------------------------------------------------------------------- sites
def _lead_time_case(green_lead: float) -> dict:
    return micro(
        periods=("2026", "2027", "2028"),
        sites=[
            site("mine", "convertible", options=[option("retrofit", capex=50, lead=12)]),
            site("green", "greenfield", grid_available_from="2026", options=[option("new", capex=10, lead=green_lead)]),
        ],
        jobs=[{"id": "run", "compute_pflops": {"2027": 10}, "must_place": True}],
    )


def test_conversion_beats_greenfield_when_lead_time_binds():
    """A job needs 10 PFLOPS (one gpu, 1 MW) in 2027 only.

    The mine converts in 12 months (decided 2026, online 2027) at $50/MW; the greenfield
    site is cheaper ($10/MW) but takes 24 months, so it is online only in 2028 — too late.
    Optimum: convert the mine, 1 MW: 50 + one gpu 100 = 150.
    With a 12-month greenfield lead time both are in time and greenfield wins: 10 + 100 = 110.
    """
    plan = solve_checked(_lead_time_case(24))
    assert plan.objective == pytest.approx(150, abs=1e-6)
    b = plan.tables["builds"]
    assert list(b["site"]) == ["mine"] and list(b["online_period"]) == ["2027"] and list(b["it_mw"]) == [1.0]

    plan = solve_checked(_lead_time_case(12))
    assert plan.objective == pytest.approx(110, abs=1e-6)
    assert list(plan.tables["builds"]["site"]) == ["green"]


def test_blocks_pue_and_redundancy_limit_the_grid():
    """Grid 12 MW, PUE 1.2, 2N (usable share 0.5): IT load <= 12*0.5/1.2 = 5 MW.

    Demand 80 PFLOPS needs 8 gpus; only 5 can run, 30 PFLOPS go unserved at $1e6 each.
    5 units need 5 MW nameplate, in 2 MW blocks -> 3 blocks = 6 MW at $1000/MW.
    Cost = 30e6 + 6000 + 5*100 = 30,006,500.
    """
    d = micro(
        sites=[site("mine", "convertible", grid=12, options=[option(capex=1000, pue=1.2, share=0.5, block=2, max_mw=20)])],
        regions=[region("r", 80, penalty=1e6)],
    )
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(30_006_500, rel=1e-9)
    assert plan.tables["builds"]["it_mw"].tolist() == [6.0]
    sp = plan.tables["site_power"]
    assert sp["grid_draw_mw"].tolist() == pytest.approx([12.0])


def test_existing_site_expansion_uses_the_efficient_pool():
    """Existing hall 1 MW at PUE 2.0; an expansion option at PUE 1.0 costs $1000 fixed.

    One gpu (1 MW) serves 10 PFLOPS. In the old hall: energy 2 * 876,000 = 1,752,000.
    Built expansion: 1000 + 876,000 = 877,000, cheaper. Cost = 877,000 + 100 = 877,100,
    with the whole IT load in the expansion pool.
    """
    d = micro(
        sites=[site("dc", it_mw=1, pue=2.0, price=100, options=[option("hall2", fixed=1000, max_mw=5)])],
        regions=[region("r", 10)],
    )
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(877_100, rel=1e-9)
    pl = plan.tables["pool_load"].set_index("pool")
    assert pl.loc["hall2", "it_load_mw"] == pytest.approx(1.0)
    assert pl.loc["existing", "it_load_mw"] == pytest.approx(0.0)


# ----------------------------------------------------------------------------- fleet
def test_idle_units_cost_energy():
    """Demand 20 PFLOPS in 2026 and 10 in 2027; gpus draw 30 % when idle; $100/MWh.

    Two gpus bought in 2026 (200). 2026: both busy, 2 MW -> 1,752,000.
    2027: one busy, one idle: 1 + 0.3 = 1.3 MW -> 1,138,800. Total 2,891,000.
    """
    d = micro(periods=("2026", "2027"), sites=[site("s1", price=100)], systems=[system("gpu", idle=0.3)],
              regions=[region("r", {"2026": 20, "2027": 10})])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(200 + 2 * MWY + 1.3 * MWY, rel=1e-9)
    cu = plan.tables["compute_use"].set_index("period")
    assert cu.loc["2027", "idle_pct"] == pytest.approx(50.0)


def test_units_retire_after_their_lifetime():
    """Lifetime 2 years, three 1-year periods, 10 PFLOPS needed in each, rate 10 %.

    A gpu bought in 2026 serves 2026 and 2027 and retires at the start of 2028; a second
    is bought in 2028 (buying it in 2027 would cost more after discounting).
    Cost 100 + 100 / 1.1**2.
    """
    d = micro(periods=("2026", "2027", "2028"), rate=0.1, systems=[system("gpu", life=2)], regions=[region("r", 10)])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(100 + 100 / 1.21, rel=1e-9)
    f = plan.tables["fleet"].set_index("period")
    assert f.loc["2028", "units_retired"] == 1 and f.loc["2028", "units_bought"] == 1
    assert f.loc["2027", "units_bought"] == 0


def test_discounting_of_capex_and_multi_year_periods():
    """Periods: 2026 (1 year), 2027 (2 years); rate 10 %; demand 10 PFLOPS in 2027 only; $100/MWh.

    The gpu is bought at the start of 2027 (t = 1): 100 / 1.1.
    Energy 876,000 per year in years t = 1, 2: 876,000 * (1/1.1 + 1/1.21).
    """
    d = micro(periods=("2026", "2027"), years=[1, 2], rate=0.1, sites=[site("s1", price=100)],
              regions=[region("r", {"2026": 0, "2027": 10})])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(100 / 1.1 + MWY * (1 / 1.1 + 1 / 1.21), rel=1e-9)


def _two_vendor(policies: dict, demand: float = 30, **kw) -> dict:
    return micro(systems=[system("gpu"), system("npu", origin="CN", family="cann", price=300)],
                 regions=[region("r", demand)], policies=policies, **kw)


def test_export_cap_limits_purchases():
    """Demand 30 PFLOPS: 3 units. gpu $100, npu $300; at most 2 gpus may be bought in CN.

    Optimum: 2 gpu + 1 npu = 500.
    """
    plan = solve_checked(_two_vendor({"export_rules": [{"id": "cap", "system": "gpu", "jurisdiction": "CN", "action": "cap", "cap_units": 2}]}))
    assert plan.objective == pytest.approx(500, abs=1e-6)
    pol = plan.tables["policy"]
    assert pol.loc[pol["kind"] == "export_cap", "value"].tolist() == [2.0]


@pytest.mark.parametrize("share, expected", [(0.5, 3 * 170), (2.5, 3 * 300)])
def test_export_premium(share, expected):
    """Premium on gpus in CN: share of price plus $20 per unit.

    share 0.5: gpu costs 100 + 50 + 20 = 170 < 300 -> 3 gpus = 510.
    share 2.5: gpu costs 100 + 250 + 20 = 370 > 300 -> 3 npus = 900.
    """
    rule = {"system": "gpu", "jurisdiction": "CN", "action": "premium", "premium_share": share, "premium_usd_per_unit": 20}
    plan = solve_checked(_two_vendor({"export_rules": [rule]}))
    assert plan.objective == pytest.approx(expected, abs=1e-6)


def test_ban_applies_inside_the_jurisdiction_only_in_its_periods():
    """gpu banned in CN (covers the CN-west site) in 2026 only; 10 PFLOPS each year.

    2026: one npu (300). 2027: the npu still serves (10-year life): nothing more to buy.
    Cost 300. Without the ban: one gpu, 100.
    """
    d = micro(periods=("2026", "2027"), sites=[site("w", jur="CN-west")],
              systems=[system("gpu"), system("npu", origin="CN", family="cann", price=300)],
              regions=[region("r", 10)],
              policies={"export_rules": [{"family": "cuda", "jurisdiction": "CN", "periods": ["2026"], "action": "ban"}]})
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(300, abs=1e-6)
    assert set(plan.tables["fleet"]["system"]) == {"npu"}


def test_supply_cap():
    """Only one gpu can be bought per period; demand 30 -> 1 gpu + 2 npu = 700."""
    d = _two_vendor({})
    d["systems"][0]["supply_units"] = 1
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(700, abs=1e-6)


# ----------------------------------------------------------------------------- workloads
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


# ----------------------------------------------------------------------------- scenarios
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
    d = _two_vendor({}, demand=10, scenarios=[
        {"id": "open", "probability": 0.5},
        {"id": "banned", "probability": 0.5,
         "policies": {"export_rules": [{"system": "gpu", "jurisdiction": "CN", "action": "ban"}]}},
    ])
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(200, abs=1e-6)
    f = plan.tables["fleet"]
    assert f.loc[f["scenario"] == "banned", "system"].tolist() == ["npu"]


# ----------------------------------------------------------------------------- policies
def _subsidy_case(sub: dict, existing_foreign: float = 0) -> dict:
    s = site("west", jur="CN-west", price=100)
    if existing_foreign:
        s["existing_units"] = [{"system": "gpu", "units": existing_foreign}]
    return micro(sites=[s], systems=[system("gpu", price=1000), system("npu", origin="CN", family="cann", kw=2000, price=1000)],
                 regions=[region("r", 10)], policies={"energy_subsidies": [sub]})


@pytest.mark.parametrize("share, expected, chip", [(0.6, 1000 + 2 * MWY * 0.4, "npu"), (0.4, 1000 + MWY, "gpu")])
def test_domestic_energy_subsidy_flips_the_chip(share, expected, chip):
    """Demand 10 PFLOPS; gpu 1 MW, npu (domestic) 2 MW, both $1000; power $100/MWh.

    gpu: 1000 + 876,000. npu: 1000 + 2 * 876,000 * (1 - share).
    share 0.6 -> npu 701,800 < 877,000; share 0.4 -> npu 1,052,200 > 877,000 -> gpu.
    """
    sub = {"id": "west", "jurisdiction": "CN-west", "discount_share": share, "applies_to": "domestic_systems"}
    plan = solve_checked(_subsidy_case(sub))
    assert plan.objective == pytest.approx(expected, rel=1e-9)
    assert plan.tables["fleet"]["system"].tolist() == [chip]


@pytest.mark.parametrize("threshold, npus", [(0.7, 3), (0.8, 4)])
def test_site_subsidy_threshold_is_exact(threshold, npus):
    """One gpu already installed (10 PFLOPS of foreign compute); 60 % off the whole site's bill
    once its domestic share of installed compute reaches the threshold.

    The gpu serves the demand (1 MW, 876,000/year). Buying idle npus ($1000, no idle draw) to
    qualify: share n*10/(n*10+10) >= 0.7 needs n = 3 (0.75); >= 0.8 needs n = 4 (0.8).
    Cost = 1000 n + 0.4 * 876,000: 353,400 (n = 3) or 354,400 (n = 4), both below 876,000.
    """
    sub = {"id": "west", "jurisdiction": "CN", "discount_share": 0.6, "applies_to": "qualifying_sites",
           "domestic_share_threshold": threshold}
    plan = solve_checked(_subsidy_case(sub, existing_foreign=1))
    assert plan.objective == pytest.approx(1000 * npus + 0.4 * MWY, rel=1e-9)
    f = plan.tables["fleet"].set_index("system")
    assert f.loc["npu", "units_in_service"] == npus
    pol = plan.tables["policy"]
    assert pol["met"].tolist() == [True]


def test_site_subsidy_not_worth_qualifying():
    """Same as above with only 0.1 % off: qualifying (3000 for npus) saves 876 < 3000 -> stay foreign."""
    sub = {"id": "west", "jurisdiction": "CN", "discount_share": 0.001, "applies_to": "qualifying_sites",
           "domestic_share_threshold": 0.7}
    plan = solve_checked(_subsidy_case(sub, existing_foreign=1))
    assert plan.objective == pytest.approx(MWY, rel=1e-9)


def test_hard_share_target():
    """Demand 30 (3 units); gpu $100, npu $300; at least 50 % of installed compute domestic.

    x gpus, y npus, x + y >= 3, y >= x: (1, 2) costs 700, the cheapest.
    """
    plan = solve_checked(_two_vendor({"share_targets": [{"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5}]}))
    assert plan.objective == pytest.approx(700, abs=1e-6)


@pytest.mark.parametrize("penalty, expected", [(20, 600), (30, 650)])
def test_soft_share_target(penalty, expected):
    """Soft 50 % target: shortfall = 0.5*10*x - 0.5*10*y PFLOPS, penalised per PFLOPS-year.

    penalty 20: (3, 0) -> 300 + 15*20 = 600 (vs 650 for (2, 1), 700 for (1, 2)).
    penalty 30: (3, 0) -> 750; (2, 1) -> 500 + 5*30 = 650; (1, 2) -> 700. Optimum 650.
    """
    t = {"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5, "hard": False,
         "shortfall_penalty_usd_per_pflops_year": penalty}
    plan = solve_checked(_two_vendor({"share_targets": [t]}))
    assert plan.objective == pytest.approx(expected, abs=1e-6)


def test_capex_subsidy():
    """Convertible site, $1000/MW, $400/MW capex subsidy in CN: 1 MW + one gpu = 600 + 100 = 700."""
    d = micro(sites=[site("mine", "convertible", options=[option(capex=1000)])], regions=[region("r", 10)],
              policies={"capex_subsidies": [{"id": "c", "jurisdiction": "CN", "usd_per_mw": 400}]})
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(700, abs=1e-6)
    assert cat(plan, "site_capex_subsidy") == pytest.approx(-400)


def test_diagnosis_names_the_region_and_the_limit():
    """Existing 1 MW site within 10 ms (one gpu, 10 PFLOPS) and a 5 MW site 3,336 km away.

    The region must be served 25 PFLOPS within 10 ms: only 10 can be. The elastic model
    reports exactly that shortfall, naming the region, the period and the full site.
    """
    from optimizer.diagnose import diagnose
    import optimizer

    d = micro(sites=[site("s1", it_mw=1), site("far", lon=30, it_mw=5)],
              regions=[region("r", 25, must_serve=True, max_latency_ms=10)])
    inst = optimizer.instance_from_dict(d)
    diag = diagnose(inst)
    assert not diag.feasible and diag.violation_pflops == pytest.approx(15)
    assert diag.findings == [
        "region 'r' needs 25 PFLOPS in 2026; within 10 ms only 10 PFLOPS can be served "
        "('s1': 1 of 1 MW IT capacity filled, 1 % of its 100 MW grid drawn)"
    ]
    plan = solve_checked(d, expect_status="infeasible")
    assert diag.findings[0] in plan.messages


# ----------------------------------------------------------------------------- risk and decisions
def _two_scenario_build(**kw):
    return micro(sites=[site("mine", "convertible", options=[option(capex=1000)])],
                 systems=[system("gpu", price=0)], regions=[region("r", 50, penalty=150)],
                 scenarios=[{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}], **kw)


def test_cvar_weight_one_plans_for_the_worst_tail():
    """Same data as the low-demand scenario test. CVaR at alpha 0.5 is the cost of the
    worst half of the probability mass, here the 'high' scenario alone.

    Build B MW: high costs 1000 B + 150 * max(0, 50 - 10 B); minimised at B = 5 (5000;
    B = 4 gives 5500, B = 1 gives 7000). Objective 5000; the plan's expected cost is 5000 too
    (both scenarios pay the build only).
    """
    from optimizer.model.context import Risk

    plan = solve_checked(_two_scenario_build(), risk=Risk(0.5, 1.0))
    assert plan.objective == pytest.approx(5000, abs=1e-6)
    assert plan.expected_cost == pytest.approx(5000, abs=1e-6)
    assert plan.tables["builds"]["it_mw"].tolist() == [5.0]


def test_cvar_weight_zero_is_the_expected_cost_plan():
    """Weight 0: the risk-neutral plan (1 MW, expected cost 4000)."""
    from optimizer.model.context import Risk

    plan = solve_checked(_two_scenario_build(), risk=Risk(0.5, 0.0))
    assert plan.objective == pytest.approx(4000, abs=1e-6)


def test_forbid_and_force_choices():
    """The lead-time case with a 12-month greenfield (optimum: greenfield, 110).

    Forbidding the greenfield site gives the conversion (150); forcing both sites to be
    built adds the cheapest useless greenfield: 1 MW block at $10 -> 150 + 10 = 160.
    """
    from optimizer.instance.decisions import Decisions

    d = _lead_time_case(12)
    plan = solve_checked(d, decisions=Decisions.parse(forbid=["site=green"]))
    assert plan.objective == pytest.approx(150, abs=1e-6)
    plan = solve_checked(d, decisions=Decisions.parse(force=["site=mine", "option=green:new"]))
    assert plan.objective == pytest.approx(160, abs=1e-6)
    plan = solve_checked(d, decisions=Decisions.parse(forbid=["system=gpu"]), expect_status="infeasible")


def test_fixed_builds_evaluate_a_plan_in_every_scenario():
    """Fix the forecast plan's build (5 MW, from the 'high'-only solve) and re-plan the
    rest on both scenarios: cost 5000 in each, expected 5000 (vs 4000 for the stochastic
    plan: the value of the stochastic solution is 1000)."""
    from optimizer.instance.decisions import Decisions

    plan = solve_checked(_two_scenario_build(), decisions=Decisions.parse())
    det = solve_checked(micro(sites=[site("mine", "convertible", options=[option(capex=1000)])],
                              systems=[system("gpu", price=0)], regions=[region("r", 50, penalty=150)]))
    fixed = solve_checked(_two_scenario_build(), decisions=Decisions.from_builds(det.tables["builds"]))
    assert plan.objective == pytest.approx(4000, abs=1e-6)
    assert fixed.objective == pytest.approx(5000, abs=1e-6)


def test_site_subsidy_never_cuts_off_a_feasible_mix():
    """A 1 MW site; foreign systems A (600 kW, 6 PFLOPS) and B (400 kW, 4 PFLOPS), $100 each;
    10 PFLOPS must be served: only 1 A + 1 B fits (1 MW). A qualifying-site subsidy
    (threshold 0.5) cannot be earned without domestic systems, but must not make the
    instance infeasible: cost 200."""
    sub = {"id": "s", "jurisdiction": "CN", "discount_share": 0.5, "applies_to": "qualifying_sites",
           "domestic_share_threshold": 0.5}
    d = micro(sites=[site("s1", it_mw=1)],
              systems=[system("a", kw=600, train=6, infer=6), system("b", kw=400, train=4, infer=4)],
              regions=[region("r", 10, must_serve=True)], policies={"energy_subsidies": [sub]})
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(200, abs=1e-6)


def _fixed_share_case(hard: bool) -> dict:
    s = site("s1")
    s["existing_units"] = [{"system": "gpu", "units": 1}]
    t = {"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5, "periods": ["2026"], "hard": hard}
    if not hard:
        t["shortfall_penalty_usd_per_pflops_year"] = 7
    return micro(periods=("2026", "2027"), sites=[s],
                 systems=[system("gpu", supply_units={"2026": 0, "2027": 5}),
                          system("npu", origin="CN", family="cann", supply_units={"2026": 0, "2027": 5})],
                 policies={"share_targets": [t]})


def test_share_target_on_fixed_compute():
    """In 2026 only the existing gpu is installed (nothing can be bought until 2027): the
    50 % target falls short by 0.5 * 10 = 5 PFLOPS whatever the plan.

    Hard: infeasible, explained before solving. Soft at $7/PFLOPS-year: 35, nothing bought.
    """
    plan = solve_checked(_fixed_share_case(True), expect_status="infeasible")
    assert any("share target 't'" in m and "falls short by 5 PFLOPS" in m for m in plan.messages)
    plan = solve_checked(_fixed_share_case(False))
    assert plan.objective == pytest.approx(35, abs=1e-6)


def test_reserved_option_id_is_rejected():
    import optimizer

    d = micro(sites=[site("s1", options=[option("existing")])])
    with pytest.raises(optimizer.InstanceError, match="reserved"):
        optimizer.instance_from_dict(d)


def test_end_value_credits_remaining_life():
    """Straight-line end value. Three 1-year periods, rate 10 %, gpu life 10 years, $100;
    10 PFLOPS needed in 2028 only; a convertible site at $1000/MW, 20-year life, built in 2028.

    Both are bought at the start of 2028 (t = 2): 1100 / 1.21. At the horizon's end (t = 3)
    the gpu has 9 of 10 years left (90) and the site 19 of 20 (950): credit 1040 / 1.331.
    """
    d = micro(periods=("2026", "2027", "2028"), rate=0.1,
              sites=[site("mine", "convertible", options=[option(capex=1000)])],
              regions=[region("r", {"2026": 0, "2027": 0, "2028": 10})])
    d["horizon"]["end_value"] = "straight_line"
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(1100 / 1.21 - 1040 / 1.331, rel=1e-9)
    assert cat(plan, "end_value") == pytest.approx(-1040 / 1.331, rel=1e-9)


def test_share_target_counted_in_chips():
    """As the hard 50 % target above, but counted in accelerator chips: a gpu holds 8 chips,
    an npu 1. y npus must be >= 8 x gpus: (0, 3) costs 900, (1, 8) 2500. Optimum 900
    (in PFLOPS the same target allowed (1, 2) at 700)."""
    d = _two_vendor({"share_targets": [{"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5, "measure": "accelerators"}]})
    d["systems"][0]["accelerators_per_unit"] = 8
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(900, abs=1e-6)
