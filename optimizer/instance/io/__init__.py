"""Instance files in every format: YAML/JSON text, Excel workbooks and CSV folders.

:mod:`.text` reads and writes YAML/JSON text, :mod:`.layout` derives the sheets and columns
of the tabular format from the schema, :mod:`.cells` converts cell values, :mod:`.reader`
turns raw sheets into instance data and :mod:`.tables` reads and writes workbooks and CSV
folders. Here: choosing the format from a file name, and writing in any of them.
Validation lives in :mod:`optimizer.instance.validate`; :func:`optimizer.instance.load.load_instance`
reads any format.
"""

from __future__ import annotations

from pathlib import Path

from optimizer.instance.io.limits import MAX_FILE_BYTES
from optimizer.instance.io.tables import instance_tables, load_tabular, read_tables, write_tabular
from optimizer.instance.io.text import instance_data, instance_text, parse_text, write_text_instance
from optimizer.instance.schema import Instance

FORMATS = ("yaml", "json", "xlsx", "csv")
"""Output formats: YAML or JSON text, an Excel workbook, a folder of CSV files."""

TABULAR_SUFFIXES = (".xlsx", ".xlsm", ".csv")
"""Suffixes read as tables (a folder is a CSV folder; a ``.csv`` file is refused with a hint)."""


def output_format(path: Path) -> str:
    """The format of an output named ``path``: by its suffix; no suffix (or a folder) is CSV."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == "" or path.is_dir():
        return "csv"
    raise ValueError(f"unknown output format for '{path}': use .yaml, .yml, .json, .xlsx or a folder name (CSV)")


def write_instance(inst: Instance, out: str | Path, fmt: str | None = None, header: str = "", *,
                   overwrite: bool = True) -> Path:
    """Write an instance as YAML, JSON, an Excel workbook or a CSV folder (by ``fmt`` or the
    suffix of ``out``), atomically. ``header`` becomes YAML comment lines (other formats
    have none). An existing ``out`` (file or folder) is replaced, as ``dcplan convert
    --force`` expects; with ``overwrite=False`` it raises
    :class:`optimizer.files.OutputExistsError` (a ``FileExistsError``) instead."""
    out = Path(out)
    fmt = fmt or output_format(out)
    if fmt in ("xlsx", "csv"):
        return write_tabular(inst, out, fmt, overwrite=overwrite)
    return write_text_instance(inst, out, fmt, header, overwrite=overwrite)


__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "TABULAR_SUFFIXES",
    "instance_data",
    "instance_tables",
    "instance_text",
    "load_tabular",
    "output_format",
    "parse_text",
    "read_tables",
    "write_instance",
    "write_tabular",
]
