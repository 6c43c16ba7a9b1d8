"""Decisions imposed on a solve: forced or forbidden choices and fixed site builds.

Counterfactual questions ("why not the Norway site?", "what if no Nvidia at all?") and
two-stage evaluations (fix the first-stage builds of one plan, re-plan the rest) are
expressed as a :class:`Decisions` value passed to :func:`optimizer.solve`. Forbidden
choices remove variables from the eligible index sets (they never exist); forced ones
add constraints (:mod:`optimizer.model.decisions`).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("site", "option", "system", "family", "site_system")
"""site=ID; option=SITE:OPTION; system=ID; family=ID; site_system=SITE:SYSTEM."""


@dataclass(frozen=True)
class FixedBuild:
    site: str
    option: str
    decision_period: str
    blocks: int


@dataclass(frozen=True)
class Decisions:
    force: tuple[tuple[str, str], ...] = ()
    forbid: tuple[tuple[str, str], ...] = ()
    fixed_builds: tuple[FixedBuild, ...] | None = None  # None: builds are free; () : build nothing

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
    def from_builds(builds) -> Decisions:
        """Fix the first-stage builds of a plan (its ``builds`` table)."""
        return Decisions(fixed_builds=tuple(
            FixedBuild(str(r.site), str(r.option), str(r.decision_period), int(r.blocks)) for r in builds.itertuples()
        ))

    def forbidden(self, kind: str) -> set[str]:
        return {i for k, i in self.forbid if k == kind}

    def forced(self, kind: str) -> set[str]:
        return {i for k, i in self.force if k == kind}
