"""Violations of a plan as structured records, and the collector that judges and gathers them.

A :class:`Violation` names the plan table and record at fault, the rule broken (the
model's constraint name where a check mirrors one, e.g. ``unit_time_share``, else a short
name such as ``whole_units`` or a column name for a recomputed figure), the figure the
plan reports or implies and the figure the verifier recomputes from the instance (the
expected value, or the bound the plan's figure breaks). Its text is the message printed
in a :class:`~optimizer.results.verify.VerificationReport`.

:class:`Collector` holds the tolerances every check judges with (``le``, ``eq``,
``is_int``) and the violations found so far; checks receive it explicitly.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from optimizer.results.verify.world import fmt, ident, num

Figure = float | str | None
Row = dict[str, Any]
"""One record of a plan table, column -> cell."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (``table``, ``record``), which ``rule``, and the figures.

    ``reported`` is the plan's figure (as written in its tables, or as implied by its
    decisions); ``recomputed`` is what the verifier derives from the instance: the value
    the plan should report, or the bound its figure breaks. Either is ``None`` where the
    rule has no such figure. ``str()`` gives the message.
    """

    table: str
    record: str
    rule: str
    reported: Figure
    recomputed: Figure
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Subject:
    """A record a check is about, as messages name it: ``'{head}: {record}'``.

    ``head`` is the check's name in messages where it is not the table's (``supply`` for
    a fleet total, ``energy_subsidy`` for a policy row, ...).
    """

    table: str
    record: str
    head: str = ""

    def __str__(self) -> str:
        return f"{self.head or self.table}: {self.record}"


class Collector:
    """Tolerances, and the violations found so far.

    A constraint ``a <= b`` holds when ``a <= b + tol * max(1, |a|, |b|)``; integrality
    allows ``max(tol, 1e-6)`` per unit.
    """

    def __init__(self, tol: float) -> None:
        self.tol = float(tol)
        self.violations: list[Violation] = []

    # ------------------------------------------------------------------ recording
    def add(self, table: str, record: str, rule: str, message: str,
            reported: Figure = None, recomputed: Figure = None) -> None:
        """Record a violation whose message is given whole."""
        self.violations.append(Violation(table, record, rule, reported, recomputed, message))

    def bad(self, at: Subject, rule: str, detail: str, reported: Figure = None, recomputed: Figure = None) -> None:
        """Record a violation of ``rule`` at ``at``; the message is ``'{at}: {detail}'``."""
        self.add(at.table, at.record, rule, f"{at}: {detail}", reported, recomputed)

    def mismatch(self, at: Subject, rule: str, reported: float, recomputed: float, label: str = "", unit: str = "") -> None:
        """A reported figure that differs from the recomputed one; ``rule`` is its column.

        The message reads ``'{label} reported {x}{unit}, recomputed {y}{unit}'`` (label: the rule).
        """
        self.bad(at, rule, f"{label or rule} reported {fmt(reported)}{unit}, recomputed {fmt(recomputed)}{unit}",
                 reported, recomputed)

    def compare(self, at: Subject, row: Mapping[str, object], expected: Mapping[str, float]) -> None:
        """Each column of ``row`` named in ``expected`` equals its recomputed value."""
        for col, val in expected.items():
            x = num(row.get(col))
            if not self.eq(x, val):
                self.mismatch(at, col, x, val)

    # ------------------------------------------------------------------ reading tables
    def rows(self, tables: Mapping[str, pd.DataFrame], name: str) -> list[Row]:
        """The records of a plan table (a missing table is a violation)."""
        df = tables.get(name)
        if df is None:
            self.add(name, "", "table_present", f"{name}: table missing from the plan")
            return []
        return cast(list[Row], df.to_dict("records"))

    def known(self, table: str, what: str, value: str | None, pool: Container[str]) -> bool:
        """``value`` names an entity of the instance (else a violation)."""
        if value is None or value not in pool:
            self.add(table, f"{what} {value!r}", "known_id", f"{table}: unknown {what} {value!r}", value, None)
            return False
        return True

    def keys(self, table: str, row: Mapping[str, object], fields: Sequence[str],
             pools: Mapping[str, Container[str]]) -> tuple[str, ...] | None:
        """The identifiers of a record in ``fields``, or None at the first unknown one."""
        values: list[str] = []
        for f in fields:
            v = ident(row.get(f))
            if not self.known(table, f, v, pools[f]) or v is None:  # (known() rejects None)
                return None
            values.append(v)
        return tuple(values)

    # ------------------------------------------------------------------ tolerances
    def slack(self, *xs: float) -> float:
        """The absolute tolerance for comparing these values: ``tol`` times the largest magnitude (at least 1)."""
        return self.tol * max([1.0, *(abs(x) for x in xs)])

    def le(self, a: float, b: float) -> bool:
        """``a <= b`` within the tolerance."""
        return a <= b + self.slack(a, b)

    def eq(self, a: float, b: float) -> bool:
        """``a == b`` within the tolerance."""
        return abs(a - b) <= self.slack(a, b)

    def is_int(self, x: float) -> bool:
        """``x`` is a whole number within the tolerance (at least 1e-6, relative)."""
        return abs(x - round(x)) <= max(self.tol, 1e-6) * max(1.0, abs(x))
