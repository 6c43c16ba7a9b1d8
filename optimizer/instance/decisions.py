"""Decisions imposed on a solve: forced or forbidden choices and fixed site builds.

Counterfactual questions ("why not the Norway site?", "what if no Nvidia at all?") and
two-stage evaluations (fix the first-stage builds of one plan, re-plan the rest) are
expressed as a :class:`Decisions` value passed to :func:`optimizer.solve`. Forbidden
choices remove variables from the eligible index sets (they never exist); forced ones
add constraints (:mod:`optimizer.model.decisions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.instance.errors import Problem
    from optimizer.instance.schema import Instance

KINDS = ("site", "option", "system", "family", "site_system")
"""site=ID; option=SITE:OPTION; system=ID; family=ID; site_system=SITE:SYSTEM."""


@dataclass(frozen=True)
class FixedBuild:
    """A site build fixed in advance: ``blocks`` blocks of ``option`` at ``site``, decided in ``decision_period``."""

    site: str
    option: str
    decision_period: str
    blocks: int
    phase: int = 1  # 1: the opening phase; 2, 3, ...: later phases (max_phases > 1)


@dataclass(frozen=True)
class FixedPower:
    """First-stage power decisions fixed in advance: MW of on-site generation and batteries built
    per decision period and kept per period, and MW signed of PPA offers. Anything not listed is 0."""

    built_mw: tuple[tuple[str, str, str, float], ...] = ()  # (site, source, decision period, MW)
    kept_mw: tuple[tuple[str, str, str, float], ...] = ()  # (site, source, period, MW)
    contract_mw: tuple[tuple[str, str, float], ...] = ()  # (site, source, MW) of PPA offers (signed: false)


@dataclass(frozen=True)
class Decisions:
    """Choices imposed on a solve: ``(kind, id)`` pairs forced or forbidden, and optionally the fixed site builds."""

    force: tuple[tuple[str, str], ...] = ()
    forbid: tuple[tuple[str, str], ...] = ()
    fixed_builds: tuple[FixedBuild, ...] | None = None  # None: builds are free; () : build nothing
    fixed_power: FixedPower | None = None  # None: generators and PPA offers are free

    @staticmethod
    def parse(force: list[str] | None = None, forbid: list[str] | None = None) -> Decisions:
        """From ``KIND=ID`` strings as given on the command line."""
        def one(text: str) -> tuple[str, str]:
            kind, sep, ident = text.partition("=")
            if not sep or kind not in KINDS or not ident:
                raise ValueError(f"'{text}': expected KIND=ID with KIND one of {', '.join(KINDS)}")
            if kind in ("option", "site_system") and ":" not in ident:
                raise ValueError(f"'{text}': {kind} takes SITE:{'OPTION' if kind == 'option' else 'SYSTEM'}")
            return kind, ident

        return Decisions(tuple(one(t) for t in force or ()), tuple(one(t) for t in forbid or ()))

    @staticmethod
    def from_builds(builds: pd.DataFrame) -> Decisions:
        """Fix the first-stage builds of a plan (its ``builds`` table)."""
        rows: Iterable[Any] = builds.itertuples()  # named tuples, one field per column
        return Decisions(fixed_builds=tuple(
            FixedBuild(str(r.site), str(r.option), str(r.decision_period), int(r.blocks), int(getattr(r, "phase", 1)))
            for r in rows
        ))

    @staticmethod
    def from_plan(tables: dict[str, pd.DataFrame]) -> Decisions:
        """Fix the whole first stage of a plan: its site builds (``builds``), the on-site generation
        and batteries built and kept (``generator_builds``, ``power``) and the PPA offers signed
        (``power``), so that a re-plan only makes the scenario's own (second-stage) decisions."""
        fixed = Decisions.from_builds(tables["builds"])
        gb = tables.get("generator_builds")
        pw = tables.get("power")
        rows: Iterable[Any] = gb.itertuples() if gb is not None else ()  # named tuples, one field per column
        built = tuple((str(r.site), str(r.source), str(r.decision_period), float(r.mw)) for r in rows)
        kept: list[tuple[str, str, str, float]] = []
        contract: list[tuple[str, str, float]] = []
        if pw is not None and not pw.empty:
            first = pw[pw["scenario"] == pw["scenario"].iloc[0]]  # first-stage values: the same in every scenario
            for r in first.itertuples():
                if r.kind in ("onsite", "battery"):
                    kept.append((str(r.site), str(r.source), str(r.period), float(r.mw_available)))
            for (site, source), ppa in first[first["kind"] == "ppa"].groupby(["site", "source"]):
                contract.append((str(site), str(source), float(ppa["mw_available"].astype(float).max())))
        return Decisions(fixed.force, fixed.forbid, fixed.fixed_builds, FixedPower(built, tuple(kept), tuple(contract)))

    def problems(self, inst: Instance, labels: tuple[str, str] = ("--force", "--forbid")) -> list[Problem]:
        """The forced and forbidden choices that name no record of ``inst``, each with "did you
        mean" and the ids it could name (reported like an unknown ``--set`` id:
        :func:`optimizer.instance.overrides.unknown_id`); ``labels`` name where the forced and
        the forbidden choices came from."""
        return [p for label, pairs in zip(labels, (self.force, self.forbid)) for kind, ident in pairs
                for p in _unknown(inst, label, kind, ident)]

    def check(self, inst: Instance, labels: tuple[str, str] = ("--force", "--forbid")) -> None:
        """Raise :class:`~optimizer.instance.errors.InstanceError` (exit 2 on the command line)
        listing every choice that names an unknown site, option, system or family; called before
        solving by ``explain``, ``sweep`` and every ``dcplan`` command that imposes decisions."""
        from optimizer.instance.errors import InstanceError

        problems = self.problems(inst, labels)
        if problems:
            raise InstanceError(problems)

    def forbidden(self, kind: str) -> set[str]:
        """The ids forbidden for ``kind`` (e.g. the site ids for ``'site'``)."""
        return {i for k, i in self.forbid if k == kind}

    def forced(self, kind: str) -> set[str]:
        """The ids forced for ``kind``."""
        return {i for k, i in self.force if k == kind}


def _unknown(inst: Instance, label: str, kind: str, ident: str) -> list[Problem]:
    """The problem of one ``KIND=ID`` choice whose id (or part of it) names no record, if any."""
    from optimizer.instance.errors import Problem
    from optimizer.instance.overrides import unknown_id

    sites = {s.id: s for s in inst.sites}
    systems = [k.id for k in inst.systems]
    head, _, tail = ident.partition(":")
    if kind == "family":
        rule = None if ident in {f.id for f in inst.families} else unknown_id(ident, [f.id for f in inst.families], "family")
    elif kind == "system":
        rule = None if ident in systems else unknown_id(ident, systems, "system")
    elif head not in sites:  # site, option and site_system name a site first
        rule = unknown_id(head, sites, "site")
    elif kind == "option":
        options = [o.id for o in sites[head].build_options]
        rule = None if tail in options else unknown_id(tail, options, "build option", f"options of site '{head}'")
    elif kind == "site_system":
        rule = None if tail in systems else unknown_id(tail, systems, "system")
    else:
        rule = None
    return [] if rule is None else [Problem(label, f"{kind}={ident}", rule)]
