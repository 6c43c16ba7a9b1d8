"""Instances as YAML or JSON text: reading text files into plain data, writing an instance.

Reading is data only: YAML is parsed safely (no object construction; libyaml's C parser
where installed; aliases bounded, :mod:`optimizer.instance.io.limits`), files above
:data:`MAX_FILE_BYTES` are refused and syntax errors name line and column.
Validation is not done here (see :mod:`optimizer.instance.validate`).

Writing: :func:`instance_text` is the one YAML/JSON writer of the package (``dcplan
convert``, ``dcplan new``, ``dcplan scenarios``): fields at their default are left out, a
per-period value that holds in every period is one number, whole numbers have no ``.0``.
A YAML header becomes comment lines (:func:`comment_header`); JSON has no comments.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from optimizer.files import write_text
from optimizer.instance.errors import InstanceError, Problem
from optimizer.instance.io.limits import MAX_FILE_BYTES, safe_yaml_load
from optimizer.instance.schema import ALL_PERIODS, Instance


# ----------------------------------------------------------------------------- reading
def read_text_data(path: Path) -> Any:
    """Parse a YAML or JSON instance file (by its suffix) into plain data, not yet validated."""
    name = str(path)
    if not path.exists():
        raise InstanceError([Problem(name, "", "file not found")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InstanceError(
            [Problem(name, "", f"file is {size / 1e6:.0f} MB; instances are limited to {MAX_FILE_BYTES // 2**20} MB")]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError([Problem(name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    return parse_text(text, name, suffix=path.suffix.lower())


def parse_text(text: str, name: str, suffix: str = ".yaml") -> Any:
    """Parse YAML or JSON text; syntax errors name line and column."""
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InstanceError(
                [Problem(name, f"line {exc.lineno}, column {exc.colno}", f"malformed JSON: {exc.msg}")]
            ) from None
    try:
        return safe_yaml_load(text, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InstanceError([Problem(name, where, f"malformed YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise InstanceError([Problem(name, "", f"malformed YAML: {exc}")]) from None


# ----------------------------------------------------------------------------- writing
def _collapse(value: Any) -> Any:
    """{'*': x} -> x (one number for every period), recursively (not inside variants)."""
    if isinstance(value, dict):
        if set(value) == {ALL_PERIODS}:
            return value[ALL_PERIODS]
        return {k: _collapse(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_collapse(v) for v in value]
    return value


def instance_data(inst: Instance) -> dict[str, Any]:
    """Compact plain data of an instance: defaults left out, all-period values as one number."""
    data = inst.model_dump(exclude_defaults=True)
    variants = data.pop("variants", None)
    data = {k: _collapse(v) for k, v in data.items()}
    if variants:
        data["variants"] = variants
    return data


class _Dumper(yaml.SafeDumper):
    """Readable YAML: whole numbers without '.0', multi-line text as a block."""


def _float(dumper: yaml.SafeDumper, value: float) -> yaml.Node:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return dumper.represent_int(int(value))
    return dumper.represent_float(value)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value.rstrip("\n") or value.endswith("\n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(float, _float)
_Dumper.add_representer(str, _str)


def comment_header(header: str) -> str:
    """``header`` as YAML comment lines: every line gets ``# `` unless it is a comment
    already (starts with ``#``); an empty line becomes ``#``."""
    return "".join((line if line.startswith("#") else f"# {line}" if line else "#") + "\n"
                   for line in header.splitlines())


def instance_text(inst: Instance, fmt: str = "yaml", header: str = "") -> str:
    """The instance as YAML (``fmt="yaml"``, after the header comments) or JSON text."""
    data = instance_data(inst)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return comment_header(header) + text


def write_text_instance(inst: Instance, out: str | Path, fmt: str = "yaml", header: str = "", *,
                        overwrite: bool = True) -> Path:
    """Write the instance as YAML or JSON text, atomically; an existing ``out`` is replaced
    (with ``overwrite=False``: :class:`optimizer.files.OutputExistsError`)."""
    return write_text(out, instance_text(inst, fmt, header), overwrite=overwrite)
