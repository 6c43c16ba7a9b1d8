"""Micro instances of the model family policy: energy subsidies (domestic systems, qualifying sites), capex subsidies
and domestic-share targets (optimizer/model/policy.py).

Optima are derived by hand in each test's docstring; the common data of the micro instances
(one period of one year, one system 'gpu', an existing 100 MW site) is described in
``tests/model/model_cases.py``. Every plan is re-checked by the verifier (``solve_checked``).
"""

from __future__ import annotations

import pytest
from conftest import micro, option, region, site, solve_checked, system
from model_cases import MWY, cat, two_vendor

pytestmark = pytest.mark.family("policy")


def _subsidy_case(sub: dict, existing_foreign: float = 0) -> dict:
    s = site("west", jur="CN-west", price=100)
    if existing_foreign:
        s["existing_units"] = [{"system": "gpu", "units": existing_foreign}]
    return micro(sites=[s], systems=[system("gpu", price=1000), system("npu", origin="CN", family="cann", kw=2000, price=1000)],
                 regions=[region("r", 10)], policies={"energy_subsidies": [sub]})



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
    plan = solve_checked(two_vendor({"share_targets": [{"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5}]}))
    assert plan.objective == pytest.approx(700, abs=1e-6)


@pytest.mark.parametrize("penalty, expected", [(20, 600), (30, 650)])
def test_soft_share_target(penalty, expected):
    """Soft 50 % target: shortfall = 0.5*10*x - 0.5*10*y PFLOPS, penalised per PFLOPS-year.

    penalty 20: (3, 0) -> 300 + 15*20 = 600 (vs 650 for (2, 1), 700 for (1, 2)).
    penalty 30: (3, 0) -> 750; (2, 1) -> 500 + 5*30 = 650; (1, 2) -> 700. Optimum 650.
    """
    t = {"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5, "hard": False,
         "shortfall_penalty_usd_per_pflops_year": penalty}
    plan = solve_checked(two_vendor({"share_targets": [t]}))
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
    import optimizer
    from optimizer.diagnose import diagnose

    d = micro(sites=[site("s1", it_mw=1), site("far", lon=30, it_mw=5)],
              regions=[region("r", 25, must_serve=True, max_latency_ms=10)])
    inst = optimizer.instance_from_dict(d)
    diag = diagnose(inst)
    assert not diag.feasible and diag.violation_pflops == pytest.approx(15)
    assert diag.findings == [
        "region 'r' needs 25 PFLOPS in 2026; within 10 ms only 10 PFLOPS can be served "
        "('s1': 1 of 1 MW IT capacity filled, 1 % of its 100 MW grid connection held)"
    ]
    plan = solve_checked(d, expect_status="infeasible")
    assert diag.findings[0] in plan.messages


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


def test_share_target_on_fixed_compute():
    """In 2026 only the existing gpu is installed (nothing can be bought until 2027): the
    50 % target falls short by 0.5 * 10 = 5 PFLOPS whatever the plan.

    Hard: infeasible, explained before solving. Soft at $7/PFLOPS-year: 35, nothing bought.
    """
    plan = solve_checked(_fixed_share_case(True), expect_status="infeasible")
    assert any("share target 't'" in m and "falls short by 5 PFLOPS" in m for m in plan.messages)
    plan = solve_checked(_fixed_share_case(False))
    assert plan.objective == pytest.approx(35, abs=1e-6)


def test_share_target_counted_in_chips():
    """As the hard 50 % target above, but counted in accelerator chips: a gpu holds 8 chips,
    an npu 1. y npus must be >= 8 x gpus: (0, 3) costs 900, (1, 8) 2500. Optimum 900
    (in PFLOPS the same target allowed (1, 2) at 700)."""
    d = two_vendor({"share_targets": [{"id": "t", "jurisdiction": "CN", "min_domestic_share": 0.5, "measure": "accelerators"}]})
    d["systems"][0]["accelerators_per_unit"] = 8
    plan = solve_checked(d)
    assert plan.objective == pytest.approx(900, abs=1e-6)
