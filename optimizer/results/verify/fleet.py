"""The fleet re-checked (mirrors :mod:`optimizer.model.fleet`): purchases, units in service, supply, export caps, nameplate.

:func:`check_fleet` reads units bought from the ``fleet`` table and checks them:
purchases only where eligible (capacity can be online, grid, export bans and zero caps,
supply), whole units unless the system is divisible, no more than fit the site, and only
where the site is online. It recomputes units in service (existing units until they
retire plus purchases within their lifetime) and their nameplate, training and inference
figures, compares them with the reported ones, and checks the supply and export-cap
limits and that the nameplate of units in service fits the built capacity. It returns
the recomputed :class:`Fleet`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from optimizer.results.verify.sites import Builds
from optimizer.results.verify.violations import Collector, Row, Subject
from optimizer.results.verify.world import World, fmt, num

Key = tuple[str, str, str, str]
"""(site, system, period, scenario)"""
KEY_FIELDS = ("site", "system", "period", "scenario")
DERIVED_COLUMNS = ("nameplate_mw", "training_pflops", "inference_pflops")


@dataclass
class Fleet:
    """Units bought (as the plan says) and units in service (as recomputed)."""

    bought: dict[Key, float]
    in_service: dict[Key, float]
    nameplate_mw: dict[tuple[str, str, str], float]  # (site, period, scenario) -> MW of units in service
    units_at: dict[tuple[str, str, str], list[tuple[str, float]]]  # (site, period, scenario) -> [(system, units)]

    def domestic_excess(self, W: World, sites: Iterable[str], p: str, w: str, threshold: float,
                        measure: str) -> tuple[float, float]:
        """Installed compute of the sites in (p, w) under ``measure``: (sum (domestic - threshold) x compute, total).

        The domestic share is at least ``threshold`` when the first is >= 0.
        """
        lhs = tot = 0.0
        for s in sites:
            for k, n in self.units_at.get((s, p, w), []):
                c = W.share_weight(k, measure) * n
                tot += c
                lhs += ((1.0 if W.domestic[s, k] else 0.0) - threshold) * c
        return lhs, tot


def check_fleet(W: World, tables: Mapping[str, pd.DataFrame], builds: Builds, out: Collector) -> Fleet:
    """Check the ``fleet`` table against the instance and the builds; returns the recomputed fleet."""
    bought, reported, derived = _read(W, tables, out)
    _check_purchases(W, builds, bought, out)
    n_in = _in_service(W, bought)
    _check_reported(W, n_in, reported, derived, out)
    _check_supply_and_caps(W, bought, out)
    name_mw: dict[tuple[str, str, str], float] = defaultdict(float)
    for (s, k, p, w), n in n_in.items():
        name_mw[s, p, w] += W.systems[k].it_kw_per_unit / 1000.0 * n
    # nameplate of units in service within the built capacity (where the plan can change it)
    for (s, p, w), mw in sorted(name_mw.items()):
        cap = builds.capacity(s, p)
        if W.changeable(s, p, w) and not out.le(mw, cap):
            at = Subject("fleet", f"site '{s}' {p} scenario {w}", head="nameplate")
            out.bad(at, "nameplate_limit", f"nameplate {fmt(mw)} MW of units in service > built IT capacity {fmt(cap)} MW",
                    mw, cap)
    units_at: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)
    for (s, k, p, w), n in n_in.items():
        units_at[s, p, w].append((k, n))
    return Fleet(bought, n_in, name_mw, units_at)


def system_subject(table: str, key: Key) -> Subject:
    """A record of a table with one row per (site, system, period, scenario)."""
    s, k, p, w = key
    return Subject(table, f"site '{s}' system '{k}' {p} scenario {w}")


def _subject(key: Key) -> Subject:
    return system_subject("fleet", key)


def system_rows(W: World, tables: Mapping[str, pd.DataFrame], table: str, out: Collector) -> list[tuple[Key, Row]]:
    """The records of a table with one row per (site, system, period, scenario) that name known entities.

    A record with an unknown identifier is a violation and left out; a second record for a key is one too.
    """
    found: list[tuple[Key, Row]] = []
    seen: set[Key] = set()
    for r in out.rows(tables, table):
        ids = out.keys(table, r, KEY_FIELDS, W.ids)
        if ids is None:
            continue
        key: Key = (ids[0], ids[1], ids[2], ids[3])
        if key in seen:
            out.bad(system_subject(table, key), "one_row", "more than one row")
        seen.add(key)
        found.append((key, r))
    return found


def _read(W: World, tables: Mapping[str, pd.DataFrame], out: Collector) -> tuple[
        dict[Key, float], dict[Key, float], dict[Key, dict[str, float]]]:
    """Units bought, reported units in service and reported derived columns, by key."""
    bought: dict[Key, float] = defaultdict(float)
    reported: dict[Key, float] = {}
    derived: dict[Key, dict[str, float]] = {}
    for key, r in system_rows(W, tables, "fleet", out):
        reported[key] = reported.get(key, 0.0) + num(r.get("units_in_service"))
        bought[key] += num(r.get("units_bought"))
        derived[key] = {c: num(r.get(c)) for c in DERIVED_COLUMNS if c in r}
    return bought, reported, derived


def _check_purchases(W: World, builds: Builds, bought: dict[Key, float], out: Collector) -> None:
    for key, x in sorted(bought.items()):
        s, k, p, w = key
        at = _subject(key)
        if x < -out.slack(x):
            out.bad(at, "nonnegative", f"{fmt(x)} units bought is negative", x, 0.0)
        if abs(x) <= 1e-9:
            continue
        if not W.systems[k].divisible and not out.is_int(x):
            out.bad(at, "whole_units", f"{fmt(x)} units bought is not a whole number (system is not divisible)", x, None)
        if x > W.max_units[s, k] + out.slack(x):
            out.bad(at, "max_units", f"{fmt(x)} units bought > {fmt(W.max_units[s, k])} units that fit the site's largest "
                    "capacity", x, W.max_units[s, k])
        if key not in W.buy_ok:
            out.bad(at, "eligible_purchase", f"{fmt(x)} units bought, but purchases are not allowed: "
                    f"{W.buy_reason(s, k, p, w)}", x, None)
        if not builds.online(s, p):
            out.bad(at, "purchase_needs_online", f"{fmt(x)} units bought, but the site has no capacity online in {p}", x, None)


def _in_service(W: World, bought: dict[Key, float]) -> dict[Key, float]:
    """Units in service: existing units (until retirement) plus purchases within their lifetime."""
    n_in: dict[Key, float] = defaultdict(float)
    skw = {(s, k, w) for (s, k, p, w) in bought} | {
        (s, k, w.id) for (s, k, p) in W.existing_units for w in W.scenarios
    }
    for (s, k, w) in skw:
        for p in W.periods:
            n = W.existing_units.get((s, k, p), 0.0) + sum(
                bought.get((s, k, q, w), 0.0) for q in W.periods if W.in_window(k, q, p)
            )
            if n:
                n_in[s, k, p, w] = n
    return n_in


def _check_reported(W: World, n_in: dict[Key, float], reported: dict[Key, float],
                    derived: dict[Key, dict[str, float]], out: Collector) -> None:
    """Reported units in service and the figures derived from them."""
    for key in sorted(set(n_in) | set(reported)):
        n, rep = n_in.get(key, 0.0), reported.get(key, 0.0)
        if not out.eq(n, rep):
            out.bad(_subject(key), "units_in_service", f"units_in_service reported {fmt(rep)}, "
                    f"but existing units and purchases within their lifetime give {fmt(n)}", rep, n)
    for key, cols in derived.items():
        sk, n = W.systems[key[1]], n_in.get(key, 0.0)
        expect = {"nameplate_mw": n * sk.it_kw_per_unit / 1000.0,
                  "training_pflops": n * sk.training_pflops_per_unit * W.eff[sk.family],
                  "inference_pflops": n * sk.inference_pflops_per_unit}
        out.compare(_subject(key), cols, {c: expect[c] for c in cols})


def _check_supply_and_caps(W: World, bought: dict[Key, float], out: Collector) -> None:
    """Supply per system and period over all sites; export caps."""
    tot: dict[tuple[str, str, str], float] = defaultdict(float)
    for (_s, k, p, w), x in bought.items():
        tot[k, p, w] += x
    for sc in W.scenarios:
        for k, sup in sc.supply.items():
            if sup is None:
                continue
            for p in W.periods:
                used = tot.get((k, p, sc.id), 0.0)
                if not out.le(used, sup[p]):
                    at = Subject("fleet", f"system '{k}' {p} scenario {sc.id}", head="supply")
                    out.bad(at, "supply_limit", f"{fmt(used)} units bought > supply {fmt(sup[p])}", used, sup[p])
        # export caps: units bought in the period at sites in the jurisdiction, systems covered
        for (label, p, cap, sites, systems) in sc.caps:
            used = sum(bought.get((s, k, p, sc.id), 0.0) for s in sites for k in systems)
            if not out.le(used, cap):
                at = Subject("fleet", f"rule '{label}' {p} scenario {sc.id}", head="export_cap")
                out.bad(at, "export_cap", f"{fmt(used)} units bought > cap {fmt(cap)}", used, cap)
