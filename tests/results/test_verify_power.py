"""The independent verifier on the time-to-power families: build phases, on-site generation and
batteries, power by source, curtailment events and pauses, energy costs by source, emissions and
time to power. Solved micro plans pass; tampered plans (or the same plan against a changed
instance) are caught, each with the rule broken and its figures.

Every tamper test names the exact set of rules the verifier reports: the rule tampered with,
and the figures recomputed from it that no longer match what the plan reports (a cost row, a
derived column).
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from conftest import HOURS, micro, option, region, site, system

import optimizer
from optimizer.results.verify import VerificationReport, verify_plan


# ----------------------------------------------------------------------------- helpers
def solved(data: dict) -> tuple[optimizer.Instance, optimizer.Plan]:
    """Solve a micro instance to optimality and check that the verifier accepts the plan."""
    inst = optimizer.instance_from_dict(copy.deepcopy(data), "micro")
    plan = optimizer.solve(inst)
    assert plan.status == "optimal", plan.messages
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    assert rep.ok, rep.messages
    return inst, plan


def tables(plan: optimizer.Plan) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in plan.tables.items()}


def check(inst, t: dict[str, pd.DataFrame], plan: optimizer.Plan) -> VerificationReport:
    return verify_plan(inst, t, plan.expected_cost)


COSTS = {"discounted_usd", "objective"}
"""What a changed cost adds: the cost row that differs, and the objective."""


def rules(rep: VerificationReport) -> set[str]:
    return {v.rule for v in rep.violations}


def said(rep: VerificationReport, rule: str, *fragments: str) -> bool:
    """Some violation of ``rule`` contains every fragment."""
    return any(v.rule == rule and all(f in v.message for f in fragments) for v in rep.violations)


def at(df: pd.DataFrame, **eq) -> pd.Index:
    """Index of the rows whose columns equal the given values (at least one)."""
    m = pd.Series(True, index=df.index)
    for k, v in eq.items():
        m &= df[k] == v
    assert m.any(), eq
    return df.index[m]


def with_data(inst, path: list, value) -> optimizer.Instance:
    """A copy of the instance with one nested field replaced (re-validated)."""
    data = inst.model_dump()
    cur = data
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return optimizer.instance_from_dict(data, "changed")


# ----------------------------------------------------------------------------- instances
def bridge_case() -> dict:
    """A greenfield site whose firm grid (10 MW) arrives only in 2029, bridged by a flexible
    connection (3 MW, curtailed 1 % of hours in 4 h events), on-site gas (1 MW permit, 12-month
    lead time, availability 0.9, high fixed O&M), a 2 h battery (firm share 2/4 = 0.5) and an
    unsigned 1 MW PPA (take-or-pay 50 %); a carbon price; two scenarios (tariff x 1.5 or x 1).

    Optimum: battery (2 MW) for 2026-2028, gas from 2027, PPA fully used; training units pause
    during events (1.69 units in 2026) so that the site falls to its firm power; the battery is
    retired in 2029 when the firm grid comes."""
    return micro(
        periods=("2026", "2027", "2028", "2029"),
        sites=[site("green", "greenfield", grid=10, grid_available_from="2029", price=50, grid_co2_t_per_mwh=0.1,
                    options=[option(capex=100, max_mw=10)],
                    power_sources=[
                        {"id": "flex", "kind": "grid_flexible", "mw": 3, "curtailment_share": 0.01, "event_hours": 4},
                        {"id": "gas", "kind": "onsite", "mw": 1, "capex_usd_per_mw": 1000, "fuel_usd_per_mmbtu": 3,
                         "heat_rate_mmbtu_per_mwh": 9, "availability": 0.9, "co2_t_per_mwh": 0.4,
                         "fom_usd_per_mw_year": 100000, "lead_time_months": 12},
                        {"id": "bat", "kind": "battery", "mw": 2, "capex_usd_per_mw": 1000, "duration_hours": 2},
                        {"id": "ppa", "kind": "ppa", "mw": 1, "price_usd_per_mwh": 10, "take_or_pay_share": 0.5,
                         "signed": False}])],
        systems=[system("gpu", divisible=True, idle=0.1)],
        jobs=[{"id": "run", "compute_pflops": {p: 20 for p in ("2026", "2027", "2028", "2029")}, "must_place": True},
              {"id": "firm", "compute_pflops": {"2026": 5, "2027": 5}, "must_place": True, "tolerates_curtailment": False}],
        policies={"emission_rules": [{"id": "tax", "jurisdiction": "CN", "price_usd_per_t": 50}]},
        scenarios=[{"id": "high", "probability": 0.5, "electricity_price_scale": 1.5}, {"id": "low", "probability": 0.5}],
    )


def phases_case() -> dict:
    """One greenfield option (1000 $/MW, fixed 500 $, 10 $ per phase, fixed O&M 2000 $/MW-year,
    max 5 MW, at most 3 phases, phase lead time 12 months); demand 1, 2, 3, 4, 4 MW of free gpus.

    Optimum: 2 MW opened in 2026, 1 MW decided 2027 (online 2028), 1 MW decided 2028 (online 2029)."""
    return micro(periods=("2026", "2027", "2028", "2029", "2030"),
                 sites=[site("green", "greenfield", grid=100, options=[
                     option("hall", capex=1000, fixed=500, fom_usd_per_mw_year=2000, max_mw=5, max_phases=3,
                            phase_fixed_capex_usd=10, phase_lead_time_months=12)])],
                 systems=[system("gpu", price=0)],
                 regions=[region("r", {"2026": 10, "2027": 20, "2028": 30, "2029": 40, "2030": 40})])


@pytest.fixture(scope="module")
def bridge():
    inst, plan = solved(bridge_case())
    g = plan.tables["generator_builds"]
    assert sorted(zip(g["source"], g["decision_period"], g["online_period"], g["mw"])) == [
        ("bat", "2026", "2026", 2.0), ("gas", "2026", "2027", 1.0)], "pinned optimum moved"
    return inst, plan


@pytest.fixture(scope="module")
def phases():
    inst, plan = solved(phases_case())
    b = plan.tables["builds"]
    assert list(zip(b["phase"], b["decision_period"], b["online_period"], b["blocks"])) == [
        (1, "2026", "2026", 2), (2, "2027", "2028", 1), (3, "2028", "2029", 1)], "pinned optimum moved"
    return inst, plan


# ----------------------------------------------------------------------------- phases
def test_phases_accepted_and_costed_per_phase(phases):
    """Capex: 500 + 10 + 2000 (2026), 10 + 1000 (2027), 10 + 1000 (2028); O&M 2000 $/MW-year from
    each phase's own online period: 2 MW x 5 years + 1 MW x 3 + 1 MW x 2."""
    inst, plan = phases
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    c = rep.costs.groupby("category")["discounted_usd"].sum()
    assert c["site_capex"] == pytest.approx(2510 + 1010 + 1010)
    assert c["site_fom"] == pytest.approx(2000 * (2 * 5 + 3 + 2))
    assert rep.objective == pytest.approx(plan.objective, rel=1e-9)


def test_fourth_phase_is_caught(phases):
    inst, plan = phases
    t = tables(plan)
    t["builds"] = pd.concat([t["builds"], pd.DataFrame([{
        "site": "green", "option": "hall", "phase": 4, "decision_period": "2029", "online_period": "2030", "blocks": 1,
        "it_mw": 1.0, "capex_usd": 1010.0}])], ignore_index=True)
    rep = check(inst, t, plan)
    assert said(rep, "max_phases", "builds: site 'green' option 'hall' has 4 phases > max_phases 3")
    # the extra MW online in 2030, and its capex and O&M, are not in what the plan reports
    assert said(rep, "built_it_mw", "site_power: site 'green' 2030 scenario base", "reported 4, recomputed 5")
    assert said(rep, "capacity_mw", "pool_load: site 'green' 2030 scenario base pool 'hall'")
    assert rules(rep) == {"max_phases", "built_it_mw", "capacity_mw"} | COSTS


def test_later_phase_online_from_its_phase_lead_time(phases):
    inst, plan = phases
    t = tables(plan)
    t["builds"].loc[at(t["builds"], phase=2), "online_period"] = "2027"
    rep = check(inst, t, plan)
    assert said(rep, "online_period", "builds: site 'green' option 'hall' phase 2 decided 2027",
                "online period reported 2027, but lead time 12 months gives 2028")
    assert rules(rep) == {"online_period"}


def test_later_phase_capex_has_no_opening_fixed_capex(phases):
    inst, plan = phases
    t = tables(plan)
    t["builds"].loc[at(t["builds"], phase=2), "capex_usd"] = 1510.0
    rep = check(inst, t, plan)
    assert said(rep, "capex_usd", "phase 2 decided 2027", "capex_usd 1510 != phase fixed + per-MW capex = 1010")
    assert rules(rep) == {"capex_usd"}


def test_phases_numbered_in_decision_order(phases):
    inst, plan = phases
    t = tables(plan)
    b = t["builds"]
    i2, i3 = at(b, phase=2)[0], at(b, phase=3)[0]
    b.loc[i2, "phase"], b.loc[i3, "phase"] = 3, 2
    rep = check(inst, t, plan)
    assert said(rep, "phase_order", "phases [1, 3, 2] in decision order; expected 1 to 3")
    assert rules(rep) == {"phase_order"}


def test_later_phase_must_follow_the_opening(phases):
    """Phase 2 decided in the opening's own period (and online from its lead time, 2027)."""
    inst, plan = phases
    t = tables(plan)
    t["builds"].loc[at(t["builds"], phase=2), ["decision_period", "online_period"]] = ["2026", "2027"]
    rep = check(inst, t, plan)
    assert said(rep, "phase_after_opening", "phase 2 decided 2026", "not after the opening phase (decided 2026)")
    assert said(rep, "built_it_mw", "site_power: site 'green' 2027 scenario base", "reported 2, recomputed 3")
    assert rules(rep) == {"phase_after_opening", "built_it_mw", "capacity_mw"} | COSTS


def test_later_phases_without_opening(phases):
    inst, plan = phases
    t = tables(plan)
    t["builds"] = t["builds"][t["builds"]["phase"] != 1]
    rep = check(inst, t, plan)
    assert said(rep, "phase_after_opening", "builds: site 'green' has later phases but no opening phase (phase 1)")
    assert "phase_after_opening" in rules(rep)


def test_blocks_over_all_phases_within_max_it_mw(phases):
    """Phase 3 with 3 blocks: 2 + 1 + 3 = 6 blocks of 1 MW > max_it_mw 5."""
    inst, plan = phases
    t = tables(plan)
    t["builds"].loc[at(t["builds"], phase=3), ["blocks", "it_mw", "capex_usd"]] = [3, 3.0, 3010.0]
    rep = check(inst, t, plan)
    assert said(rep, "phased_max_blocks", "site 'green' option 'hall': 6 blocks over its phases x 1 MW > max_it_mw 5")
    assert rules(rep) == {"phased_max_blocks", "built_it_mw", "capacity_mw"} | COSTS


def test_two_later_phases_in_one_period(phases):
    """Phase 3 decided in 2027 with phase 2 (and so online in 2028)."""
    inst, plan = phases
    t = tables(plan)
    t["builds"].loc[at(t["builds"], phase=3), ["decision_period", "online_period"]] = ["2027", "2028"]
    rep = check(inst, t, plan)
    assert said(rep, "one_phase_per_period", "site 'green' option 'hall' has two later phases decided in the same period")
    assert rules(rep) == {"one_phase_per_period", "built_it_mw", "capacity_mw"} | COSTS


def test_later_phase_not_online_before_the_opening(phases):
    """The same plan when the opening takes 24 months and later phases none: the opening decided
    2026 is online in 2028, phase 2 decided 2027 in 2027 — before the site opens."""
    inst, plan = phases
    opt = inst.sites[0].build_options[0].model_dump()
    opt.update(lead_time_months=24, phase_lead_time_months=0)
    cut = with_data(inst, ["sites", 0, "build_options"], [opt])
    t = tables(plan)
    t["builds"].loc[at(t["builds"], phase=1), "online_period"] = "2028"
    t["builds"].loc[at(t["builds"], phase=2), "online_period"] = "2027"
    t["builds"].loc[at(t["builds"], phase=3), "online_period"] = "2028"
    rep = verify_plan(cut, t, plan.expected_cost)
    assert said(rep, "phase_after_opening", "phase 2 decided 2027", "online in 2027, before the opening phase (online 2028)")
    assert "phase_after_opening" in rules(rep)


def test_end_value_and_om_per_phase():
    """Straight-line end value (20-year life, 5-year horizon): each phase is credited what it paid
    times the share of its life left at the end, from its own decision period."""
    data = phases_case()
    data["horizon"]["end_value"] = "straight_line"
    inst, plan = solved(data)
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    b = plan.tables["builds"]
    start = {"2026": 0, "2027": 1, "2028": 2, "2029": 3, "2030": 4}
    credit = sum(r.capex_usd * (start[r.decision_period] + 20 - 5) / 20 for r in b.itertuples())
    c = rep.costs.groupby("category")["discounted_usd"].sum()
    assert c["end_value"] == pytest.approx(-credit)
    assert c["site_capex"] == pytest.approx(b["capex_usd"].sum())


# ----------------------------------------------------------------------------- generators
def test_bridge_costs_recomputed_by_source(bridge):
    """Energy at the tariff only on grid energy, PPA and gas energy at their own prices, gas O&M
    per MW kept, carbon on every source's tonnes, generator capex at the decision."""
    inst, plan = bridge
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    c = rep.costs.set_index(["category", "period", "scenario"])["undiscounted_usd"]
    p = plan.tables["power"].set_index(["source", "period", "scenario"])["mw_used"]
    assert c["energy", "2026", "low"] == pytest.approx(50 * HOURS * p["flex", "2026", "low"])
    assert c["energy", "2026", "high"] == pytest.approx(75 * HOURS * p["flex", "2026", "high"])
    assert c["ppa_energy", "2027", "low"] == pytest.approx(10 * HOURS * 1.0)
    assert c["generator_energy", "2027", "low"] == pytest.approx(27 * HOURS * 0.9)
    assert c["generator_fom", "2029", "low"] == pytest.approx(100000 * 1.0)
    assert c["generator_capex", "2026", "low"] == pytest.approx(1000 * 1 + 1000 * 2)
    tonnes = HOURS * (0.1 * p["flex", "2027", "low"] + 0.4 * 0.9)
    assert c["carbon_price", "2027", "low"] == pytest.approx(50 * tonnes)
    assert rep.objective == pytest.approx(plan.expected_cost, rel=1e-9)


def test_generator_moved_online_earlier(bridge):
    inst, plan = bridge
    t = tables(plan)
    t["generator_builds"].loc[at(t["generator_builds"], source="gas"), "online_period"] = "2026"
    rep = check(inst, t, plan)
    assert said(rep, "online_period", "generator_builds: site 'green' source 'gas' decided 2026",
                "online period reported 2026, but lead time 12 months gives 2027")
    assert rules(rep) == {"online_period"}


def test_generator_over_its_permit_cap(bridge):
    inst, plan = bridge
    t = tables(plan)
    t["generator_builds"].loc[at(t["generator_builds"], source="gas"), "mw"] = 1.5
    rep = check(inst, t, plan)
    assert said(rep, "permit_cap", "site 'green' source 'gas': 1.5 MW built > permit cap 1 MW")
    assert rules(rep) == {"permit_cap", "capex_usd"} | COSTS


def test_generation_above_availability(bridge):
    """Gas generates 1 MW (availability 0.9 x 1 MW kept) and the flexible grid 0.1 MW less."""
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="gas", period="2027", scenario="high"), "mw_used"] = 1.0
    pw.loc[at(pw, source="flex", period="2027", scenario="high"), "mw_used"] -= 0.1
    rep = check(inst, t, plan)
    assert said(rep, "generation_limit", "power: site 'green' source 'gas' 2027 scenario high",
                "generates 1 MW > availability 0.9 x 1 MW kept")
    # the energy, cost and CO2 columns of both rows, the grid drawn, the tonnes and the costs follow the MW used
    assert rules(rep) == {"generation_limit", "energy_mwh", "energy_cost_usd", "co2_t", "grid_drawn_mw",
                          "co2_t_per_year"} | COSTS


def test_battery_delivers_no_energy(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="bat", period="2026", scenario="low"), "mw_used"] = 0.5
    rep = check(inst, t, plan)
    assert said(rep, "battery_energy", "source 'bat' 2026 scenario low", "a battery delivers no energy, but mw_used is 0.5")
    # (a battery is no part of the energy balance; the time-to-power row now lists it)
    assert rules(rep) == {"battery_energy", "energy_mwh", "sources"}


def test_kept_above_built(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="gas", period="2027"), "mw_available"] = 1.2
    rep = check(inst, t, plan)
    assert said(rep, "kept_within_built", "generator_kept: site 'green' source 'gas' 2027",
                "1.2 MW kept > 1 MW built and usable by 2027")
    # O&M of the MW kept, and the power limit of the site
    assert rules(rep) == {"kept_within_built", "power_limit_mw"} | COSTS


def test_retired_battery_does_not_come_back(bridge):
    """The battery kept at 0 MW in 2027 and 2 MW again in 2028: retired MW never return; without
    it in 2027 the site is not firm during events either."""
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="bat", period="2027"), "mw_available"] = 0.0
    rep = check(inst, t, plan)
    assert said(rep, "retired_stays_retired", "site 'green' source 'bat' 2028",
                "2 MW kept > 0 MW kept in 2027 + 0 MW newly usable in 2028")
    assert said(rep, "curtailment_firm_supply", "site_power: site 'green' 2027 scenario high")
    assert rules(rep) == {"retired_stays_retired", "curtailment_firm_supply"}


def test_kept_mw_the_same_in_every_scenario(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="bat", period="2029", scenario="high"), "mw_available"] = 0.5
    rep = check(inst, t, plan)
    assert said(rep, "first_stage", "source 'bat' 2029 scenario low", "0 MW kept, but 0.5 MW in scenario high")
    assert rules(rep) == {"first_stage"}


def test_generator_decided_before_available_from(bridge):
    """The same plan when the gas may be decided only from 2027: its 2026 build does not count."""
    inst, plan = bridge
    cut = with_data(inst, ["sites", 0, "power_sources", 1, "available_from"], "2027")
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "available_from", "generator_builds: site 'green' source 'gas' decided 2026",
                "decided before the source's available_from 2027")
    assert said(rep, "kept_within_built", "site 'green' source 'gas' 2028", "1 MW kept > 0 MW built and usable by 2028")


def test_generator_not_usable_within_the_horizon(bridge):
    inst, plan = bridge
    cut = with_data(inst, ["sites", 0, "power_sources", 1, "lead_time_months"], 60)
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "lead_time", "source 'gas' decided 2026",
                "with a lead time of 60 months it is not usable within the horizon")


def test_generator_rows_name_known_sources_and_kinds(bridge):
    inst, plan = bridge
    t = tables(plan)
    g = t["generator_builds"]
    g.loc[at(g, source="bat"), "kind"] = "onsite"
    pw = t["power"]
    pw.loc[at(pw, source="gas", period="2027", scenario="low"), "source"] = "coal"
    rep = check(inst, t, plan)
    assert said(rep, "kind", "generator_builds: site 'green' source 'bat' decided 2026", "kind reported 'onsite', the source is "
                "'battery'")
    assert said(rep, "known_id", "power: site 'green' has no power source 'coal'")
    # the gas record of 2027 is gone: its MW are no longer delivered, and the record is missing
    assert said(rep, "row_present", "power: site 'green' 2027 scenario low", "no record of source 'gas'")
    assert said(rep, "energy_balance", "power: site 'green' 2027 scenario low")


def test_duplicate_and_negative_power_records(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    i = at(pw, source="bat", period="2026", scenario="low")[0]
    pw.loc[i, "mw_available"] = -1.0
    t["power"] = pd.concat([pw, pw.loc[[i]]], ignore_index=True)
    rep = check(inst, t, plan)
    assert said(rep, "nonnegative", "power: site 'green' source 'bat' 2026 scenario low", "negative mw_available -1 MW")
    assert said(rep, "one_row", "power: site 'green' source 'bat' 2026 scenario low", "more than one row")


# ----------------------------------------------------------------------------- power by source
def test_firm_grid_offers_grid_mw(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="grid_firm", period="2028", scenario="low"), "mw_available"] = 10.0
    rep = check(inst, t, plan)
    assert said(rep, "grid_mw", "source 'grid_firm' 2028 scenario low", "mw_available reported 10, the firm grid is 0 MW")
    assert rules(rep) == {"grid_mw"}


def test_sources_deliver_the_facility_power(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="ppa", period="2029", scenario="low"), ["mw_used", "energy_mwh", "energy_cost_usd"]] = [
        0.6, 0.6 * HOURS, 0.6 * HOURS * 10]
    rep = check(inst, t, plan)
    assert said(rep, "energy_balance", "power: site 'green' 2029 scenario low",
                "sources deliver 1.65169 MW, but the facility power is 2.05169 MW")
    assert rules(rep) == {"energy_balance"} | COSTS  # (0.6 MW of PPA energy paid, not 1)


def test_grid_energy_counted_firm_first(bridge):
    """In 2029 the firm grid delivers 0.15 MW; reported as flexible instead."""
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    firm, flex = at(pw, source="grid_firm", period="2029", scenario="low"), at(pw, source="flex", period="2029", scenario="low")
    x = float(pw.loc[firm, "mw_used"].iloc[0])
    pw.loc[flex, ["mw_used", "energy_mwh", "energy_cost_usd", "co2_t", "curtailment_hours"]] = [
        x, x * HOURS, 50 * x * HOURS, 0.1 * x * HOURS, 87.6]
    pw.loc[firm, ["mw_used", "energy_mwh", "energy_cost_usd", "co2_t"]] = 0.0
    rep = check(inst, t, plan)
    assert said(rep, "firm_first", "power: site 'green' 2029 scenario low", "grid_flexible delivers 0.151685 MW, but the "
                "grid energy above the firm 10 MW is 0 MW")
    assert rules(rep) == {"firm_first"}


def test_ppa_above_its_contract(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="ppa", period="2026", scenario="low"), "mw_used"] = 1.2
    pw.loc[at(pw, source="flex", period="2026", scenario="low"), "mw_used"] -= 0.2
    rep = check(inst, t, plan)
    assert said(rep, "ppa_contract_limit", "source 'ppa' 2026 scenario low", "delivers 1.2 MW > 1 MW contracted")
    assert rules(rep) == {"ppa_contract_limit", "energy_mwh", "energy_cost_usd", "co2_t", "co2_t_per_year"} | COSTS


def test_ppa_signed_for_more_than_offered(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[pw["source"] == "ppa", "mw_available"] = 1.5
    rep = check(inst, t, plan)
    assert said(rep, "ppa_contract_mw", "source 'ppa' 2026 scenario high", "contracts 1.5 MW > the 1 MW on offer")
    assert rules(rep) == {"ppa_contract_mw"}


def test_ppa_signed_once_for_every_period_and_scenario(bridge):
    inst, plan = bridge
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="ppa", period="2027", scenario="low"), "mw_available"] = 0.8
    rep = check(inst, t, plan)
    assert said(rep, "first_stage", "source 'ppa' 2027 scenario low", "contracts 0.8 MW, but 1 MW in 2026 scenario high")
    assert rules(rep) == {"first_stage"}


def test_signed_ppa_contracts_its_mw(bridge):
    """The same plan with the PPA signed at 1 MW: the records say 1 MW, as they must; at 2 MW signed, 1 MW is caught."""
    inst, plan = bridge
    signed = with_data(inst, ["sites", 0, "power_sources", 3, "signed"], True)
    assert verify_plan(signed, plan.tables, plan.expected_cost).ok
    more = with_data(signed, ["sites", 0, "power_sources", 3, "mw"], 2)
    rep = verify_plan(more, plan.tables, plan.expected_cost)
    assert said(rep, "ppa_contract_mw", "source 'ppa' 2026 scenario high",
                "mw_available reported 1, the signed PPA contracts 2 MW")


def test_ppa_only_in_its_term(bridge):
    """The same plan against the PPA ending in 2028: its 2029 energy is outside the term."""
    inst, plan = bridge
    cut = with_data(inst, ["sites", 0, "power_sources", 3, "available_until"], "2028")
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "ppa_term", "source 'ppa' 2029 scenario low", "delivers 1 MW outside the PPA's term")
    assert rules(rep) == {"ppa_term"} | COSTS


def test_ppa_cost_changed(bridge):
    inst, plan = bridge
    t = tables(plan)
    c = t["costs"]
    c.loc[at(c, category="ppa_energy", period="2026", scenario="high"), ["undiscounted_usd", "discounted_usd"]] = 1000.0
    rep = check(inst, t, plan)
    assert said(rep, "discounted_usd", "costs: ppa_energy 2026 scenario high",
                "plan reports discounted_usd 1000, recomputed 87600")
    assert rules(rep) == {"discounted_usd"}


def test_flexible_outside_its_term(bridge):
    """The same plan against a flexible connection ending in 2027: in 2028 the site draws flexible MW
    it does not have, holds more than its power, and pauses units without a flexible connection."""
    inst, plan = bridge
    cut = with_data(inst, ["sites", 0, "power_sources", 0, "available_until"], "2027")
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "flexible_mw", "source 'flex' 2028 scenario low", "mw_available reported 3, but 2028 is outside its term")
    assert said(rep, "grid_energy_limit", "power: site 'green' 2028 scenario low", "> firm 0 + flexible 0 MW")
    assert said(rep, "pause_needs_flexible", "compute_use: site 'green' system 'gpu' 2028 scenario low")
    assert said(rep, "grid_limit", "site_power: site 'green' 2028 scenario low", "> power limit 0.9 MW")
    assert rules(rep) == {"flexible_mw", "grid_energy_limit", "pause_needs_flexible", "grid_limit", "power_limit_mw"}


def test_flexible_over_the_curtailment_budget_is_unusable(bridge):
    """The same plan at a site that accepts 0.5 % of hours curtailed: its 1 % flexible connection is
    not usable, so the site has no power at all in 2026."""
    inst, plan = bridge
    cut = with_data(inst, ["sites", 0, "max_curtailment_share"], 0.005)
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "flexible_mw", "source 'flex' 2026 scenario low",
                "flexible connection 'flex' asks for curtailment in 0.01 of hours, more than the site's budget 0.005")
    assert said(rep, "eligible_purchase", "site 'green' system 'gpu' 2026", "the site has no power in 2026")
    assert {"flexible_mw", "eligible_purchase", "pause_needs_flexible", "grid_limit"} <= rules(rep)


def test_power_limit_holds_the_grid_connection(bridge):
    """The same plan with a 2 MW flexible connection: 2026 holds 2.52 MW > 0 + 2 MW (the battery is no energy)."""
    inst, plan = bridge
    cut = with_data(inst, ["sites", 0, "power_sources", 0, "mw"], 2)
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "grid_limit", "site_power: site 'green' 2026 scenario low", "grid connection held 2.51685 MW > power limit "
                "2 MW (firm grid 0 + flexible 2 + on-site generation kept 0)")
    assert "grid_limit" in rules(rep)


# ----------------------------------------------------------------------------- curtailment and pauses
def test_dropped_pause_breaks_firm_supply_in_events(bridge):
    """Without its paused units the site holds 2.52 MW in an event, but only the battery's
    0.5 x 2 MW is firm in 2026."""
    inst, plan = bridge
    t = tables(plan)
    cu = t["compute_use"]
    cu.loc[at(cu, period="2026", scenario="high"), "paused_units"] = 0.0
    rep = check(inst, t, plan)
    assert said(rep, "curtailment_firm_supply", "site_power: site 'green' 2026 scenario high",
                "grid connection held 2.51685 MW less the relief of paused units 0 MW > firm power 1 MW")
    assert rules(rep) == {"curtailment_firm_supply"}


def test_pauses_within_busy_training_units(bridge):
    """2.5 units paused in 2029, when only 2 units train (and the job loses 1 % of their 25 PFLOPS)."""
    inst, plan = bridge
    t = tables(plan)
    cu = t["compute_use"]
    cu.loc[at(cu, period="2029", scenario="low"), "paused_units"] = 2.5
    rep = check(inst, t, plan)
    assert said(rep, "pause_within_training", "compute_use: site 'green' system 'gpu' 2029 scenario low",
                "2.5 paused units > 2 busy training units")
    assert said(rep, "training_supply", "training: site 'green' family 'cuda' 2029 scenario low",
                "jobs placed need 20 PFLOPS, systems of the family deliver 19.75")
    assert rules(rep) == {"pause_within_training", "training_supply"}


def test_jobs_that_need_firm_power_are_covered_by_running_units(bridge):
    """2.1 paused units in 2026: 25.17 - 21 = 4.17 PFLOPS keep running, the firm job needs 5; and the
    pauses lose 0.21 PFLOPS the tolerant job needs."""
    inst, plan = bridge
    t = tables(plan)
    cu = t["compute_use"]
    cu.loc[at(cu, period="2026", scenario="low"), "paused_units"] = 2.1
    rep = check(inst, t, plan)
    assert said(rep, "firm_training_supply", "training: site 'green' family 'cuda' 2026 scenario low",
                "jobs that do not tolerate curtailment need 5 PFLOPS, units that do not pause deliver 4.16854")
    assert rules(rep) == {"firm_training_supply", "training_supply"}


def test_no_pause_where_no_flexible_connection(phases):
    inst, plan = phases
    t = tables(plan)
    cu = t["compute_use"]
    cu.loc[cu.index[0], "paused_units"] = 0.5
    rep = check(inst, t, plan)
    assert said(rep, "pause_needs_flexible", "compute_use: site 'green' system 'gpu' 2026 scenario base",
                "0.5 paused units, but no flexible grid connection delivers in 2026")
    assert rules(rep) == {"pause_needs_flexible"}


# ----------------------------------------------------------------------------- emissions
def test_emissions_recomputed_from_the_power_table(bridge):
    inst, plan = bridge
    t = tables(plan)
    e = t["emissions"]
    e.loc[at(e, period="2027", scenario="high"), "co2_t_per_year"] = 100.0
    rep = check(inst, t, plan)
    assert said(rep, "co2_t_per_year", "emissions: rule 'tax' in CN 2027 scenario high", "reported 100, recomputed 3686")
    assert rules(rep) == {"co2_t_per_year"}


def test_emission_rows_present_and_excess_only_above_soft_caps(bridge):
    inst, plan = bridge
    t = tables(plan)
    e = t["emissions"]
    e.loc[at(e, period="2026", scenario="low"), "excess_t_per_year"] = 10.0
    t["emissions"] = e[~((e["period"] == "2029") & (e["scenario"] == "high"))]
    rep = check(inst, t, plan)
    assert said(rep, "emission_excess", "rule 'tax' in CN 2026 scenario low", "excess 10 tCO2/year reported, but the rule has "
                "no soft cap")
    assert said(rep, "row_present", "emissions: rule 'tax' in CN 2029 scenario high", "no row for 3286.48 tCO2/year")
    assert rules(rep) == {"emission_excess", "row_present"}


def test_hard_cap_respected(bridge):
    """The same plan under a hard cap of 3000 t/year: 2027-2029 emit more."""
    inst, plan = bridge
    rule = {"id": "tax", "jurisdiction": "CN", "price_usd_per_t": 50, "cap_t_per_year": 3000}
    cut = with_data(inst, ["policies", "emission_rules"], [rule])
    rep = verify_plan(cut, plan.tables, plan.expected_cost)
    assert said(rep, "emission_cap", "emissions: rule 'tax' in CN 2027 scenario low", "3686 tCO2/year > hard cap 3000")
    assert rules(rep) == {"emission_cap", "cap_t_per_year"}


def test_soft_cap_excess_covers_the_tonnes_above_the_cap():
    """A soft cap of 3000 t/year at 1 $/t: the plan exceeds it by 686 t in 2027; reporting no excess
    is caught, and so is the penalty it then no longer pays."""
    data = bridge_case()
    data["policies"]["emission_rules"][0].update({"cap_t_per_year": 3000, "hard": False, "excess_penalty_usd_per_t": 1})
    inst, plan = solved(data)
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    c = rep.costs.set_index(["category", "period", "scenario"])["undiscounted_usd"]
    assert c["emission_excess_penalty", "2027", "low"] == pytest.approx(3686.000409 - 3000, rel=1e-6)
    t = tables(plan)
    e = t["emissions"]
    e.loc[at(e, period="2027", scenario="low"), "excess_t_per_year"] = 0.0
    rep = check(inst, t, plan)
    assert said(rep, "emission_cap", "rule 'tax' in CN 2027 scenario low", "3686 tCO2/year > soft cap 3000 + excess 0")
    assert rules(rep) == {"emission_cap"} | COSTS


def test_carbon_price_on_given_emissions():
    """Two idle existing units (0.5 MW each at idle share 0.5... 1 MW), nothing to decide: the
    verifier charges the carbon price on the 4380 t/year they emit, 50 $/t."""
    data = micro(sites=[site("s", "existing", price=10, it_mw=10, grid_co2_t_per_mwh=0.5,
                             existing_units=[{"system": "gpu", "units": 2}])],
                 systems=[system("gpu", price=0, idle=0.5, supply_units=0)],
                 policies={"emission_rules": [{"id": "tax", "jurisdiction": "CN", "price_usd_per_t": 50}]})
    inst = optimizer.instance_from_dict(copy.deepcopy(data), "micro")
    plan = optimizer.solve(inst)
    rep = verify_plan(inst, plan.tables)
    c = rep.costs.set_index(["category", "period", "scenario"])["undiscounted_usd"]
    assert c["carbon_price", "2026", "base"] == pytest.approx(50 * 0.5 * HOURS * 1.0)
    # the plan charges the same constant: 219,000 for 4,380 t, and the verifier agrees
    assert plan.objective == pytest.approx(10 * HOURS * 1.0 + 50 * 0.5 * HOURS * 1.0)
    assert verify_plan(inst, plan.tables, plan.expected_cost).ok


def test_hard_cap_broken_by_given_emissions_is_infeasible():
    """The same 4,380 t/year that nothing can change, under a hard cap of 1,000 t/year: no plan
    exists, and the message names the cap and the fixed tonnes."""
    data = micro(sites=[site("s", "existing", price=10, it_mw=10, grid_co2_t_per_mwh=0.5,
                             existing_units=[{"system": "gpu", "units": 2}])],
                 systems=[system("gpu", price=0, idle=0.5, supply_units=0)],
                 policies={"emission_rules": [{"id": "cap", "jurisdiction": "CN", "cap_t_per_year": 1000}]})
    plan = optimizer.solve(optimizer.instance_from_dict(copy.deepcopy(data), "micro"))
    assert plan.status == "infeasible"
    assert any("emission cap 'cap'" in m and "4380" in m for m in plan.messages), plan.messages


# ----------------------------------------------------------------------------- subsidies and take-or-pay
@pytest.mark.parametrize("applies_to", ["domestic_systems", "qualifying_sites"])
def test_energy_subsidy_discounts_only_tariff_energy(applies_to):
    """2 MW of domestic npus, 1 MW of it from a signed PPA: the 50 % subsidy discounts the 1 MW
    bought at the tariff (100 $/MWh), not the PPA energy."""
    sub = {"id": "cheap", "jurisdiction": "CN", "discount_share": 0.5, "applies_to": applies_to}
    if applies_to == "qualifying_sites":
        sub["domestic_share_threshold"] = 0.5
    data = micro(sites=[site("s", "existing", price=100, it_mw=10, power_sources=[
        {"id": "ppa", "kind": "ppa", "mw": 1, "price_usd_per_mwh": 10}])],
        systems=[system("npu", origin="CN", family="cann", price=0)], regions=[region("r", 20, must_serve=True)],
        policies={"energy_subsidies": [sub]})
    inst, plan = solved(data)
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    c = rep.costs.set_index(["category", "period", "scenario"])["undiscounted_usd"]
    assert c["energy", "2026", "base"] == pytest.approx(100 * HOURS * 1)
    assert c["energy_subsidy", "2026", "base"] == pytest.approx(-0.5 * 100 * HOURS * 1)
    t = tables(plan)
    pol = t["policy"]
    pol.loc[pol.index[0], "usd_per_year"] = 0.5 * 100 * HOURS * 2  # the saving on all facility power
    rep = check(inst, t, plan)
    assert said(rep, "usd_per_year", "energy_subsidy: 'cheap' site 's' 2026 scenario base", "saving reported 876000 USD/year, "
                "recomputed 438000")
    assert rules(rep) == {"usd_per_year"}


def test_take_or_pay_paid_when_not_taken():
    """A signed 2 MW PPA at 10 $/MWh with take-or-pay 80 % and a 1 MW load: 1.6 MW are paid."""
    data = micro(sites=[site("s", "existing", price=100, it_mw=10, power_sources=[
        {"id": "ppa", "kind": "ppa", "mw": 2, "price_usd_per_mwh": 10, "take_or_pay_share": 0.8}])],
        systems=[system("gpu", price=0)], regions=[region("r", 10, must_serve=True)])
    inst, plan = solved(data)
    rep = verify_plan(inst, plan.tables, plan.expected_cost)
    c = rep.costs.set_index(["category", "period", "scenario"])["undiscounted_usd"]
    assert c["ppa_energy", "2026", "base"] == pytest.approx(10 * HOURS * 1.6)
    t = tables(plan)
    pw = t["power"]
    pw.loc[at(pw, source="ppa"), "energy_cost_usd"] = 10 * HOURS * 1.0  # the energy taken only
    rep = check(inst, t, plan)
    assert said(rep, "energy_cost_usd", "power: site 's' source 'ppa' 2026 scenario base", "reported 87600, recomputed 140160")
    assert rules(rep) == {"energy_cost_usd"}


# ----------------------------------------------------------------------------- time to power
def test_time_to_power_sources(bridge):
    inst, plan = bridge
    t = tables(plan)
    ttp = t["time_to_power"]
    ttp.loc[at(ttp, scenario="low"), "sources"] = "flex"
    rep = check(inst, t, plan)
    assert said(rep, "sources", "time_to_power: site 'green' scenario low", "sources reported flex, but flex,ppa deliver "
                "energy in 2026")
    assert rules(rep) == {"sources"}


def test_time_to_power_first_period(bridge):
    inst, plan = bridge
    t = tables(plan)
    ttp = t["time_to_power"]
    ttp.loc[at(ttp, scenario="high"), "first_period"] = "2027"
    rep = check(inst, t, plan)
    assert said(rep, "first_period", "time_to_power: site 'green' scenario high",
                "first_period reported 2027, but the first period with IT load is 2026")
    assert rules(rep) == {"first_period"}


def test_time_to_power_row_and_firm_grid(bridge):
    inst, plan = bridge
    t = tables(plan)
    ttp = t["time_to_power"]
    ttp.loc[at(ttp, scenario="high"), ["firm_grid_period", "years_before_firm_grid"]] = ["2028", 2.0]
    t["time_to_power"] = ttp[ttp["scenario"] != "low"]
    rep = check(inst, t, plan)
    assert said(rep, "firm_grid_period", "time_to_power: site 'green' scenario high", "firm_grid_period reported 2028, but the "
                "first period with a firm grid connection is 2029")
    assert said(rep, "years_before_firm_grid", "reported 2.0, recomputed 3.0")
    assert said(rep, "row_present", "time_to_power: site 'green' scenario low", "no row, but the site has IT load from 2026")
    assert rules(rep) == {"firm_grid_period", "years_before_firm_grid", "row_present"}


def test_pool_pue_as_the_instance_gives_it(phases):
    inst, plan = phases
    t = tables(plan)
    t["pool_load"].loc[t["pool_load"].index[0], "pue"] = 1.3
    rep = check(inst, t, plan)
    assert said(rep, "pue", "pool_load: site 'green' 2026 scenario base pool 'hall'", "pue reported 1.3, recomputed 1")
    assert rules(rep) == {"pue"}


def test_power_tables_read_back_from_csv(bridge, tmp_path):
    """Written and read back, the power tables verify the same."""
    inst, plan = bridge
    from optimizer.results.read import load_tables
    from optimizer.results.write import write_plan

    write_plan(plan, tmp_path / "out")
    back = load_tables(tmp_path / "out")
    rep = verify_plan(inst, back, plan.expected_cost)
    assert rep.ok, rep.messages
