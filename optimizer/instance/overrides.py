"""What-if overrides: change any field of an instance by its path, making a new instance.

Path grammar (dots between fields, brackets select a list record by id or position, or
a key of a mapping)::

    policies.energy_subsidies[west-domestic].discount_share=0.3
    regions[shanghai].demand_pflops=120            # one number for every period
    sites[ordos-mine].grid_mw[2027]=300            # one period of a per-period value
    systems[h20-server].price_usd_per_unit*=1.2    # scale (numbers and per-period values)
    policies.export_rules[0].action=ban

Values are read as YAML (``0.3``, ``true``, ``[CN, US]``, ``{2026: 1, 2027: 2}``). The
result is validated like a file, so a bad override gets the same clear error as bad input.
Named override sets in the instance (``variants``) apply with :func:`apply_variants`.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable
from typing import Any

import yaml

from optimizer.instance.errors import InstanceError, Problem
from optimizer.instance.io.limits import yaml_value
from optimizer.instance.schema import ALL_PERIODS, Instance
from optimizer.instance.validate import validate_data

_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """``PATH=VALUE`` or ``PATH*=FACTOR`` -> (path, op, value)."""
    m = re.match(r"^\s*([^=*]+?)\s*(\*?=)\s*(.*)$", text)
    if not m:
        raise InstanceError([Problem("--set", text, "expected PATH=VALUE or PATH*=FACTOR")])
    path, op, raw = m.groups()
    try:
        value = yaml_value(raw) if raw.strip() else ""  # libyaml's C parser, aliases bounded
    except yaml.YAMLError as exc:
        raise InstanceError([Problem("--set", text, f"value is not valid YAML: {exc}")]) from None
    return path, op, value


def _tokens(path: str) -> list[str]:
    out = []
    for m in _TOKEN.finditer(path):
        out.append(m.group(1) if m.group(1) is not None else m.group(2))
    return out


SHOWN_IDS = 12
"""At most this many known ids are listed in an unknown-id message."""


def unknown_id(key: str, known: Iterable[str], what: str = "record", listed: str = "ids") -> str:
    """How an unknown id is reported, everywhere (``--set`` paths, ``--force``/``--forbid``,
    ``explain``, ``sweep --grid``, ``--variant``): ``no record 'rockdale'; did you mean
    'rockdale-mine'? ids: rockdale-mine, abilene-green`` (``listed``: the word before the list)."""
    ids = list(dict.fromkeys(str(k) for k in known))
    text = f"no {what} '{key}'"
    near = [i for i in ids if key and i.lower().startswith(key.lower())][:1]
    near = near or difflib.get_close_matches(key, ids, n=1, cutoff=0.6)
    if near:
        text += f"; did you mean '{near[0]}'?"
    shown = ", ".join(ids[:SHOWN_IDS]) + (f", ... ({len(ids) - SHOWN_IDS} more)" if len(ids) > SHOWN_IDS else "")
    return text + (" " if near else "; ") + f"{listed}: {shown or 'none'}"


def _step(node: Any, key: str, path: str, create: bool = False) -> tuple[Any, Any]:
    """Resolve one step; returns (container, key-in-container)."""
    if isinstance(node, list):
        for i, rec in enumerate(node):
            if isinstance(rec, dict) and str(rec.get("id")) == key:
                return node, i
        if key.lstrip("-").isdigit() and -len(node) <= int(key) < len(node):
            return node, int(key)
        ids = [str(r.get("id")) for r in node if isinstance(r, dict) and "id" in r]
        raise KeyError(unknown_id(key, ids) if ids else f"no record '{key}'")
    if isinstance(node, dict):
        for k in node:
            if str(k) == key:
                return node, k
        if create:
            return node, key
        raise KeyError(f"no field '{key}'; fields here: {', '.join(map(str, node))}")
    raise KeyError(f"'{key}' goes below a plain value")


def _scale(value: Any, factor: float, path: str) -> Any:
    if isinstance(value, bool) or value is None:
        raise KeyError("only numbers and per-period values can be scaled")
    if isinstance(value, (int, float)):
        return value * factor
    if isinstance(value, dict):
        return {k: _scale(v, factor, path) for k, v in value.items()}
    raise KeyError("only numbers and per-period values can be scaled")


def apply_overrides(inst: Instance, assignments: list[str] | dict[str, Any], source: str = "--set") -> Instance:
    """A new instance with the assignments applied (the original is unchanged)."""
    data = copy.deepcopy(inst.model_dump(exclude_none=False))
    if isinstance(assignments, dict):
        items = [(path, "=", value) for path, value in assignments.items()]
    else:
        items = [parse_assignment(a) for a in assignments]
    problems = _apply(data, items, source)
    if problems:
        raise InstanceError(problems)
    return validate_data(data, f"{source} on '{inst.name}'")


def path_problems(inst: Instance, items: Iterable[tuple[str, str, Any]], source: str) -> list[Problem]:
    """The problems of ``(path, op, value)`` assignments whose path names no field or record
    (or scales what is not a number), without validating the result: how a sweep checks
    every ``--grid`` path once before it builds any run."""
    return _apply(copy.deepcopy(inst.model_dump(exclude_none=False)), items, source)


def _apply(data: dict[str, Any], items: Iterable[tuple[str, str, Any]], source: str) -> list[Problem]:
    """Apply the assignments to plain instance data in place; the problems of those that cannot be."""
    problems = []
    for path, op, value in items:
        try:
            toks = _tokens(path)
            if not toks:
                raise KeyError("empty path")
            node = data
            for i, tok in enumerate(toks[:-1]):
                cont, key = _step(node, tok, path)
                nxt = cont[key]
                if isinstance(nxt, dict) and set(nxt) == {ALL_PERIODS} and i + 1 == len(toks) - 1:
                    # a per-period value given as one number: expand before setting one period
                    periods = [p["id"] for p in data["horizon"]["periods"]]
                    cont[key] = {p: nxt[ALL_PERIODS] for p in periods}
                    nxt = cont[key]
                node = nxt
            cont, key = _step(node, toks[-1], path, create=(op == "="))
            if op == "*=":
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise KeyError("a scale factor must be a number")
                cont[key] = _scale(cont[key], float(value), path)
            else:
                cont[key] = value
        except KeyError as exc:
            problems.append(Problem(source, path, str(exc).strip('"'), value, True))
    return problems


def apply_variants(inst: Instance, names: list[str]) -> Instance:
    """Apply the instance's named override sets in order."""
    unknown = [n for n in names if n not in inst.variants]
    if unknown:
        raise InstanceError([Problem("--variant", n, unknown_id(n, inst.variants, "variant", "the instance defines"))
                             for n in unknown])
    for n in names:
        inst = apply_overrides(inst, dict(inst.variants[n]), source=f"variant '{n}'")
    return inst
