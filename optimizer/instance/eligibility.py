"""Which rule removes a route or a purchase from the eligible sets, and the words for it.

:mod:`optimizer.instance.derive` decides eligibility with these functions:
:func:`route_blocker` (residency, then latency) for a (region, site) route and
:func:`purchase_blockers` for a (site, system, period) purchase — no capacity then (lead
time, earliest period, grid), an export ban or a zero export cap (by rule), no supply, a
site too small for one unit, or an imposed decision. When a must-serve region is left with
no route, :func:`site_blockers` says for each candidate site which of these rules removed
it, in the input's own terms (rule ids, systems, jurisdictions, periods); the message of
``prep.impossible`` and the elastic diagnosis (:mod:`optimizer.diagnose`) use the same words.
A training job is placed only where it fits: :func:`max_training_pflops` bounds what a site
can ever deliver, and :func:`largest_training_hosts` names the biggest candidates.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from optimizer.instance.decisions import Decisions
from optimizer.instance.schema import Instance, Region, Site, System, TrainingJob

if TYPE_CHECKING:
    from optimizer.instance.derive import Prepared, ScenarioData

EARTH_RADIUS_KM = 6371.0
EPS = 1e-9
MAX_REASONS = 6
"""Sites named in one message; the rest are counted."""

Blocker = tuple[str, ...]
"""Why a purchase is not eligible: ``("capacity",)``, ``("ban", rule, jurisdiction)``,
``("cap", rule)``, ``("supply",)``, ``("size",)`` or ``("decision",)``."""


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of radius 6,371 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def route_latency_ms(inst: Instance, g: Region, s: Site) -> float:
    """Round-trip latency from region ``g`` to site ``s``: given, or from the distance."""
    if s.id in g.latency_ms:
        return float(g.latency_ms[s.id])
    net = inst.network
    km = great_circle_km(g.lat, g.lon, s.lat, s.lon) * net.route_factor
    return net.base_latency_ms + km * net.rtt_ms_per_1000_km / 1000.0


def route_blocker(inst: Instance, g: Region, s: Site, ancestors: dict[str, tuple[str, ...]]) -> str | None:
    """Why residency or latency forbid serving region ``g`` from site ``s`` (None: they allow it)."""
    allowed = g.allowed_jurisdictions
    if allowed is not None and not set(allowed) & set(ancestors[s.jurisdiction]):
        return f"'{s.id}' ({s.jurisdiction}) is outside the region's allowed jurisdictions ({', '.join(allowed)})"
    if g.max_latency_ms is None:
        return None
    lat = route_latency_ms(inst, g, s)
    if lat > g.max_latency_ms + EPS:
        return f"'{s.id}' is {round(lat, 1):g} ms away, beyond the {g.max_latency_ms:g} ms latency limit"
    return None


def allowed_by(dec: Decisions, sid: str, k: System) -> bool:
    """Whether the decisions allow system ``k`` at site ``sid``."""
    return not (sid in dec.forbidden("site") or k.id in dec.forbidden("system")
                or k.family in dec.forbidden("family") or f"{sid}:{k.id}" in dec.forbidden("site_system"))


def purchase_blockers(prep: Prepared, w: ScenarioData, sid: str, k: System, p: str,
                      zero_caps: dict[tuple[str, str, str], str],
                      supply: dict[str, dict[str, float] | None]) -> Iterator[Blocker]:
    """Every rule that forbids buying ``k`` at site ``sid`` in period ``p`` of scenario ``w``.

    ``zero_caps`` maps (site, system, period) to the label of an export cap of zero units;
    ``supply`` gives each system's supply per period (None: unlimited)."""
    if not prep.hosts[sid, p]:
        yield ("capacity",)
    ban = w.banned.get((sid, k.id, p))
    if ban is not None:
        yield ("ban", *ban)
    cap = zero_caps.get((sid, k.id, p))
    if cap is not None:
        yield ("cap", cap)
    sup = supply[k.id]
    if sup is not None and sup[p] <= EPS:
        yield ("supply",)
    if prep.max_units[sid, k.id] <= 0:
        yield ("size",)
    if not allowed_by(prep.decisions, sid, k):
        yield ("decision",)


def site_blockers(prep: Prepared, w: ScenarioData, g: Region, p: str, zero_caps: dict[tuple[str, str, str], str],
                  supply: dict[str, dict[str, float] | None]) -> dict[str, str]:
    """For each site that cannot serve region ``g``'s inference in ``p`` of scenario ``w``: why, in input terms.

    A site is out if residency or latency forbid the route, or if no inference system can
    be in service there in ``p``: none is installed, and every purchase that would still be
    in service then is forbidden (the phrase names every rule that forbids one)."""
    inst = prep.inst
    systems = [k for k in inst.systems if k.inference_pflops_per_unit > 0]
    out: dict[str, str] = {}
    for s in inst.sites:
        if (g.id, s.id) not in prep.latency_ms:
            out[s.id] = route_blocker(inst, g, s, prep.ancestors) or f"'{s.id}' has no route to the region"
        elif not systems:
            out[s.id] = f"'{s.id}': no system has inference PFLOPS"
        else:
            why = _no_fleet(prep, w, s, systems, p, zero_caps, supply)
            if why is not None:
                out[s.id] = f"'{s.id}': {why}"
    return out


def _no_fleet(prep: Prepared, w: ScenarioData, s: Site, systems: list[System], p: str,
              zero_caps: dict[tuple[str, str, str], str], supply: dict[str, dict[str, float] | None]) -> str | None:
    """Why none of ``systems`` can be in service at ``s`` in ``p`` (None: one can)."""
    found: dict[str, list[str]] = {}  # phrase with '{q}' for the periods -> periods
    for k in systems:
        if prep.existing_units.get((s.id, k.id, p), 0) > 0:
            return None
        for q in prep.in_service_after[k.id, p]:
            codes = list(purchase_blockers(prep, w, s.id, k, q, zero_caps, supply))
            if not codes:
                return None
            for code in codes:
                for phrase in _phrases(prep, s, k, code, q):
                    found.setdefault(phrase, []).append(q)
    return " and ".join(ph.replace("{q}", ", ".join(dict.fromkeys(qs))) for ph, qs in found.items())


def _phrases(prep: Prepared, s: Site, k: System, code: Blocker, q: str) -> list[str]:
    """The words for one blocker of a purchase in ``q``, with ``{q}`` where the period(s) go."""
    kind = code[0]
    if kind == "capacity":
        out = []
        if not s.existing and not prep.online_choices[s.id, q]:
            later = [c.online for c in prep.choices if c.site == s.id]
            when = (f"earliest online: {min(later, key=prep.periods.index)}" if later
                    else "no build option can be online within the horizon")
            out.append(f"no capacity in {{q}} ({when})")
        if prep.supply.power_max_mw[s.id, q] <= 0:
            out.append("no grid power in {q}" + (f" ({prep.supply.flexible_refused[s.id]})"
                                                 if s.id in prep.supply.flexible_refused else ""))
        return out
    if kind == "ban":
        return [f"export rule '{code[1]}' bans '{k.id}' in {code[2]} in {{q}}"]
    if kind == "cap":
        return [f"export rule '{code[1]}' caps '{k.id}' at 0 units in {{q}}"]
    if kind == "supply":
        return [f"'{k.id}' has no supply in {{q}}"]
    if kind == "size":
        return [f"a '{k.id}' unit ({k.it_kw_per_unit:g} kW IT) does not fit in its {prep.max_it_mw[s.id]:g} MW IT"]
    return [f"'{k.id}' is forbidden there by the imposed decisions"]


def join_reasons(reasons: list[str]) -> str:
    """Reasons joined by '; ', at most :data:`MAX_REASONS` of them (the rest counted)."""
    if len(reasons) <= MAX_REASONS:
        return "; ".join(reasons)
    return "; ".join(reasons[:MAX_REASONS]) + f"; and {len(reasons) - MAX_REASONS} more sites"


def training_density(inst: Instance) -> dict[str, float]:
    """Per family, the most effective training PFLOPS per MW of IT among its systems (0: none trains)."""
    eff = {f.id: f.training_efficiency for f in inst.families}
    out = {f.id: 0.0 for f in inst.families}
    for k in inst.systems:
        if k.training_pflops_per_unit > 0:
            out[k.family] = max(out[k.family], k.training_pflops_per_unit * eff[k.family] / k.it_kw_per_unit * 1000.0)
    return out


def max_training_pflops(prep: Prepared, sid: str, families: list[str] | set[str]) -> float:
    r"""The most effective training PFLOPS site ``sid`` can ever hold on one of ``families``.

    Its largest IT capacity (``max_it_mw``: the existing hall plus the biggest build-out of one
    option) times the family's best PFLOPS per MW of IT. A valid bound in every period and
    scenario: ``unit_time_share`` gives at most :math:`T_k\eta_f` effective PFLOPS per unit in
    service, ``nameplate_limit`` keeps the units' IT power within the built capacity, and
    existing units fit the existing hall (checked on input).
    """
    dens = prep.train_density
    return prep.max_it_mw[sid] * max((dens.get(f, 0.0) for f in families), default=0.0)


def largest_training_hosts(prep: Prepared, job: TrainingJob, top: int = 3) -> str:
    """The ``top`` sites in the job's allowed jurisdictions that could hold the most training PFLOPS, in words."""
    fams = list(job.allowed_families) if job.allowed_families is not None else [f.id for f in prep.inst.families]
    rows = []
    for s in prep.inst.sites:
        if job.allowed_jurisdictions is not None and not set(job.allowed_jurisdictions) & set(prep.ancestors[s.jurisdiction]):
            continue
        pf = max_training_pflops(prep, s.id, fams)
        if pf > 0:
            rows.append((pf, s.id, prep.max_it_mw[s.id]))
    rows.sort(reverse=True)
    return ", ".join(f"'{sid}' {mw:g} MW IT -> at most {pf:g} PFLOPS" for pf, sid, mw in rows[:top])
