"""What a solved plan means: cost and risk, idle capacity and idle systems, unserved demand, unplaced jobs.

Read from the plan's result tables (and the instance's per-unit figures) only, so the
printed plan, ``summary.json``, the HTML report, the figures and the uncertainty analysis
share one definition of each number.

**Idle** is MW-weighted everywhere: a unit of a system weighs its nameplate IT power (kW per
unit / 1000), so a 5.5 kW server counts for 1/100 of a 559 kW rack, and units doing work are
``compute_use.busy_units``.

- *idle capacity* (:func:`idle_capacity_pct`): built IT MW not used by busy systems, as a
  share of built IT MW: ``1 - nameplate MW of busy units / built IT MW`` (existing halls
  included). Empty halls and idle systems both count: the "built but unused" capacity of an
  overbuild.
- *idle systems* (:func:`idle_systems_pct`): nameplate MW of installed units doing no work
  / nameplate MW of the units installed (in service).

Over several periods both are shares of MW-years (each period weighted by its length); over
scenarios, shares of the expected MW-years (not the mean of the shares).

**Power** (:func:`time_to_power`, :func:`energy_by_source`, :func:`power_summary`), from the
``time_to_power``, ``power``, ``costs`` and ``emissions`` tables only:

- *time to power* of a site in a scenario: the ``time_to_power`` row of a site with IT load —
  first period with IT load, the sources delivering energy then, the first period with a firm
  grid connection and ``years_before_firm_grid`` (what flexible grid, on-site generation and
  PPAs gained). Sites never loaded in the horizon have none.
- *energy by source*: ``power.energy_mwh`` summed over periods by kind of source (and by
  site), probability-weighted over scenarios.
- *effective energy price* (:data:`ENERGY_PRICE`), per site and over all sites: sum of
  ``power.energy_cost_usd`` / sum of ``power.energy_mwh`` (undiscounted, all periods, expected
  over scenarios) — before subsidies, without carbon prices, generator capex or fixed O&M.
- *all-in energy price* (:data:`ALL_IN_PRICE`), over all sites only (the ``costs`` table has no
  site): the same with the undiscounted ``generator_capex`` and ``generator_fom`` of ``costs``
  added to the energy cost — still before subsidies and without carbon prices.
- *emissions per year*: ``emissions.co2_t_per_year`` per rule and period, expected over scenarios.

**Cost and risk** (:func:`objective_name`, :func:`plan_cvar`): the *expected cost* is the
probability-weighted discounted cost of the ``costs`` table (``Plan.expected_cost``); under
a risk setting ``cvar:ALPHA:WEIGHT`` the solver minimises the *risk objective*
``(1 - WEIGHT) × expected cost + WEIGHT × CVaR_ALPHA`` (``Plan.objective``), where CVaR_ALPHA
is the expected discounted cost of the worst ``1 - ALPHA`` of the scenario probability.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.instance.derive import BASE_SCENARIO
from optimizer.instance.schema import Instance
from optimizer.options import Risk
from optimizer.results.format import money, units

if TYPE_CHECKING:
    from optimizer.plan import Plan


IDLE_CAPACITY = "idle capacity"
IDLE_CAPACITY_MEANS = "built IT MW not used by busy systems"
IDLE_SYSTEMS = "idle systems"
IDLE_SYSTEMS_MEANS = "nameplate MW of installed systems doing no work"
IDLE_DEFINITION = (f"{IDLE_CAPACITY} = {IDLE_CAPACITY_MEANS} / built IT MW; {IDLE_SYSTEMS} = {IDLE_SYSTEMS_MEANS} / "
                   "nameplate MW installed (both MW-weighted)")
"""The two idle shares in one line, as the printed plan, the report and the uncertainty analysis state them."""

EXPECTED_COST = "expected discounted cost"
DIVISIBLE_PRICE_LIMIT_USD = 1e6
"""A divisible system priced above this per unit gets a warning: its continuous counts are not buildable."""

OUTCOME_COLUMNS = [
    "scenario", "probability", "cost_usd",
    "installed_mw_years", "idle_system_mw_years", "idle_systems_pct",
    "built_mw_years", "busy_mw_years", "idle_capacity_pct",
    "demand_pflops_years", "unserved_pflops_years", "unserved_pct",
    "jobs_unplaced", "unplaced_penalty_usd",
]
"""Columns of :func:`scenario_outcomes`. ``*_years`` are sums over periods weighted by the
period's length (MW-years, PFLOPS-years)."""

MW_USE_COLUMNS = ["installed_mw", "busy_mw", "idle_mw", "training_mw", "inference_mw"]
"""Columns :func:`mw_use` adds to ``compute_use``: nameplate MW of the units in service, busy, idle, and
busy on training and on inference."""


def scenario_probabilities(inst: Instance) -> dict[str, float]:
    """Scenario id -> probability; an instance without scenarios has one, ``base``, with 1."""
    return {w.id: w.probability for w in inst.scenarios} if inst.scenarios else {BASE_SCENARIO: 1.0}


def probability_weights(scenarios: pd.Series, probs: dict[str, float]) -> pd.Series:
    """The probability of each row's scenario as floats (0 for a scenario not in ``probs``). Float
    even for an empty column: pandas' string dtype keeps ``.map`` of an empty column a string
    column, which cannot multiply a float one."""
    return scenarios.map(probs).astype(float).fillna(0.0)


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 1e-12 else 0.0


def idle_capacity_pct(built_mw: float, busy_mw: float) -> float:
    """Idle capacity, %: built IT MW not used by busy systems / built IT MW (0 with nothing built)."""
    return _pct(max(0.0, built_mw - busy_mw), built_mw)


def idle_systems_pct(idle_mw: float, installed_mw: float) -> float:
    """Idle systems, %: nameplate MW of installed units doing no work / nameplate MW installed (0 with none)."""
    return _pct(max(0.0, idle_mw), installed_mw)


def mw_use(compute_use: pd.DataFrame, inst: Instance) -> pd.DataFrame:
    """``compute_use`` with :data:`MW_USE_COLUMNS`: each row's units weighted by their nameplate IT MW.

    ``busy_mw`` = busy units × kW per unit / 1000, split into training (training PFLOPS used /
    effective training PFLOPS per unit) and inference (inference PFLOPS used / inference PFLOPS
    per unit); ``idle_mw`` = idle units × kW per unit / 1000."""
    cu = compute_use.copy()
    if len(cu) == 0:
        return cu.assign(**{c: pd.Series(dtype=float) for c in MW_USE_COLUMNS})
    sysd = {k.id: k for k in inst.systems}
    eff = {f.id: f.training_efficiency for f in inst.families}
    mw = cu["system"].map({k: s.it_kw_per_unit / 1000.0 for k, s in sysd.items()}).astype(float)
    train_per = cu["system"].map({k: s.training_pflops_per_unit * eff[s.family] for k, s in sysd.items()}).astype(float)
    infer_per = cu["system"].map({k: s.inference_pflops_per_unit for k, s in sysd.items()}).astype(float)
    tr = pd.to_numeric(cu["training_pflops_used"], errors="coerce").fillna(0.0)
    inf = pd.to_numeric(cu["inference_pflops_used"], errors="coerce").fillna(0.0)
    cu["installed_mw"] = cu["units_in_service"].astype(float) * mw
    cu["busy_mw"] = cu["busy_units"].astype(float) * mw
    cu["idle_mw"] = cu["idle_units"].astype(float).clip(lower=0) * mw
    cu["training_mw"] = (tr / train_per.where(train_per > 0)).fillna(0.0) * mw
    cu["inference_mw"] = (inf / infer_per.where(infer_per > 0)).fillna(0.0) * mw
    return cu


def idle_by(tables: dict[str, pd.DataFrame], inst: Instance, keys: list[str]) -> pd.DataFrame:
    """Built, installed, busy and idle MW summed by ``keys`` (a subset of site, period, scenario), with
    ``idle_capacity_pct`` and ``idle_systems_pct`` of each group. Not weighted by period length."""
    cu = mw_use(tables["compute_use"], inst)
    sp = tables["site_power"]
    cols = keys + ["built_mw", *MW_USE_COLUMNS]
    if len(cu) == 0 and len(sp) == 0:
        return pd.DataFrame(columns=[*cols, "idle_capacity_pct", "idle_systems_pct"])
    use = cu.groupby(keys, as_index=False)[MW_USE_COLUMNS].sum() if len(cu) else pd.DataFrame(columns=keys + MW_USE_COLUMNS)
    built = (sp.assign(built_mw=sp["built_it_mw"].astype(float)).groupby(keys, as_index=False)["built_mw"].sum()
             if len(sp) else pd.DataFrame(columns=[*keys, "built_mw"]))
    d = built.merge(use, on=keys, how="outer")
    d[["built_mw", *MW_USE_COLUMNS]] = d[["built_mw", *MW_USE_COLUMNS]].astype(float).fillna(0.0)
    d["idle_capacity_pct"] = [idle_capacity_pct(b, z) for b, z in zip(d["built_mw"], d["busy_mw"])]
    d["idle_systems_pct"] = [idle_systems_pct(i, n) for i, n in zip(d["idle_mw"], d["installed_mw"])]
    return d[[*cols, "idle_capacity_pct", "idle_systems_pct"]]


def scenario_outcomes(plan: Plan) -> pd.DataFrame:
    """Cost, idle capacity and systems, unserved demand and unplaced jobs of a solved plan, one row per scenario.

    - ``cost_usd``: the scenario's discounted cost (first-stage builds included);
    - ``idle_systems_pct``: :func:`idle_systems_pct` of the MW-years (module docstring);
    - ``idle_capacity_pct``: :func:`idle_capacity_pct` of the MW-years;
    - ``unserved_pct``: inference demand not served, of all demand (PFLOPS-years);
    - ``jobs_unplaced``: training jobs of the scenario left unplaced, and ``unplaced_penalty_usd``
      their discounted cost (cost category ``unplaced_penalty``).

    A plan without a solution gives an empty table with these columns.
    """
    if not plan.has_solution:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    return tables_outcomes(plan.tables, plan.instance)


def tables_outcomes(t: dict[str, pd.DataFrame], inst: Instance) -> pd.DataFrame:
    """:func:`scenario_outcomes` of a plan's result tables (``plan.tables`` or a result folder's) and its instance."""
    probs = scenario_probabilities(inst)
    years = {p.id: p.years for p in inst.horizon.periods}

    def by_scenario(df: pd.DataFrame, value: pd.Series) -> dict[str, float]:
        if len(df) == 0:
            return {}
        return {str(w): float(x) for w, x in value.groupby(df["scenario"]).sum().items()}

    cu = mw_use(t["compute_use"], inst)
    y_cu = cu["period"].map(years).astype(float) if len(cu) else pd.Series(dtype=float)
    installed = by_scenario(cu, cu["installed_mw"] * y_cu)
    idle = by_scenario(cu, cu["idle_mw"] * y_cu)
    busy = by_scenario(cu, cu["busy_mw"] * y_cu)
    sp = t["site_power"]
    built = by_scenario(sp, sp["built_it_mw"] * sp["period"].map(years).astype(float)) if len(sp) else {}
    dm = t["demand"]
    y_dm = dm["period"].map(years).astype(float) if len(dm) else pd.Series(dtype=float)
    demand = by_scenario(dm, dm["demand_pflops"] * y_dm) if len(dm) else {}
    unserved = by_scenario(dm, dm["unserved_pflops"] * y_dm) if len(dm) else {}
    c = t["costs"]
    cost = c.groupby("scenario")["discounted_usd"].sum().to_dict() if len(c) else {}
    pen = c[c["category"] == "unplaced_penalty"] if len(c) else c
    penalty = pen.groupby("scenario")["discounted_usd"].sum().to_dict() if len(pen) else {}
    tr = t["training"]
    unplaced = (~tr["placed"].astype(bool)).groupby(tr["scenario"]).sum().to_dict() if len(tr) else {}
    rows = []
    for w, p in probs.items():
        n, i = installed.get(w, 0.0), idle.get(w, 0.0)
        b, bz = built.get(w, 0.0), busy.get(w, 0.0)
        d, z = demand.get(w, 0.0), unserved.get(w, 0.0)
        rows.append([w, p, float(cost.get(w, 0.0)), n, i, idle_systems_pct(i, n), b, bz, idle_capacity_pct(b, bz),
                     d, z, _pct(z, d), int(unplaced.get(w, 0)), float(penalty.get(w, 0.0))])
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def expected_outcomes(outcomes: pd.DataFrame) -> dict[str, float]:
    """Probability-weighted means of a :func:`scenario_outcomes` table (``jobs_unplaced``: the expected number).

    Shares are recomputed from the expected quantities (expected idle MW-years / expected
    built MW-years), not averaged.
    """
    if len(outcomes) == 0:
        return {}
    p = outcomes["probability"]
    e = {c: float((outcomes[c].astype(float) * p).sum()) for c in OUTCOME_COLUMNS[2:] if not c.endswith("_pct")}
    e["idle_systems_pct"] = idle_systems_pct(e["idle_system_mw_years"], e["installed_mw_years"])
    e["idle_capacity_pct"] = idle_capacity_pct(e["built_mw_years"], e["busy_mw_years"])
    e["unserved_pct"] = _pct(e["unserved_pflops_years"], e["demand_pflops_years"])
    return e


def cvar(costs: list[float], probs: list[float], alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: the expected cost of its worst 1 - alpha
    probability mass (Rockafellar–Uryasev; an atom on the boundary counts in part)."""
    tail = 1.0 - alpha
    left, acc = tail, 0.0
    for c, p in sorted(zip(costs, probs), key=lambda x: -x[0]):
        take = min(p, left)
        acc += take * c
        left -= take
        if left <= 1e-15:
            break
    return acc / tail


# ----------------------------------------------------------------------------- headline
def risk_averse(risk: Risk | None) -> bool:
    """Whether the objective is the risk objective (a risk setting with a weight above 0)."""
    return risk is not None and risk.weight > 0


def cvar_name(alpha: float) -> str:
    """``CVaR_0.9 of discounted cost``: the label of :func:`plan_cvar`."""
    return f"CVaR_{alpha:g} of discounted cost"


def objective_name(risk: Risk | None) -> str:
    """What ``Plan.objective`` is: the expected discounted cost, or the risk objective with its weights."""
    if not risk_averse(risk):
        return EXPECTED_COST
    assert risk is not None
    return f"risk objective ({1 - risk.weight:g} × expected cost + {risk.weight:g} × CVaR_{risk.alpha:g})"


def plan_cvar(plan: Plan) -> float | None:
    """CVaR_alpha of the plan's discounted scenario costs (the worst 1 - alpha of the scenario
    probability); None without a risk setting or a solution."""
    if plan.risk is None or not plan.has_solution:
        return None
    o = scenario_outcomes(plan)
    return cvar(o["cost_usd"].tolist(), o["probability"].tolist(), plan.risk.alpha)


def headline_costs(plan: Plan) -> list[tuple[str, float | None]]:
    """(label, USD) of the plan's cost figures, objective first: the expected discounted cost alone, or the
    risk objective, the expected discounted cost and the CVaR under a risk setting."""
    if not risk_averse(plan.risk):
        return [(EXPECTED_COST, plan.objective)]
    assert plan.risk is not None
    tail = 100 * (1 - plan.risk.alpha)
    return [(objective_name(plan.risk), plan.objective), (EXPECTED_COST, plan.expected_cost),
            (f"{cvar_name(plan.risk.alpha)} (mean of the worst {tail:g} % of scenario probability)", plan_cvar(plan))]


def divisible_warnings(inst: Instance, fleet: pd.DataFrame | None = None) -> list[str]:
    """A warning per divisible system priced above :data:`DIVISIBLE_PRICE_LIMIT_USD` per unit (in some
    period) that the plan installs (every such system when ``fleet`` is None)."""
    n = fleet["units_in_service"].astype(float) if fleet is not None and len(fleet) else pd.Series(dtype=float)
    cur = inst.horizon.currency
    out = []
    for k in inst.systems:
        price = max(k.price_usd_per_unit.values(), default=0.0)
        if not (k.divisible and price > DIVISIBLE_PRICE_LIMIT_USD):
            continue
        mine = n[fleet["system"] == k.id] if fleet is not None and len(n) else n
        if fleet is not None and not (mine > 0).any():
            continue
        odd = [x for x in mine if abs(x - round(x)) > 1e-6]
        example = f" (the plan has {units(odd[0], True)})" if odd else ""
        out.append(f"system '{k.id}' costs {money(price, cur)} per unit but is divisible: its unit counts are "
                   f"continuous{example}, not whole units; set divisible: false to plan whole units")
    return out


def plan_warnings(plan: Plan) -> list[str]:
    """Warnings about how to read a solved plan (``summary.json`` ``warnings``, the printed plan, the report):
    :func:`divisible_warnings` for the systems it installs."""
    return divisible_warnings(plan.instance, plan.tables["fleet"]) if plan.has_solution else []


def energy_subsidies(tables: dict[str, pd.DataFrame], inst: Instance) -> pd.DataFrame:
    """Energy subsidies received, expected over scenarios, per period: ``sites`` receiving one (in some
    scenario), ``usd_per_year`` (the saving per year, ``policy.usd_per_year``) and ``discounted_usd``
    (the discounted saving: minus the ``energy_subsidy`` credit of the ``costs`` table)."""
    probs = scenario_probabilities(inst)
    pol, c = tables["policy"], tables["costs"]
    got = pol[(pol["kind"] == "energy_subsidy") & (pol["usd_per_year"].astype(float) > 0)] if len(pol) else pol
    credit = c[c["category"] == "energy_subsidy"] if len(c) else c
    rows = []
    for p in [q.id for q in inst.horizon.periods]:
        g, h = got[got["period"] == p], credit[credit["period"] == p]
        per_year = float((g["usd_per_year"].astype(float) * probability_weights(g["scenario"], probs)).sum())
        disc = -float((h["discounted_usd"].astype(float) * probability_weights(h["scenario"], probs)).sum())
        if len(g) or len(h):
            rows.append([p, int(g["scope"].nunique()), per_year, disc])
    return pd.DataFrame(rows, columns=["period", "sites", "usd_per_year", "discounted_usd"])


# ----------------------------------------------------------------------------- power
SOURCE_KINDS = ("grid_firm", "grid_flexible", "ppa", "onsite", "battery")
"""Kinds of power source (``power.kind``), in the order they are shown."""

ENERGY_PRICE = "effective energy price"
ENERGY_PRICE_MEANS = ("energy cost / MWh delivered, undiscounted, before subsidies; excludes carbon prices, "
                      "generator capex and fixed O&M")
ALL_IN_PRICE = "all-in energy price"
ALL_IN_PRICE_MEANS = ("energy cost + generator capex + generator fixed O&M / MWh delivered, undiscounted, before "
                      "subsidies; excludes carbon prices")


def _text(x: Any) -> str | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) or x == "" else str(x)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def time_to_power(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Time to power of every site with IT load, per scenario, in the ``time_to_power`` table's order:
    ``site``, ``scenario``, ``first_period``, ``sources`` (a list of source ids), ``firm_grid_period``
    (None: no firm grid in the horizon) and ``years_before_firm_grid`` (None if that is None)."""
    ttp = tables.get("time_to_power")
    if ttp is None or len(ttp) == 0:
        return []
    out = []
    for r in ttp.itertuples():
        first = _text(r.first_period)
        if first is None:
            continue
        out.append({"site": str(r.site), "scenario": str(r.scenario), "first_period": first,
                    "sources": [x for x in (_text(r.sources) or "").split(",") if x],
                    "firm_grid_period": _text(r.firm_grid_period), "years_before_firm_grid": _num(r.years_before_firm_grid)})
    return out


def source_kinds(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, str], str]:
    """(site, source id) -> kind of source, from the ``power`` table."""
    pw = tables.get("power")
    if pw is None or len(pw) == 0:
        return {}
    return {(str(s), str(f)): str(k) for s, f, k in zip(pw["site"], pw["source"], pw["kind"], strict=True)}


def sources_text(site: str, sources: list[str], kinds: dict[tuple[str, str], str]) -> str:
    """Source ids as shown: ``gas (onsite), flex (grid_flexible), grid_firm`` (the kind beside an id that is
    not its kind; ``kinds`` from :func:`source_kinds`); ``none`` for no source."""
    return ", ".join(f if kinds.get((site, f), f) == f else f"{f} ({kinds[site, f]})" for f in sources) or "none"


def _kind_order(kinds: Any) -> list[str]:
    seen = {str(k) for k in kinds}
    return [k for k in SOURCE_KINDS if k in seen] + sorted(seen - set(SOURCE_KINDS))


def energy_by_source(tables: dict[str, pd.DataFrame], inst: Instance) -> pd.DataFrame:
    """``energy_mwh``, ``energy_cost_usd`` and ``co2_t`` of the ``power`` table summed over periods per site and
    kind of source, probability-weighted over scenarios; one row per (site, kind) the table has."""
    cols = ["site", "kind", "energy_mwh", "energy_cost_usd", "co2_t"]
    pw = tables.get("power")
    if pw is None or len(pw) == 0:
        return pd.DataFrame(columns=cols)
    w = probability_weights(pw["scenario"], scenario_probabilities(inst))
    d = pw[["site", "kind"]].astype(str)
    for c in cols[2:]:
        d[c] = pd.to_numeric(pw[c], errors="coerce").fillna(0.0) * w
    return d.groupby(["site", "kind"], as_index=False, sort=False)[cols[2:]].sum()


def usd_per_mwh(cost_usd: float, mwh: float) -> float | None:
    """Cost / energy, None without energy."""
    return cost_usd / mwh if mwh > 1e-9 else None


def energy_mix(tables: dict[str, pd.DataFrame], inst: Instance) -> dict[str, Any]:
    """Energy by source, MWh (``summary.json`` ``energy_by_source_mwh``): ``all_sites`` (kind -> MWh) and
    ``by_site`` (site -> kind -> MWh), from :func:`energy_by_source`."""
    e = energy_by_source(tables, inst)
    kinds = _kind_order(e["kind"])
    total = e.groupby("kind")["energy_mwh"].sum()
    by_site: dict[str, dict[str, float]] = {}
    for s, g in e.groupby("site", sort=False):
        mine = g.groupby("kind")["energy_mwh"].sum()
        by_site[str(s)] = {k: float(mine[k]) for k in kinds if k in mine.index}
    return {"all_sites": {k: float(total[k]) for k in kinds}, "by_site": by_site}


def energy_prices(tables: dict[str, pd.DataFrame], inst: Instance) -> dict[str, Any]:
    """:data:`ENERGY_PRICE` (``summary.json`` ``effective_usd_per_mwh``): ``all_sites`` and ``by_site``,
    USD/MWh (None without energy)."""
    e = energy_by_source(tables, inst)
    by = e.groupby("site", sort=False)[["energy_cost_usd", "energy_mwh"]].sum()
    return {"all_sites": usd_per_mwh(float(e["energy_cost_usd"].sum()), float(e["energy_mwh"].sum())),
            "by_site": {str(s): usd_per_mwh(float(r.energy_cost_usd), float(r.energy_mwh)) for s, r in by.iterrows()}}


def all_in_price(tables: dict[str, pd.DataFrame], inst: Instance) -> float | None:
    """:data:`ALL_IN_PRICE` over all sites, USD/MWh (None without energy)."""
    e = energy_by_source(tables, inst)
    c = tables.get("costs")
    extra = 0.0
    if c is not None and len(c):
        g = c[c["category"].isin(["generator_capex", "generator_fom"])]
        w = probability_weights(g["scenario"], scenario_probabilities(inst))
        extra = float((pd.to_numeric(g["undiscounted_usd"], errors="coerce").fillna(0.0) * w).sum())
    return usd_per_mwh(float(e["energy_cost_usd"].sum()) + extra, float(e["energy_mwh"].sum()))


def emissions_per_year(tables: dict[str, pd.DataFrame], inst: Instance) -> pd.DataFrame:
    """Per emission rule and period: ``co2_t_per_year`` and ``excess_t_per_year`` expected over scenarios, with
    the rule's ``jurisdiction``, ``cap_t_per_year`` (None: price only) and ``price_usd_per_t``."""
    cols = ["rule", "jurisdiction", "period", "co2_t_per_year", "cap_t_per_year", "price_usd_per_t", "excess_t_per_year"]
    em = tables.get("emissions")
    if em is None or len(em) == 0:
        return pd.DataFrame(columns=cols)
    w = probability_weights(em["scenario"], scenario_probabilities(inst))
    d = em.assign(co2_t_per_year=pd.to_numeric(em["co2_t_per_year"], errors="coerce").fillna(0.0) * w,
                  excess_t_per_year=pd.to_numeric(em["excess_t_per_year"], errors="coerce").fillna(0.0) * w)
    out = d.groupby(["rule", "period"], as_index=False, sort=False).agg(
        jurisdiction=("jurisdiction", "first"), co2_t_per_year=("co2_t_per_year", "sum"),
        cap_t_per_year=("cap_t_per_year", "first"), price_usd_per_t=("price_usd_per_t", "first"),
        excess_t_per_year=("excess_t_per_year", "sum"))
    out["cap_t_per_year"] = [_num(x) for x in out["cap_t_per_year"]]
    return out[cols]


def power_summary(tables: dict[str, pd.DataFrame], inst: Instance) -> dict[str, Any]:
    """The power figures of ``summary.json``: ``time_to_power`` (:func:`time_to_power`),
    ``energy_by_source_mwh`` (:func:`energy_mix`), ``effective_usd_per_mwh`` (:func:`energy_prices`),
    ``all_in_usd_per_mwh`` (:func:`all_in_price`) and, with emission rules, ``emissions_t_per_year``
    (rule -> period -> expected tCO2 per year)."""
    out: dict[str, Any] = {"time_to_power": time_to_power(tables), "energy_by_source_mwh": energy_mix(tables, inst),
                           "effective_usd_per_mwh": energy_prices(tables, inst),
                           "all_in_usd_per_mwh": all_in_price(tables, inst)}
    em = emissions_per_year(tables, inst)
    if len(em):
        out["emissions_t_per_year"] = {str(r): {str(p): float(x) for p, x in zip(g["period"], g["co2_t_per_year"],
                                                                                 strict=True)}
                                       for r, g in em.groupby("rule", sort=False)}
    return out
