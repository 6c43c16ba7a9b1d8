"""The hand-over: a Pyomo model compiled into the arrays HiGHS holds, passed in bulk.

:func:`compile_model` walks every active constraint once and returns a :class:`Compiled`
model: column bounds, integrality and costs, the objective constant and sense, and the
rows as a row-wise sparse matrix. :func:`pass_to_highs` hands it to a ``highspy.Highs``
with one ``addVars``, ``changeColsIntegrality``, ``addRows`` and ``changeColsCost`` each.

The model HiGHS receives is the one Pyomo's persistent HiGHS interface
(``pyomo.contrib.solver``) builds, array for array: the same columns in the same order
(variables in the order the constraints, then the objective, first mention them, fixed
variables included with both bounds at their value), the same rows in the same order
(each active constraint, its constant moved into the bounds), the same coefficients
(duplicates summed, zeros dropped, fixed variables folded into the bounds) and the same
costs. It only takes a fraction of the time (capb-5000: 0.7 s instead of 4-5 s, see
``benchmarks/README.md``), because it skips what a persistent interface needs and the
solve stage does not: reference counting of variables per constraint, mutable-parameter
bookkeeping and the ``a - b`` expression Pyomo builds for each two-sided row.

Most rows are flat: on each side a number, a variable, a monomial with a number for
coefficient, or a linear expression of those (capb-5000: every row). Those are read
directly, summing in the order Pyomo's standard representation sums, so the numbers are
bit-for-bit the same. Any other row (products of sums, parameters as coefficients, fixed
variables), and an objective that is not flat, is read by Pyomo's own routines, the ones
its persistent interface uses (:func:`_pyomo_terms`); a non-linear one is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.core.base.var import ScalarVar, VarData
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.core.expr.numvalue import native_numeric_types, value
from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression, RangedExpression

INF = highspy.kHighsInf
_NUMBERS = native_numeric_types  # the live set: Pyomo adds numpy types to it when it first sees them


class _Other(Exception):
    """An expression the walk does not read: the row goes to Pyomo's own routines."""


@dataclass
class Compiled:
    """A Pyomo model as HiGHS arrays. Column ``j`` is ``variables[j]``; row ``i`` is the
    ``i``-th active constraint; ``start``/``index``/``value`` are the rows (row-wise CSR)."""

    variables: list[Any]
    cols: dict[int, int]  # id(var) -> column
    rows: dict[Any, int]  # constraint data -> row
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray  # bool per column
    cost: np.ndarray
    offset: float
    sense: Any  # highspy.ObjSense
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    pyomo_rows: int = 0  # rows read by Pyomo's routines (expressions the walk does not read)
    any_fixed: bool = False  # whether a column is a fixed variable

    @property
    def num_col(self) -> int:
        """The number of columns."""
        return len(self.variables)

    @property
    def num_row(self) -> int:
        """The number of rows."""
        return len(self.row_lower)


class _Walk:
    """Columns by first mention, and the terms of flat linear expressions."""

    def __init__(self, fixed: bool) -> None:
        self.cols: dict[int, int] = {}
        self.variables: list[Any] = []
        self.fixed = fixed  # whether the model may hold fixed variables (each is then checked)

    def col(self, v: Any) -> int:
        j = self.cols.get(id(v))
        return self._add(v) if j is None else j

    def _add(self, v: Any) -> int:
        j = self.cols[id(v)] = len(self.variables)
        self.variables.append(v)
        return j

    def flat(self, e: Any, mult: int, terms: dict[int, float], const: float) -> tuple[float, int]:
        """Add ``mult`` (1 or -1) times ``e`` to ``terms`` (column -> coefficient); returns
        ``const`` plus its constant part and the number of constants it held. ``e`` must be
        flat: a number, a variable, a monomial with a number for coefficient, or a linear
        expression of those, with no fixed variable (else :class:`_Other`; variables are checked
        for being fixed only when ``self.fixed``, see :func:`compile_model`). Columns are
        registered in the order of the leaves (the order of Pyomo's variable collector);
        sums run left to right, as in Pyomo's standard representation of such expressions."""
        t = type(e)
        if t is LinearExpression:
            args = e._args_[: e._nargs]
            n = 0
        elif t in _NUMBERS:
            return const + mult * e, 1
        else:
            args = (e,)
            n = 0
        cols, check = self.cols, self.fixed
        for a in args:
            ta = type(a)
            if ta is MonomialTermExpression:
                c, v = a._args_
                if type(c) not in _NUMBERS or (check and v.fixed):
                    raise _Other
                j = cols.get(id(v))
                if j is None:
                    j = self._add(v)
                if c:
                    terms[j] = terms[j] + mult * c if j in terms else mult * c
            elif ta is VarData or ta is ScalarVar:
                if check and a.fixed:
                    raise _Other
                j = cols.get(id(a))
                if j is None:
                    j = self._add(a)
                terms[j] = terms[j] + mult if j in terms else mult
            elif ta in _NUMBERS and t is LinearExpression:
                const += mult * a
                n += 1
            else:
                raise _Other
        return const, n


def flat_value(e: Any) -> float | None:
    """The value of a flat linear expression exactly as Pyomo evaluates it (each monomial
    ``c * x``, then the built-in ``sum`` of the arguments in order); None for any other
    expression or a variable without a value."""
    if type(e) is not LinearExpression:
        return None
    terms: list[Any] = []
    for a in e._args_[: e._nargs]:
        ta = type(a)
        if ta is MonomialTermExpression:
            c, v = a._args_
            x = v.value
            if type(c) not in _NUMBERS or x is None:
                return None
            terms.append(c * x)
        elif ta is VarData or ta is ScalarVar:
            if a.value is None:
                return None
            terms.append(a.value)
        elif ta in _NUMBERS:
            terms.append(a)
        else:
            return None
    return float(sum(terms))


def _row(walk: _Walk, con: Any) -> tuple[dict[int, float], float, float]:
    """(terms, lower, upper) of one constraint of flat sides, its constant moved into the
    bounds (:class:`_Other` for any other constraint)."""
    e = con.expr
    t = type(e)
    terms: dict[int, float] = {}
    lo: Any = None
    up: Any = None
    if t is InequalityExpression or t is EqualityExpression:
        if getattr(e, "_strict", False):
            raise _Other
        a, b = e._args_
        if type(b) in _NUMBERS:
            const, _ = walk.flat(a, 1, terms, 0)
            lo, up = (b, b) if t is EqualityExpression else (None, b)
        elif type(a) in _NUMBERS:
            const, _ = walk.flat(b, 1, terms, 0)
            lo, up = (a, a) if t is EqualityExpression else (a, None)
        else:  # variables on both sides: a - b against 0, as Pyomo normalises it
            const, na = walk.flat(a, 1, terms, 0)
            const, nb = walk.flat(b, -1, terms, const)
            if na > 1 or nb > 1:  # Pyomo sums a side's constants first: leave such rows to it
                raise _Other
            lo, up = (0, 0) if t is EqualityExpression else (None, 0)
    elif t is RangedExpression and type(e._args_[0]) in _NUMBERS and type(e._args_[2]) in _NUMBERS:
        if any(getattr(e, "_strict", (False, False))):
            raise _Other
        const, _ = walk.flat(e._args_[1], 1, terms, 0)
        lo, up = e._args_[0], e._args_[2]
    else:
        raise _Other
    lower = -INF if lo is None or lo == -math.inf else lo - const
    upper = INF if up is None or up == math.inf else up - const
    return terms, lower, upper


def _pyomo_terms(walk: _Walk, expr: Any, body: Any, what: str) -> tuple[dict[int, float], float]:
    """The terms and constant of ``body`` by Pyomo's standard representation (columns first
    registered in the order Pyomo's variable collector finds them in ``expr``), exactly as
    Pyomo's persistent HiGHS interface reads them."""
    from pyomo.contrib.solver.common.util import collect_vars_and_named_exprs
    from pyomo.repn import generate_standard_repn

    for v in collect_vars_and_named_exprs(expr)[1]:
        walk.col(v)
    repn = generate_standard_repn(body, quadratic=False, compute_values=False)
    if repn.nonlinear_expr is not None:
        raise ValueError(f"{what} is not linear; HiGHS solves linear models only")
    terms: dict[int, float] = {}
    for c, v in zip(repn.linear_coefs, repn.linear_vars):
        terms[walk.col(v)] = value(c)
    return terms, value(repn.constant)


def _pyomo_row(walk: _Walk, con: Any) -> tuple[dict[int, float], float, float]:
    """A row read with Pyomo's own routines (as its persistent HiGHS interface reads it)."""
    terms, const = _pyomo_terms(walk, con.expr, con.body, f"constraint {con.name}")
    lower = value(con.lower) - const if con.has_lb() else -INF
    upper = value(con.upper) - const if con.has_ub() else INF
    return terms, lower, upper


def _objective(walk: _Walk, m: pyo.ConcreteModel) -> tuple[dict[int, float], float, Any]:
    """(terms, constant, sense) of the one active objective (none: minimise 0)."""
    objectives = list(m.component_data_objects(pyo.Objective, active=True, descend_into=True, sort=True))
    if len(objectives) > 1:
        raise ValueError("Multiple active objectives found.")
    if not objectives:
        return {}, 0.0, highspy.ObjSense.kMinimize
    obj = objectives[0]
    sense = highspy.ObjSense.kMaximize if obj.sense == pyo.maximize else highspy.ObjSense.kMinimize
    terms: dict[int, float] = {}
    try:
        offset, _ = walk.flat(obj.expr, 1, terms, 0)
    except _Other:
        terms, offset = _pyomo_terms(walk, obj.expr, obj.expr, "the objective")
    return terms, float(offset), sense


def _columns(variables: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Bounds and integrality of the columns: the domain's interval tightened by the
    variable's own bounds; a fixed variable has both bounds at its value. The last item
    says whether any column is fixed."""
    n = len(variables)
    lower, upper = np.empty(n), np.empty(n)
    integer = np.zeros(n, dtype=bool)
    any_fixed = False
    intervals: dict[int, tuple[Any, Any, Any]] = {}
    for j, v in enumerate(variables):
        d = v.domain
        iv = intervals.get(id(d))
        if iv is None:
            iv = intervals[id(d)] = d.get_interval()
        lb, ub, step = iv
        if step not in (0, 1):
            raise ValueError(f"variable {v.name}: domain step {step} is neither continuous nor integer")
        integer[j] = step == 1
        if v.fixed:
            lower[j] = upper[j] = v.value
            any_fixed = True
            continue
        lb = -INF if lb is None else lb
        ub = INF if ub is None else ub
        vlb, vub = v._lb, v._ub  # the variable's own bounds (numbers or constant expressions), as Pyomo reads them
        if vlb is not None:
            lb = max(value(vlb), lb)
        if vub is not None:
            ub = min(value(vub), ub)
        lower[j], upper[j] = lb, ub
    return lower, upper, integer, any_fixed


def compile_model(m: pyo.ConcreteModel) -> Compiled:
    """The model as HiGHS arrays (see the module docstring).

    Rows are first read as if no variable were fixed (checking each mention costs a tenth
    of the time); if a column turns out to be fixed (decisions imposed with ``--force``),
    the model is read again with the check, so fixed variables are folded into the bounds."""
    if next(m.component_data_objects(pyo.SOSConstraint, active=True, descend_into=True), None) is not None:
        raise ValueError("HiGHS does not support SOS constraints")
    compiled = _compile(m, fixed=False)
    if compiled.any_fixed:
        compiled = _compile(m, fixed=True)
    return compiled


def _compile(m: pyo.ConcreteModel, fixed: bool) -> Compiled:
    walk = _Walk(fixed)
    rows: dict[Any, int] = {}
    row_lower: list[float] = []
    row_upper: list[float] = []
    start = [0]
    index: list[int] = []
    values: list[float] = []
    by_pyomo = 0
    for con in m.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        try:
            terms, lo, up = _row(walk, con)
        except _Other:
            terms, lo, up = _pyomo_row(walk, con)
            by_pyomo += 1
        rows[con] = len(row_lower)
        row_lower.append(lo)
        row_upper.append(up)
        index.extend(terms)
        values.extend(terms.values())
        start.append(len(index))
    cost_terms, offset, sense = _objective(walk, m)
    lower, upper, integer, any_fixed = _columns(walk.variables)
    cost = np.zeros(len(walk.variables))
    if cost_terms:
        cost[np.fromiter(cost_terms.keys(), dtype=np.int64)] = np.fromiter(cost_terms.values(), dtype=float)
    starts, idx, val = _drop_zeros(np.array(start, dtype=np.int64), np.array(index, dtype=np.int32),
                                   np.array(values, dtype=float))
    return Compiled(walk.variables, walk.cols, rows, lower, upper, integer, cost, offset, sense,
                    np.array(row_lower, dtype=float), np.array(row_upper, dtype=float), starts, idx, val, by_pyomo,
                    any_fixed)


def _drop_zeros(start: np.ndarray, index: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The row-wise matrix without its zero entries (coefficients that summed to zero)."""
    keep = values != 0
    if keep.all():
        return start.astype(np.int32), index, values
    rows = np.repeat(np.arange(len(start) - 1), np.diff(start))
    counts = np.bincount(rows[keep], minlength=len(start) - 1)
    new_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return new_start, index[keep], values[keep]


def pass_to_highs(h: highspy.Highs, c: Compiled) -> None:
    """Load the compiled model into an empty ``h``, in bulk (the calls Pyomo's persistent
    interface makes, once each, so HiGHS holds the same model in the same layout)."""
    n = c.num_col
    h.addVars(n, c.lower, c.upper)
    if n:  # every column, continuous ones too, as Pyomo does (kContinuous 0, kInteger 1)
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), c.integer.astype(np.uint8))
    h.addRows(c.num_row, c.row_lower, c.row_upper, len(c.index), c.start[:-1], c.index, c.value)
    h.changeObjectiveSense(c.sense)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), c.cost)
    h.changeObjectiveOffset(c.offset)
