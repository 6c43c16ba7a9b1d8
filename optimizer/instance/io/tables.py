"""An instance as tables: an Excel workbook (one sheet per table) or a folder of CSV files.

The sheets and columns are those of :mod:`optimizer.instance.io.layout` (see
``docs/spreadsheets.md``): :func:`instance_tables` turns an instance into tables,
:func:`write_tabular` writes them atomically, :func:`read_tables` reads a workbook or folder
back into plain data (:class:`~optimizer.instance.io.reader.TableReader`) and
:func:`load_tabular` validates it, naming sheet, row and column in every problem.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from optimizer.files import atomic_file, atomic_folder
from optimizer.instance.errors import InstanceError, Problem
from optimizer.instance.io.cells import as_text, cell_out, num_text
from optimizer.instance.io.layout import COLUMN_HEADERS, COLUMNS, SETTINGS, VARIANTS, Sheet, column_rows, layout, unit_of
from optimizer.instance.io.limits import MAX_FILE_BYTES, check_csv_rows, check_workbook
from optimizer.instance.io.reader import RawSheet, TableReader, raw_sheet
from optimizer.instance.schema import ALL_PERIODS, Instance
from optimizer.instance.validate import validate_data

# ----------------------------------------------------------------------------- instance -> tables
Table = tuple[list[str], list[list[Any]]]
"""A table: (headers, rows)."""


def _get_path(node: Any, path: Iterable[str]) -> Any:
    for p in path:
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def _records(data: dict[str, Any], sheet: Sheet) -> list[tuple[str | None, dict[str, Any]]]:
    """(parent id, record) for every record of a record sheet, in order."""
    if sheet.parent is None:
        return [(None, r) for r in _get_path(data, sheet.loc) or []]
    out = []
    for _, parent in _records(data, sheet.parent):
        for r in _get_path(parent, sheet.loc) or []:
            out.append((parent.get("id"), r))
    return out


def instance_tables(inst: Instance) -> dict[str, Table]:
    """The instance as tables {sheet: (headers, rows)}; empty secondary tables are left out."""
    data = inst.model_dump()
    lay = layout()
    out: dict[str, Table] = {}
    for s in lay.sheets:
        rows: list[list[Any]] = []
        if s.kind == SETTINGS:
            for c in s.columns:
                rows.append([c.header, cell_out(_get_path(data, c.path), c.kind), unit_of(c.info),
                             c.info.description if c.info else ""])
        elif s.kind == VARIANTS:
            for name, changes in (_get_path(data, s.loc) or {}).items():
                if not changes:
                    rows.append([name, None, None])
                for path, value in changes.items():
                    rows.append([name, path, cell_out(value, "any")])
        elif s.kind == "records":
            for pid, rec in _records(data, s):
                row = [pid] if s.key else []
                for c in s.columns:
                    value = _get_path(rec, c.path)
                    if c.kind == "all_periods":
                        value = value.get(ALL_PERIODS) if isinstance(value, dict) else value
                    elif c.kind == "marker":
                        value = None if value is None else [k for k in c.choices if value.get(k) is not None]
                    row.append(cell_out(value, c.kind))
                rows.append(row)
        elif s.kind == "map" and s.parent is not None:
            for _, rec in _records(data, s.parent):
                merged: dict[tuple[Any, ...], list[Any]] = {}
                for i, v in enumerate(s.values):
                    for keys, value in _flatten(rec.get(v.field), v.depth):
                        if v.has_main and keys == (ALL_PERIODS,):
                            continue
                        row = merged.setdefault(keys, [rec.get("id"), *keys, *([None] * len(s.values))])
                        row[1 + len(keys) + i] = value
                rows.extend(merged.values())
        if rows or s.primary:
            out[s.name] = (s.headers(), rows)
    out[COLUMNS] = (COLUMN_HEADERS, column_rows())
    return out


def _flatten(value: Any, depth: int) -> list[tuple[tuple[Any, ...], Any]]:
    if not isinstance(value, dict):
        return []
    if depth == 1:
        return [((k,), v) for k, v in value.items()]
    return [((k, *ks), v) for k, sub in value.items() for ks, v in _flatten(sub, depth - 1)]


# ----------------------------------------------------------------------------- writing files
def _xlsx_number_ok(x: Any) -> bool:
    """Openpyxl stores numbers with 16 significant digits; others are written as text."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return True
    if isinstance(x, int):
        return abs(x) < 10**15
    return math.isfinite(x) and float(f"{x:.16g}") == x


def write_workbook(tables: dict[str, Table], path: Path) -> None:
    """Write tables as an Excel workbook; header cells carry the column's unit and meaning as a comment."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    docs = {(r[0], r[1]): r for r in column_rows()}
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, (headers, rows) in tables.items():
        ws = wb.create_sheet(name[:31])
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
            doc = docs.get((name, cell.value))
            if doc and name not in (COLUMNS, SETTINGS):
                text = " ".join(x for x in (f"[{doc[3]}]" if doc[3] else "", doc[5]) if x)
                if text:
                    cell.comment = Comment(text, "dcplan", width=320, height=120)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                if not _xlsx_number_ok(value):
                    value = repr(value) if isinstance(value, float) else str(value)
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text that starts with '=' is not a formula
        ws.freeze_panes = "A2"
        for c, h in enumerate(headers, start=1):
            width = max([len(str(h))] + [len(as_text(row[c - 1])) for row in rows[:200] if c - 1 < len(row)
                                          and row[c - 1] is not None])
            ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 60)
    wb.save(path)


def _csv_text(headers: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if v is None else (num_text(v) if isinstance(v, (int, float)) else v) for v in row])
    return buf.getvalue()


def write_csv_folder(tables: dict[str, Table], folder: Path) -> None:
    """Write tables as ``folder/<table>.csv`` (UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (headers, rows) in tables.items():
        (folder / f"{name}.csv").write_text(_csv_text(headers, rows), encoding="utf-8")


def write_tabular(inst: Instance, out: str | Path, fmt: str | None = None, *, overwrite: bool = True) -> Path:
    """Write the instance as a workbook (``.xlsx``) or a CSV folder, atomically; an existing
    ``out`` is replaced (with ``overwrite=False``: :class:`optimizer.files.OutputExistsError`)."""
    out = Path(out)
    fmt = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    tables = instance_tables(inst)
    if fmt == "xlsx":
        with atomic_file(out, overwrite=overwrite) as tmp:
            write_workbook(tables, tmp)
    else:
        with atomic_folder(out, overwrite=overwrite) as tmpdir:
            write_csv_folder(tables, tmpdir)
    return out


# ----------------------------------------------------------------------------- reading files
def read_workbook(path: Path) -> list[RawSheet]:
    """Every sheet of an Excel workbook, as raw sheets (cell values, not formulas)."""
    from openpyxl import load_workbook

    check_workbook(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
        raise InstanceError([Problem(str(path), "", f"not a readable Excel workbook ({type(exc).__name__}: {exc})")]) from None
    try:
        for ws in wb.worksheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # some writers store a wrong used range
        sheets = [raw_sheet(ws.title, f"{path}, sheet {ws.title}", ws.iter_rows(values_only=True),
                            (str(path), f"sheet {ws.title}"))
                  for ws in wb.worksheets]
    finally:
        wb.close()
    _find_unsaved_formulas(path, sheets)
    return sheets


def _find_unsaved_formulas(path: Path, sheets: list[RawSheet]) -> None:
    """Mark cells whose formula has no saved value (openpyxl reads them as empty)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        for ws, rs in zip(wb.worksheets, sheets):
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            values = {(n, i): c for n, cells in rs.rows for i, c in enumerate(cells)}
            found = {}
            for n, cells in enumerate(ws.iter_rows(values_only=True), start=1):
                for i, c in enumerate(cells):
                    if isinstance(c, str) and c.startswith("=") and values.get((n, i)) is None:
                        found[n, i] = c
            rs.formulas = found or None
    finally:
        wb.close()


def read_csv_folder(folder: Path) -> list[RawSheet]:
    """Every ``*.csv`` file of a folder, as raw sheets."""
    out = []
    for f in sorted(folder.glob("*.csv")):
        check_csv_rows(f)
        try:
            text = f.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InstanceError([Problem(str(f), "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
        try:
            records = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise InstanceError([Problem(str(f), "", f"malformed CSV: {exc}")]) from None
        out.append(raw_sheet(f.stem, str(f), records, (str(folder), f.name)))
    return out


# ----------------------------------------------------------------------------- entry points
def read_tables(path: str | Path) -> tuple[dict[str, Any], TableReader]:
    """Read a workbook or CSV folder into instance data (not yet validated) and its reader."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InstanceError([Problem(name, "", "file not found")])
    sheets_reader: Callable[[], list[RawSheet]]
    label_for: Callable[[str], str]
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise InstanceError([Problem(name, "", "folder has no CSV tables (*.csv); see docs/spreadsheets.md")])
        size = sum(f.stat().st_size for f in files)
        sheets_reader = lambda: read_csv_folder(path)  # noqa: E731
        label_for = lambda sheet: str(path / f"{sheet}.csv")  # noqa: E731
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        size = path.stat().st_size
        sheets_reader = lambda: read_workbook(path)  # noqa: E731
        label_for = lambda sheet: f"{path}, sheet {sheet}"  # noqa: E731
    elif path.suffix.lower() == ".csv":
        raise InstanceError([Problem(name, "", f"a CSV instance is a folder of tables: pass the folder {path.parent}")])
    else:
        raise InstanceError([Problem(name, "", "not a workbook (.xlsx) or a folder of CSV files")])
    if size > MAX_FILE_BYTES:
        raise InstanceError(
            [Problem(name, "", f"tables are {size / 1e6:.0f} MB; instances are limited to {MAX_FILE_BYTES // 2**20} MB")])
    reader = TableReader(sheets_reader(), name, label_for)
    reader.build()
    return reader.data, reader


def load_tabular(path: str | Path) -> Instance:
    """Read, validate and cross-check a workbook or CSV folder; problems name sheet, row and column."""
    data, reader = read_tables(path)
    return validate_data(data, reader.name, prior=reader.problems, locate=reader.locate)
