"""Validation stage: plain instance data -> a validated :class:`Instance`, or every problem.

:func:`validate_data` is the one pipeline every reader goes through (YAML/JSON text via
:mod:`optimizer.instance.load`, workbooks and CSV folders via
:mod:`optimizer.instance.io.tables`): the schema (pydantic, its errors turned into
:class:`Problem` records in the user's terms by :func:`schema_problems`), then the
cross-record rules of :mod:`optimizer.instance.checks`. A reader that knows where each value
came from (sheet, row, column) passes ``locate`` to re-point the problems there.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from optimizer.instance.checks import check_instance
from optimizer.instance.errors import InstanceError, Loc, Problem, loc_from_where, path_text, unwrap_type
from optimizer.instance.schema import Instance

Locator = Callable[[Loc, Problem], Problem]
"""``locate(loc, problem)``: the problem re-pointed at where the value at ``loc`` was read."""


def validate_data(data: Any, name: str = "<instance>", *, prior: Sequence[Problem] = (),
                  locate: Locator | None = None) -> Instance:
    """Validate parsed data (a dict) into an :class:`Instance`; raise :class:`InstanceError`
    with ``prior`` (problems the reader found) and every schema or cross-record problem.

    Cross-record rules run only on data that passed the schema.
    """
    if data is None:
        raise InstanceError([*prior, Problem(name, "", "the instance is empty")])
    if not isinstance(data, dict):
        raise InstanceError(
            [*prior, Problem(name, "", f"the top level must be a mapping of fields, not a {type(data).__name__}")]
        )
    problems = list(prior)
    try:
        inst = Instance.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err, p in zip(errors, schema_problems(exc, data, name), strict=True):
            problems.append(locate(tuple(err["loc"]), p) if locate else p)
        raise InstanceError(problems) from None
    for p in check_instance(inst, data, name):
        problems.append(locate(loc_from_where(p.where, data), p) if locate else p)
    if problems:
        raise InstanceError(problems)
    return inst


# ----------------------------------------------------------------------------- messages
def schema_problems(exc: ValidationError, data: Any, name: str) -> list[Problem]:
    """Turn pydantic's errors into :class:`Problem` records in the user's terms."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        typ = err["type"]
        where = path_text(data, loc, Instance)
        ctx = err.get("ctx") or {}
        has_value = typ not in ("missing",)
        value = err.get("input")
        if typ == "missing":
            rule = "required field is missing"
        elif typ == "extra_forbidden":
            rule = "unknown field" + _suggest(loc)
            has_value = False
        elif typ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[typ]
            bound = next(iter(ctx.values()), "?")
            rule = f"must be {op} {bound}"
        elif typ == "finite_number":
            rule = "must be a finite number"
        elif typ in ("float_type", "float_parsing", "int_type", "int_parsing"):
            rule = "must be a number"
        elif typ in ("string_type",):
            rule = "must be text"
            if isinstance(value, bool):
                rule += " (YAML reads NO, yes, on and off as true/false: put the value in quotes)"
        elif typ in ("bool_type", "bool_parsing"):
            rule = "must be true or false"
        elif typ == "list_type":
            rule = "must be a list"
        elif typ in ("dict_type", "model_type", "model_attributes_type"):
            rule = "must be a mapping of fields"
        elif typ == "literal_error":
            rule = f"must be one of {ctx.get('expected', '')}"
        elif typ == "string_pattern_mismatch":
            rule = "must be an identifier (letters, digits, '_', '.', '-')"
        elif typ == "too_short":
            rule = "must not be empty" if ctx.get("min_length", 1) <= 1 else f"needs at least {ctx.get('min_length')} entries"
        elif typ == "string_too_long":
            rule = f"must be at most {ctx.get('max_length')} characters"
        elif typ == "value_error":
            rule = str(err["msg"]).removeprefix("Value error, ")
        else:
            rule = err["msg"]
        out.append(Problem(name, where, rule, value, has_value))
    return out


def _suggest(loc: Loc) -> str:
    """'; did you mean X?' for a misspelled field name."""
    parent = _model_at(loc[:-1])
    if parent is None or not isinstance(loc[-1], str):
        return ""
    fields = list(parent.model_fields)
    near = difflib.get_close_matches(loc[-1], fields, n=1, cutoff=0.6)
    if near:
        return f"; did you mean '{near[0]}'?"
    return f"; valid fields: {', '.join(fields)}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    typ: Any = Instance
    for part in loc:
        typ = unwrap_type(typ)[0]
        origin = get_origin(typ)
        if origin in (list, dict):
            typ = get_args(typ)[-1]
        elif isinstance(typ, type) and issubclass(typ, BaseModel) and part in typ.model_fields:
            typ = typ.model_fields[part].annotation
        else:
            return None
    typ = unwrap_type(typ)[0]
    return typ if isinstance(typ, type) and issubclass(typ, BaseModel) else None
