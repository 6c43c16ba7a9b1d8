"""Load stage: read an instance file of any format into a validated :class:`Instance`.

:func:`load_instance` is the entry point: a YAML or JSON file is parsed as text
(:mod:`optimizer.instance.io.text`: data only, libyaml's C parser, aliases bounded, files above
:data:`MAX_FILE_BYTES` refused), an Excel workbook or a folder of CSV tables is read by
:mod:`optimizer.instance.io.tables`. Either way the data goes through one validation
pipeline (:mod:`optimizer.instance.validate`), and all problems — syntax, schema and
cross-record rules — are raised together as one :class:`InstanceError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optimizer.instance.errors import InstanceError, Problem
from optimizer.instance.io import TABULAR_SUFFIXES
from optimizer.instance.io.limits import MAX_FILE_BYTES
from optimizer.instance.io.tables import load_tabular
from optimizer.instance.io.text import parse_text, read_text_data
from optimizer.instance.schema import Instance
from optimizer.instance.validate import validate_data

__all__ = ["MAX_FILE_BYTES", "instance_from_dict", "load_instance", "parse_text"]


def load_instance(path: str | Path) -> Instance:
    """Read, validate and cross-check an instance file (``.yaml``, ``.yml`` or ``.json``), an Excel
    workbook (``.xlsx``) or a folder of CSV tables (see :mod:`optimizer.instance.io.tables`)."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InstanceError([Problem(name, "", "file not found")])
    if path.is_dir() or path.suffix.lower() in TABULAR_SUFFIXES:
        return load_tabular(path)
    return instance_from_dict(read_text_data(path), name)


def instance_from_dict(data: Any, name: str = "<instance>") -> Instance:
    """Validate already-parsed data (a dict) into an :class:`Instance`."""
    return validate_data(data, name)
