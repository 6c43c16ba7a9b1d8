"""Readable, valid and unique column and row names for a model file (MPS or LP)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pyomo.environ as pyo

NAME_MAX = 255
"""Longest column or row name written (the LP format's limit)."""

_LP_OTHER = re.compile(r"[^A-Za-z0-9_(),.]")
_BLANK = re.compile(r"\s")


def model_names(m: pyo.ConcreteModel, cols: dict[int, int], rows: dict[Any, int], num_col: int, num_row: int,
                *, lp: bool) -> tuple[list[str], list[str]]:
    """Column and row names for a model file: the Pyomo names (``component[index,...]``) of the
    variables and constraints that ``cols`` (``id(var)`` -> column) and ``rows`` (constraint
    data -> row) place in HiGHS, valid for the format and unique.

    Blanks become ``_``; for ``lp`` brackets become parentheses and every character but
    letters, digits and ``_(),.`` becomes ``_``; names are cut at :data:`NAME_MAX` characters;
    a name taken already gets a ``_N`` suffix; columns and rows of no Pyomo component
    (added by an analysis) are ``_cJ`` / ``_rI``.
    """
    cache: dict[object, str] = {}  # index parts repeat (site, period ids): clean each once
    left, right = ("(", ")") if lp else ("[", "]")

    def clean(text: str) -> str:
        return _LP_OTHER.sub("_", text.replace("[", "(").replace("]", ")")) if lp else _BLANK.sub("_", text)

    def part(p: object) -> str:
        if p not in cache:
            cache[p] = clean(str(p))
        return cache[p]

    def names(components: Iterable[Any], where: dict[Any, int], size: int, key: Callable[[Any], Any]) -> list[str]:
        out = [""] * size
        for comp in components:
            base = clean(str(comp.name))
            base = base if base[:1].isalpha() or base[:1] == "_" else "_" + base
            for idx, data in comp.items():
                k = where.get(key(data), -1)
                if not 0 <= k < size:
                    continue
                if idx is None:
                    out[k] = base[:NAME_MAX]
                else:
                    parts = idx if isinstance(idx, tuple) else (idx,)
                    out[k] = f"{base}{left}{','.join([part(p) for p in parts])}{right}"[:NAME_MAX]
        return out

    col_names = names(m.component_objects(pyo.Var, descend_into=True), cols, num_col, id)
    row_names = names(m.component_objects(pyo.Constraint, active=True, descend_into=True), rows, num_row, lambda c: c)
    return _unique(col_names, "_c"), _unique(row_names, "_r")


def _unique(names: list[str], blank: str) -> list[str]:
    """Fill blank names with ``blank`` + position and make every name unique (``_N`` suffix)."""
    seen: set[str] = set()
    out = []
    for k, name in enumerate(names):
        name = name or f"{blank}{k}"
        if name in seen:
            n = 2
            while f"{name[:NAME_MAX - 8]}_{n}" in seen:
                n += 1
            name = f"{name[:NAME_MAX - 8]}_{n}"
        seen.add(name)
        out.append(name)
    return out
