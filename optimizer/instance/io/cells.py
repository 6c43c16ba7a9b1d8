"""Cell values of the tabular format: Python values to cells and cells back to values.

A blank cell means "not given"; lists of identifiers are comma-separated (``US, EEA``;
:data:`EMPTY_LIST` is an empty list) and :data:`EMPTY_TEXT` is an empty text. Cells read
back are only converted into the shape validation expects; validation does the checking.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import yaml

from optimizer.instance.io.limits import yaml_value

EMPTY_LIST = "[]"
EMPTY_TEXT = '""'
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def num_text(x: float | int) -> str:
    """A number as text: whole floats without '.0', booleans as true/false."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _flow_yaml(value: Any) -> str:
    """A value as one-line YAML (plain text stays as it is when it reads back the same)."""
    if isinstance(value, str):
        try:
            if yaml_value(value) == value and value.strip() == value and value:
                return value
        except yaml.YAMLError:
            pass
        return yaml.safe_dump(value, default_style='"').strip().removesuffix("...").strip()
    return yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False).strip().removesuffix("...").strip()


def cell_out(value: Any, kind: str) -> Any:
    """Python value -> cell value (str, number, bool or None)."""
    if value is None:
        return None
    if kind == "any":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _flow_yaml(value)
    if kind in ("list", "marker"):
        return ", ".join(str(v) for v in value) if value else EMPTY_LIST
    if isinstance(value, str):
        return EMPTY_TEXT if value == "" and kind == "text" else value
    return value


def is_blank(v: Any) -> bool:
    """An empty cell (None or only spaces): the value is not given."""
    return v is None or (isinstance(v, str) and v.strip() == "")


def as_text(v: Any) -> str:
    """A cell value as text (numbers without '.0', dates in ISO form)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return num_text(v)
    if isinstance(v, _dt.datetime) and v.time() == _dt.time():
        return v.date().isoformat()
    if isinstance(v, (_dt.date, _dt.datetime, _dt.time)):
        return v.isoformat()
    return str(v)


def cell_in(v: Any, kind: str) -> Any:
    """Cell value -> the value handed to validation (which does the real checking)."""
    if kind == "text":
        if isinstance(v, str):
            return "" if v.strip() == EMPTY_TEXT else v
        return as_text(v)
    if kind in ("id", "literal", "key"):
        return v.strip() if isinstance(v, str) else (v if isinstance(v, bool) else as_text(v))
    if kind in ("list", "marker"):
        text = as_text(v).strip()
        if text == EMPTY_LIST:
            return []
        return [p.strip() for p in text.split(",") if p.strip()]
    if kind == "any":
        if isinstance(v, str):
            return yaml_value(v)
        return v
    if isinstance(v, str):
        v = v.strip()
        if kind in ("number", "all_periods") and _NUMBER.match(v):
            return int(v) if _INTEGER.match(v) else float(v)
        return v
    if isinstance(v, (_dt.date, _dt.datetime)):
        return as_text(v)
    return v


def col_letter(i: int) -> str:
    """Spreadsheet column letter of a 0-based column index (0 -> A, 26 -> AA)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def cell_at(cells: list[Any], i: int | None) -> Any:
    """The cell at column ``i`` of a row (None when the row is shorter or there is no column)."""
    return cells[i] if i is not None and i < len(cells) else None

