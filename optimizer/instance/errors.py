"""Input problems: one record per problem, all reported together.

A :class:`Problem` names the file, the record path (``sites[3] 'ordos-mine'.grid_mw[2027]``),
the offending value and the rule it breaks. :class:`InstanceError` carries every problem
found, so a user fixes a file in one pass instead of one error per run. Record paths are
rendered by :func:`path_text` and parsed back by :func:`loc_from_where`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


@dataclass(frozen=True)
class Problem:
    """One input problem: the file, the record path, the rule broken and (if ``has_value``) the offending value."""

    file: str
    where: str
    rule: str
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        loc = self.where or "(top level)"
        if self.has_value:
            return f"{self.file}: {loc} = {_short(self.value)}: {self.rule}"
        return f"{self.file}: {loc}: {self.rule}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InstanceError(ValueError):
    """The instance file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the instance:"
        super().__init__("\n".join([head, *("  - " + str(p) for p in self.problems)]))


def path_text(data: Any, loc: Sequence[Any], model: type | None = None) -> str:
    """Render a location tuple as ``sites[3] 'ordos-mine'.grid_mw[2027]``.

    List positions are followed by the record's id when the raw record has one, so the
    user finds it by name as well as by position. ``model`` (a pydantic class) tells
    mapping fields (rendered ``[key]``) from record fields (rendered ``.name``).
    """
    out = ""
    node: Any = data
    typ: Any = model
    for part in loc:
        typ = unwrap_type(typ)[0]
        origin = get_origin(typ)
        if isinstance(part, int) and (origin is list or isinstance(node, list)):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), (str, int)):
                out += f" '{node['id']}'"
            typ = get_args(typ)[0] if origin is list and get_args(typ) else None
        elif origin is dict:
            out += f"[{part}]"
            node = _get(node, part)
            typ = get_args(typ)[1] if len(get_args(typ)) == 2 else None
        else:
            out += ("." if out else "") + str(part)
            node = _get(node, part)
            if isinstance(typ, type) and issubclass(typ, BaseModel) and part in typ.model_fields:
                typ = typ.model_fields[part].annotation
            else:
                typ = None
    return out


def _get(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        for k, v in node.items():  # YAML int keys vs str ids
            if str(k) == str(key):
                return v
    return None


def unwrap_type(ann: Any) -> tuple[Any, bool]:
    """Strip ``Annotated[...]`` and ``Optional[...]`` down to the structural type.

    Returns ``(type, optional)``; a union of several non-None types is returned whole.
    """
    optional = False
    while True:
        origin = get_origin(ann)
        if origin is Annotated:
            ann = get_args(ann)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(ann) if a is not type(None)]
            optional = optional or len(args) < len(get_args(ann))
            if len(args) != 1:
                return ann, optional
            ann = args[0]
        else:
            return ann, optional


Loc = tuple[Any, ...]
"""A location inside instance data: field names, mapping keys and list positions."""

_WHERE = re.compile(r"\s*'[^']*'|\.?([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")


def loc_from_where(where: str, data: Any) -> Loc:
    """Parse a record path such as ``sites[0] 'x'.grid_mw[2027]`` back into a location tuple
    (the inverse of :func:`path_text`; ``data`` tells list positions from mapping keys)."""
    loc: list[Any] = []
    node = data
    pos = 0
    while pos < len(where):
        m = _WHERE.match(where, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group(1) is not None:
            loc.append(m.group(1))
            node = node.get(m.group(1)) if isinstance(node, dict) else None
        elif m.group(2) is not None:
            key = m.group(2)
            if isinstance(node, list) and key.lstrip("-").isdigit():
                loc.append(int(key))
                i = int(key)
                node = node[i] if 0 <= i < len(node) else None
            else:
                loc.append(key)
                node = node.get(key) if isinstance(node, dict) else None
    return tuple(loc)
