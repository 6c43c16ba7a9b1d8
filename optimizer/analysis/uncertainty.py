r"""Planning under uncertainty: how much the scenarios matter, and what hedging buys.

The stochastic model (:func:`optimizer.solve` on an instance with scenarios) chooses the
site builds once — here and now, before the scenario is known — and re-plans systems,
job placement and routing in every scenario. This module judges that plan against the
simpler ways of planning, with the classical measures of stochastic programming
(Birge & Louveaux, *Introduction to Stochastic Programming*, ch. 4):

``RP``
    expected cost of the stochastic ("recourse problem") plan.
``EV``, ``EEV``
    solve the *mean scenario* (one scenario whose demand, prices and job sizes are the
    probability-weighted means and whose policies are those of the most probable
    scenario), fix its builds and evaluate them in every scenario: EEV is that plan's
    expected cost. ``VSS = EEV - RP`` is the value of the stochastic solution.
``WS``
    wait-and-see: each scenario planned alone, as if it were known before building;
    ``WS = sum_w p_w cost*_w`` and ``EVPI = RP - WS`` is the expected value of perfect
    information.
regret
    the plan built for one forecast (scenario ``i`` alone), evaluated in scenario ``j``,
    minus the best cost of ``j``.

With exact solves ``WS <= RP <= EEV``. Every solve stops at a relative MIP gap, so each
number carries that tolerance; :class:`UncertaintyReport` records the largest gap.
:func:`scenario_outcomes` gives a plan's cost, idle capacity and systems, unserved demand
and unplaced jobs per scenario; a risk-averse plan (CVaR, :class:`optimizer.model.context.Risk`) is reported
beside the others when asked for.

Every evaluation of a plan in the scenarios (EEV, the risk-averse and the forecast plans) fixes
its whole first stage and re-plans the rest: the site builds with all their phases, the on-site
generation and batteries built and kept, and the PPA offers signed
(:meth:`~optimizer.instance.decisions.Decisions.from_plan`); re-planned in each scenario they
would be chosen knowing the scenario, and EEV, VSS and the regrets would be wrong.
Progressive hedging shares all of them between its scenario models too
(:mod:`optimizer.analysis.hedging`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.files import atomic_folder
from optimizer.instance.decisions import Decisions
from optimizer.instance.derive import BASE_SCENARIO
from optimizer.instance.schema import Instance
from optimizer.instance.transforms import mean_scenario_instance, most_probable_scenario, single_scenario
from optimizer.options import Risk, SolveOptions, Status
from optimizer.plan import Plan, solve
from optimizer.results.format import money
from optimizer.results.outcomes import (
    IDLE_CAPACITY,
    IDLE_DEFINITION,
    IDLE_SYSTEMS,
    OUTCOME_COLUMNS,
    cvar,
    expected_outcomes,
    scenario_outcomes,
    scenario_probabilities,
)
from optimizer.results.verify import verify_plan

log = logging.getLogger(__name__)

STOCHASTIC, EXPECTED_VALUE, RISK_AVERSE = "stochastic", "expected-value", "risk-averse"
FORECAST = "forecast:"  # prefix of the plan built for one scenario alone, e.g. 'forecast:boom'
AUTO_FORECAST_LIMIT = 12
"""Forecast plans (the regret table) need N x N solves; by default only up to this many scenarios."""

# ----------------------------------------------------------------------------- report
@dataclass
class PlanEvaluation:
    """One set of first-stage builds judged in every scenario."""

    name: str
    description: str
    builds: pd.DataFrame
    outcomes: pd.DataFrame  # scenario_outcomes columns + status; cost NaN where infeasible
    infeasible_in: list[str] = field(default_factory=list)
    objective: float | None = None  # the objective of the solve that chose the builds
    mip_gap: float | None = None

    @property
    def feasible(self) -> bool:
        """Whether the builds admit a plan in every scenario."""
        return not self.infeasible_in and len(self.outcomes) > 0

    @property
    def expected_cost(self) -> float | None:
        """Probability-weighted cost over the scenarios (None unless feasible)."""
        if not self.feasible:
            return None
        return float((self.outcomes["cost_usd"] * self.outcomes["probability"]).sum())

    @property
    def built_mw(self) -> float:
        """IT megawatts built."""
        return float(self.builds["it_mw"].sum()) if len(self.builds) else 0.0


@dataclass
class UncertaintyReport:
    """The value of the stochastic solution and of information for one instance.

    Money in the instance's currency (discounted). ``None`` where a number does not
    exist: ``eev``/``vss`` when the expected-value plan is infeasible in some scenario
    (``plans['expected-value'].infeasible_in`` says where), everything when the
    stochastic instance itself has no plan (``status``).
    """

    instance: str
    currency: str
    scenarios: list[tuple[str, float]]
    status: str
    rp: float | None = None
    ev: float | None = None
    eev: float | None = None
    vss: float | None = None
    ws: float | None = None
    evpi: float | None = None
    risk: Risk | None = None
    scenario_optimum: dict[str, float | None] = field(default_factory=dict)  # wait-and-see cost per scenario
    plans: dict[str, PlanEvaluation] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    max_mip_gap: float = 0.0
    solves: int = 0
    verified: int = 0  # plans re-checked by the independent verifier (each solve with a plan)
    seconds: float = 0.0

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """The headline numbers: one row per quantity, with what it means."""
        n = len(self.scenarios)
        ev_note = ""
        evp = self.plans.get(EXPECTED_VALUE)
        if evp is not None and evp.infeasible_in:
            ev_note = f" — INFEASIBLE in {', '.join(evp.infeasible_in)}: its builds cannot meet the hard rules there"
        rows = [
            ("RP", "stochastic plan, expected cost", self.rp,
             f"one set of builds for all {n} scenarios; systems, jobs and routing re-planned in each"),
            ("EV", "mean-scenario plan, its own cost", self.ev,
             "plan for the probability-weighted mean scenario, judged on that mean alone (ignores the spread)"),
            ("EEV", "mean-scenario plan, expected cost", self.eev,
             "the EV plan's builds fixed, everything else re-planned in each real scenario" + ev_note),
            ("VSS", "value of the stochastic solution = EEV - RP", self.vss,
             "what planning with the scenarios instead of their average saves"),
            ("WS", "wait-and-see, expected cost", self.ws,
             "each scenario planned alone as if known before building, weighted by probability"),
            ("EVPI", "expected value of perfect information = RP - WS", self.evpi,
             "the most a perfect demand forecast would be worth before building"),
        ]
        risky = self.plans.get(RISK_AVERSE)
        stoch = self.plans.get(STOCHASTIC)
        risky_cost = risky.expected_cost if risky is not None else None  # None exactly when not feasible
        if self.risk is not None and risky is not None and risky_cost is not None and stoch is not None and self.rp is not None:
            a = self.risk.alpha

            def tail(ev: PlanEvaluation) -> float:
                """CVaR of the plan's cost."""
                return cvar(ev.outcomes["cost_usd"].tolist(), ev.outcomes["probability"].tolist(), a)

            rows += [
                ("PRA", "price of risk aversion = E[risk-averse] - RP", risky_cost - self.rp,
                 f"expected cost the risk-averse plan (cvar:{a:g}:{self.risk.weight:g}) adds to the stochastic plan"),
                ("CVR", f"CVaR_{a:g} reduction = CVaR(RP) - CVaR(risk-averse)", tail(stoch) - tail(risky),
                 f"how much it lowers the mean cost of the worst {100 * (1 - a):.0f} % of outcomes"),
            ]
        return pd.DataFrame(rows, columns=["quantity", "name", "value_usd", "meaning"])

    def plans_table(self) -> pd.DataFrame:
        """Every plan: what it builds, its expected cost, CVaR, idle capacity and systems, unserved demand and
        unplaced jobs (expected over scenarios; definitions in :mod:`optimizer.results.outcomes`)."""
        rows = []
        for ev in self.plans.values():
            e = expected_outcomes(ev.outcomes.dropna(subset=["cost_usd"])) if ev.feasible else {}
            row = {
                "plan": ev.name,
                "built_mw": ev.built_mw,
                "builds": "; ".join(f"{r.site} {r.it_mw:g} MW ({r.decision_period})" for r in ev.builds.itertuples()) or "none",
                "expected_cost_usd": ev.expected_cost,
                "expected_regret_usd": ((ev.expected_cost - self.ws)
                                        if (ev.expected_cost is not None and self.ws is not None) else None),
                "worst_cost_usd": float(ev.outcomes["cost_usd"].max()) if ev.feasible else None,
                "idle_capacity_pct": e.get("idle_capacity_pct"),
                "idle_systems_pct": e.get("idle_systems_pct"),
                "unserved_pct": e.get("unserved_pct"),
                "jobs_unplaced": e.get("jobs_unplaced"),
                "unplaced_penalty_usd": e.get("unplaced_penalty_usd"),
                "infeasible_in": ", ".join(ev.infeasible_in),
            }
            if self.risk is not None:
                row[f"cvar{self.risk.alpha:g}_usd"] = (cvar(ev.outcomes["cost_usd"].tolist(), ev.outcomes["probability"].tolist(),
                                                            self.risk.alpha) if ev.feasible else None)
            rows.append(row)
        return pd.DataFrame(rows)

    def outcomes_table(self) -> pd.DataFrame:
        """Per plan and scenario: status, cost, regret, idle capacity and systems, unserved demand, unplaced jobs."""
        frames = []
        for ev in self.plans.values():
            df = ev.outcomes.copy()
            df.insert(0, "plan", ev.name)
            df["optimum_usd"] = df["scenario"].map(self.scenario_optimum)
            df["regret_usd"] = df["cost_usd"] - df["optimum_usd"]
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def regret_table(self) -> pd.DataFrame:
        """Regret matrix: rows = plans, columns = scenarios; cost minus the scenario's optimum
        (NaN where the plan is infeasible in the scenario)."""
        o = self.outcomes_table()
        if len(o) == 0:
            return pd.DataFrame()
        piv = o.pivot(index="plan", columns="scenario", values="regret_usd")
        return piv.reindex(index=list(self.plans), columns=[w for w, _ in self.scenarios])

    def builds_table(self) -> pd.DataFrame:
        """Every plan's builds, one row per build, with the plan's name."""
        frames = []
        for ev in self.plans.values():
            if len(ev.builds):
                frames.append(ev.builds.assign(plan=ev.name)[["plan", *ev.builds.columns]])
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["plan", "site", "option", "it_mw"])

    def to_dict(self) -> dict[str, Any]:
        """The headline numbers and settings, as written to ``report.json``."""
        return {
            "instance": self.instance, "currency": self.currency, "status": self.status,
            "scenarios": [{"id": w, "probability": p} for w, p in self.scenarios],
            "rp": self.rp, "ev": self.ev, "eev": self.eev, "vss": self.vss, "ws": self.ws, "evpi": self.evpi,
            "risk": None if self.risk is None else {"measure": "cvar", "alpha": self.risk.alpha, "weight": self.risk.weight},
            "scenario_optimum": self.scenario_optimum,
            "expected_value_plan_infeasible_in": self.plans[EXPECTED_VALUE].infeasible_in if EXPECTED_VALUE in self.plans else [],
            "max_mip_gap": self.max_mip_gap, "solves": self.solves, "verified": self.verified, "seconds": round(self.seconds, 3),
            "messages": self.messages,
        }

    # ------------------------------------------------------------------ text
    def text(self) -> str:
        """The report as text: the measures, every plan and the per-scenario table."""
        cur = self.currency
        lines = [f"Planning under uncertainty — {self.instance} ({len(self.scenarios)} scenarios: "
                 + ", ".join(f"{w} {p:.3g}" for w, p in self.scenarios) + ")",
                 (f"status: {self.status}; {self.solves} solves in {self.seconds:.1f} s, "
                  f"{self.verified} plans re-checked by the verifier; "
                  f"largest MIP gap {100 * self.max_mip_gap:.3f} %")]
        for m in self.messages:
            lines.append(f"  ! {m}")
        if self.rp is None:
            return "\n".join(lines)
        lines += ["", f"  {'':<5} {'quantity':<50} {'value':>14}  meaning"]
        for r in _rows(self.summary()):
            val = money(r.value_usd, cur)  # n/a for None and NaN
            lines.append(f"  {r.quantity:<5} {r.name:<50} {val:>14}  {r.meaning}")
        if self.vss is not None and self.rp:
            lines.append(f"  VSS is {100 * self.vss / self.rp:.2f} % of RP; "
                         f"EVPI is {100 * (self.evpi or 0) / self.rp:.2f} % of RP.")
        lines += ["", "Plans (builds fixed, everything else re-planned in each scenario; expectations over scenarios;",
                  f"  MW-years: {IDLE_DEFINITION}; jobs unplaced: expected number):"]
        pt = self.plans_table()
        for rec in pt.to_dict("records"):
            expected = rec["expected_cost_usd"]
            cost = "infeasible in " + rec["infeasible_in"] if expected is None else money(expected, cur)
            extra = ""
            if rec["expected_cost_usd"] is not None:
                pen = f" ({money(rec['unplaced_penalty_usd'], cur)} penalty)" if rec["jobs_unplaced"] > 1e-9 else ""
                extra = (f", regret {money(rec['expected_regret_usd'], cur)}, worst {money(rec['worst_cost_usd'], cur)}"
                         f", {IDLE_CAPACITY} {rec['idle_capacity_pct']:.1f} %, {IDLE_SYSTEMS} {rec['idle_systems_pct']:.1f} %"
                         f", unserved {rec['unserved_pct']:.1f} %, jobs unplaced {rec['jobs_unplaced']:.2g}{pen}")
                if self.risk is not None:
                    extra += f", CVaR{self.risk.alpha:g} {money(rec[f'cvar{self.risk.alpha:g}_usd'], cur)}"
            lines.append(f"  {rec['plan']:<22} builds {rec['built_mw']:g} MW: {rec['builds']}")
            lines.append(f"  {'':<22} expected cost {cost}{extra}")
        o = self.outcomes_table()
        if len(o):
            lines += ["", f"Per scenario (cost | {IDLE_CAPACITY} % | unserved % | jobs unplaced | "
                          "regret = cost - scenario optimum):"]
            scen = [w for w, _ in self.scenarios]
            head = "  " + f"{'plan':<22}" + "".join(f"{w[:28]:>32}" for w in scen)
            lines.append(head)
            for name in self.plans:
                cells = []
                for w in scen:
                    match = o[(o["plan"] == name) & (o["scenario"] == w)]
                    if len(match) == 0 or pd.isna(match["cost_usd"].iloc[0]):
                        cells.append(f"{'infeasible':>32}")
                    else:
                        c = match.iloc[0]
                        cells.append(f"{money(c.cost_usd, ''):>10}|{c.idle_capacity_pct:4.0f}|{c.unserved_pct:4.0f}"
                                     f"|{int(c.jobs_unplaced):3d}|{money(c.regret_usd, ''):>8}")
                lines.append("  " + f"{name[:22]:<22}" + "".join(cells))
            optimum = [self.scenario_optimum.get(w) for w in scen]
            opt = "".join(f"{money(x, '') if x is not None else 'infeasible':>32}" for x in optimum)
            lines.append("  " + f"{'(scenario optimum)':<22}" + opt)
        lines += ["", "Reading: a plan's regret in a scenario is what its builds cost extra there compared with the",
                  "best plan had that scenario been known; its expected regret equals its expected cost minus WS."]
        return "\n".join(lines)

    def write(self, out_dir: str | Path, overwrite: bool = False) -> Path:
        """Write summary, plans, outcomes, regret and builds as CSV plus ``report.json`` and
        ``report.txt``, atomically; an existing folder is replaced only with ``overwrite``
        (otherwise :class:`~optimizer.files.OutputExistsError`)."""
        out = Path(out_dir)
        with atomic_folder(out, overwrite) as tmp:
            self.summary().to_csv(tmp / "summary.csv", index=False)
            self.plans_table().to_csv(tmp / "plans.csv", index=False)
            self.outcomes_table().to_csv(tmp / "outcomes.csv", index=False)
            self.regret_table().to_csv(tmp / "regret.csv")
            self.builds_table().to_csv(tmp / "builds.csv", index=False)
            (tmp / "report.json").write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
            (tmp / "report.txt").write_text(self.text() + "\n")
        return out


# ----------------------------------------------------------------------------- the analysis
def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``df`` as named tuples (``df.itertuples()``), typed ``Any``: their fields are its columns."""
    return df.itertuples()


class _Runner:
    """Solves with common settings; counts solves, tracks the largest gap, verifies plans."""

    def __init__(self, options: SolveOptions, verify: bool) -> None:
        self.options = options
        self.verify = verify
        self.solves = 0
        self.verified = 0
        self.max_gap = 0.0
        self.messages: list[str] = []

    def solve(self, inst: Instance, label: str, **kw: Any) -> Plan:
        """Solve ``inst`` (keywords go to :func:`optimizer.solve`); note a gap, a failure or a violation under ``label``."""
        plan = solve(inst, self.options, **kw)
        self.solves += 1
        if plan.has_solution:
            self.max_gap = max(self.max_gap, plan.mip_gap or 0.0)
            if plan.status == Status.FEASIBLE:
                self.messages.append(f"{label}: stopped at a {100 * (plan.mip_gap or 0):.2f} % gap ({plan.solver_status})")
            if self.verify:
                rep = verify_plan(inst, plan.tables, plan.expected_cost)
                self.verified += 1
                if not rep.ok:
                    self.messages.append(f"{label}: verifier found {len(rep.violations)} violation(s): "
                                         + "; ".join(rep.messages[:3]))
        elif plan.status != Status.INFEASIBLE:
            self.messages.append(f"{label}: no plan within the limits ({plan.solver_status})")
        return plan


def _evaluate(run: _Runner, inst: Instance, name: str, description: str,
              first_stage: pd.DataFrame | dict[str, pd.DataFrame],
              known: dict[str, Plan] | None = None, decisions: Decisions | None = None) -> PlanEvaluation:
    """Fix a plan's first stage and re-plan everything else in each scenario alone.

    ``first_stage`` is a plan's tables (its whole first stage is fixed:
    :meth:`~optimizer.instance.decisions.Decisions.from_plan`) or a ``builds`` table alone
    (its builds are fixed, or the whole first stage given as ``decisions``: progressive hedging)."""
    probs = scenario_probabilities(inst)
    rows, infeasible = [], []
    if isinstance(first_stage, dict):
        fixed, builds = Decisions.from_plan(first_stage), first_stage["builds"]
    else:
        fixed, builds = (decisions or Decisions.from_builds(first_stage)), first_stage
    for w, p in probs.items():
        plan = (known or {}).get(w)
        if plan is None:
            plan = run.solve(single_scenario(inst, w), f"{name} in '{w}'", decisions=fixed)
        if plan.has_solution:
            o = scenario_outcomes(plan).assign(scenario=w, probability=p)
            o["status"] = plan.status
        else:
            infeasible.append(w)
            o = pd.DataFrame([{"scenario": w, "probability": p, "status": plan.status}], columns=[*OUTCOME_COLUMNS, "status"])
        rows.append(o)
    outcomes = pd.concat(rows, ignore_index=True)
    outcomes["cost_usd"] = outcomes["cost_usd"].astype(float)
    return PlanEvaluation(name, description, builds.reset_index(drop=True), outcomes, infeasible)


def value_of_information(
    inst: Instance,
    *,
    risk: Risk | None = None,
    forecast_plans: bool | None = None,
    options: SolveOptions | None = None,
    verify: bool = True,
) -> UncertaintyReport:
    """Judge the stochastic plan of ``inst`` against the mean-scenario plan, perfect
    information and single-forecast plans (see the module docstring).

    ``risk`` adds the risk-averse plan (CVaR). ``forecast_plans`` evaluates the plan of
    every single scenario in every other one (the regret table; N x N solves); ``None``
    does so up to :data:`AUTO_FORECAST_LIMIT` scenarios. ``options`` apply to each solve
    (default: :class:`SolveOptions` with a 10 s diagnosis limit). ``verify`` re-checks every plan with the independent verifier.
    """
    t0 = time.perf_counter()
    run = _Runner(options if options is not None else SolveOptions(diagnose_time_limit=10.0), verify)
    probs = scenario_probabilities(inst)
    rep = UncertaintyReport(inst.name, inst.horizon.currency, list(probs.items()), "", risk=risk)
    rp = _stochastic_plan(run, inst, rep)
    if rp is None:
        return _done(rep, run, t0)
    alone = _wait_and_see(run, inst, rep, probs, rp)
    _expected_value_plan(run, inst, rep, rp)
    if risk is not None and risk.weight > 0:
        _risk_averse_plan(run, inst, rep, risk)
    if forecast_plans is None:
        forecast_plans = len(probs) <= AUTO_FORECAST_LIMIT
        if not forecast_plans:
            rep.messages.append(f"{len(probs)} scenarios: forecast plans and the regret table skipped "
                                f"(more than {AUTO_FORECAST_LIMIT}; ask with forecast_plans=True / --regret)")
    if forecast_plans and len(probs) > 1:
        _forecast_plans(run, inst, rep, alone)
    return _done(rep, run, t0)


def _stochastic_plan(run: _Runner, inst: Instance, rep: UncertaintyReport) -> float | None:
    """RP: the stochastic plan, into ``rep``; its expected cost (None: the instance has no plan)."""
    sp = run.solve(inst, "stochastic plan")
    rep.status = sp.status
    if not sp.has_solution:
        rep.messages += [f"the stochastic instance has no plan ({sp.status}):", *sp.messages]
        return None
    rep.rp = sp.expected_cost
    so = scenario_outcomes(sp).assign(status=sp.status)
    rep.plans[STOCHASTIC] = PlanEvaluation(STOCHASTIC, "builds chosen for all scenarios at once (risk-neutral)",
                                           sp.tables["builds"].reset_index(drop=True), so, [], sp.objective, sp.mip_gap)
    return rep.rp


def _wait_and_see(run: _Runner, inst: Instance, rep: UncertaintyReport, probs: dict[str, float],
                  rp: float) -> dict[str, Plan]:
    """WS and EVPI: each scenario planned alone; those plans (also the forecast plans)."""
    alone: dict[str, Plan] = {}
    for w in probs:
        plan = run.solve(single_scenario(inst, w), f"scenario '{w}' alone")
        alone[w] = plan
        rep.scenario_optimum[w] = plan.expected_cost if plan.has_solution else None
    optimum = {w: v for w, v in rep.scenario_optimum.items() if v is not None}
    if len(optimum) == len(rep.scenario_optimum):
        ws = sum(probs[w] * optimum[w] for w in probs)
        rep.ws = ws
        rep.evpi = rp - ws
    else:
        bad = [w for w, v in rep.scenario_optimum.items() if v is None]
        rep.messages.append(f"scenario(s) {', '.join(bad)} have no plan even alone: WS and EVPI are undefined")
    return alone


def _expected_value_plan(run: _Runner, inst: Instance, rep: UncertaintyReport, rp: float) -> None:
    """EV, EEV and VSS: the mean scenario's plan, and its builds evaluated in every scenario."""
    mean = mean_scenario_instance(inst)
    top = most_probable_scenario(inst)
    evp = run.solve(mean, "mean-scenario plan")
    if not evp.has_solution:
        rep.messages.append(f"the mean scenario itself has no plan ({evp.status}); EV, EEV and VSS are undefined")
        return
    rep.ev = evp.expected_cost
    desc = "builds for the mean scenario" + (f" (policies of '{top.id}')" if top is not None else "")
    known = {BASE_SCENARIO: evp} if not inst.scenarios else None
    ev_eval = _evaluate(run, inst, EXPECTED_VALUE, desc, evp.tables, known)
    ev_eval.objective, ev_eval.mip_gap = evp.objective, evp.mip_gap
    rep.plans[EXPECTED_VALUE] = ev_eval
    eev = ev_eval.expected_cost  # None exactly when the builds are infeasible somewhere
    if eev is not None:
        rep.eev = eev
        rep.vss = eev - rp
    else:
        rep.messages.append(
            f"the mean-scenario plan's builds admit no plan in scenario(s) {', '.join(ev_eval.infeasible_in)} "
            "(hard rules such as must-serve demand cannot be met): EEV and VSS are undefined — "
            "planning on the average is not just costlier here, it is infeasible")


def _risk_averse_plan(run: _Runner, inst: Instance, rep: UncertaintyReport, risk: Risk) -> None:
    """The risk-averse (CVaR) plan, its builds evaluated in every scenario."""
    rp_risk = run.solve(inst, f"risk-averse plan (cvar:{risk.alpha:g}:{risk.weight:g})", risk=risk)
    if not rp_risk.has_solution:
        rep.messages.append(f"the risk-averse plan has no solution ({rp_risk.status})")
        return
    # re-plan each scenario at least cost with the builds fixed: with weight 1 the
    # objective ignores scenarios outside the tail, whose recourse is then arbitrary
    ev_r = _evaluate(run, inst, RISK_AVERSE,
                     f"minimises (1 - {risk.weight:g}) expected cost + {risk.weight:g} CVaR_{risk.alpha:g}",
                     rp_risk.tables)
    ev_r.objective, ev_r.mip_gap = rp_risk.objective, rp_risk.mip_gap
    rep.plans[RISK_AVERSE] = ev_r


def _forecast_plans(run: _Runner, inst: Instance, rep: UncertaintyReport, alone: dict[str, Plan]) -> None:
    """Forecast plans: the builds of each scenario alone, evaluated in every scenario."""
    for i, plan in alone.items():
        if not plan.has_solution:
            continue
        ev_i = _evaluate(run, inst, FORECAST + i, f"builds for scenario '{i}' alone", plan.tables, {i: plan})
        ev_i.objective, ev_i.mip_gap = plan.objective, plan.mip_gap
        rep.plans[FORECAST + i] = ev_i


def _done(rep: UncertaintyReport, run: _Runner, t0: float) -> UncertaintyReport:
    """Finish ``rep``: the runner's counts and messages, the time, the gap's effect on VSS and EVPI."""
    rep.messages = run.messages + rep.messages
    rep.max_mip_gap = run.max_gap
    rep.solves = run.solves
    rep.verified = run.verified
    rep.seconds = time.perf_counter() - t0
    if rep.max_mip_gap > 0 and rep.rp is not None:
        rep.messages.append(f"each solve stops within a {100 * rep.max_mip_gap:.3g} % relative gap; VSS and EVPI "
                            f"are accurate to about ±{rep.max_mip_gap * abs(rep.rp):,.0f} {rep.currency}")
    return rep


__all__ = [
    "OUTCOME_COLUMNS",
    "PlanEvaluation",
    "UncertaintyReport",
    "cvar",
    "expected_outcomes",
    "mean_scenario_instance",
    "scenario_outcomes",
    "single_scenario",
    "value_of_information",
]
