"""Read stage: a result folder written by :func:`optimizer.results.write.write_plan`, back as typed tables.

:func:`read_plan` returns ``(tables, summary)`` for a folder in any of the written formats:
one ``<table>.csv`` per table (csv), one ``plan.xlsx`` workbook with a sheet per table
(xlsx), or one ``<table>.parquet`` per table (parquet), plus ``summary.json`` (every format).

Tables come back with the column types of ``plan.tables``, as declared in
:mod:`optimizer.results.columns`: ids stay text (a period ``2026`` or a jurisdiction ``NO``
is a string, an empty id is ``None``), flags are ``bool``, numbers are numbers. A table the
folder lacks comes back empty with its declared columns, and a declared column a table lacks
(a folder written before the column existed) comes back empty (``None`` for ids, NaN for
numbers, ``False`` for flags), so older folders without e.g. the ``power`` or ``time_to_power``
tables or ``site_power.power_limit_mw`` still read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.results.columns import COLUMNS, TABLES
from optimizer.results.write import WORKBOOK

_KIND = {table: {c.name: c.kind for c in cols} for table, cols in TABLES.items()}


def read_plan(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """(tables, summary) of a result folder in csv, xlsx or parquet format."""
    return load_tables(folder), load_summary(folder)


def result_format(folder: str | Path) -> str:
    """The format a result folder was written in: ``xlsx``, ``parquet`` or ``csv`` (the default)."""
    folder = Path(folder)
    if (folder / WORKBOOK).exists():
        return "xlsx"
    if any((folder / f"{name}.parquet").exists() for name in COLUMNS):
        return "parquet"
    return "csv"


def load_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Every declared table of a result folder, with the same column types as ``plan.tables``."""
    folder = Path(folder)
    fmt = result_format(folder)
    sheets = _workbook(folder / WORKBOOK) if fmt == "xlsx" else {}
    out = {}
    for name, cols in COLUMNS.items():
        text = {c: str for c in cols if _KIND[name][c] == "text"}
        if fmt == "xlsx":
            df = sheets.get(name)
        elif fmt == "parquet":
            f = folder / f"{name}.parquet"
            df = pd.read_parquet(f) if f.exists() else None
        else:
            f = folder / f"{name}.csv"
            df = pd.read_csv(f, dtype=text, keep_default_na=False, na_values=[""]) if f.exists() else None
        out[name] = pd.DataFrame(columns=cols) if df is None else _typed(df, name)
    return out


def load_summary(folder: str | Path) -> dict[str, Any]:
    """``summary.json`` of a result folder; ``{}`` if there is none, ValueError if it is not JSON."""
    f = Path(folder) / "summary.json"
    return json.loads(f.read_text()) if f.exists() else {}


def _workbook(path: Path) -> dict[str, pd.DataFrame]:
    """The table sheets of ``plan.xlsx`` (ids read as text)."""
    with pd.ExcelFile(path, engine="openpyxl") as xl:
        out = {}
        for name, cols in COLUMNS.items():
            if name in xl.sheet_names:
                text = {c: str for c in cols if _KIND[name][c] == "text"}
                out[name] = pd.read_excel(xl, sheet_name=name, dtype=text, keep_default_na=False, na_values=[""])
        return out


def _typed(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Ids as text (missing: None), flags as bool, numbers stored as text back to numbers; declared columns the
    file lacks added empty in their declared place (columns it has beyond them kept at the end)."""
    kinds = _KIND[table]
    for c, declared in kinds.items():
        if c not in df.columns:
            df[c] = None if declared == "text" else (False if declared == "bool" else float("nan"))
    for c in df.columns:
        kind = kinds.get(c)
        if kind == "bool":
            df[c] = df[c].map(lambda x: str(x).strip().lower() == "true" if not pd.isna(x) else False)
        elif kind == "text":
            df[c] = df[c].astype(object).where(df[c].notna(), None)
        elif kind == "number" and df[c].dtype == object and len(df):  # parquet stores mixed int/float as text
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return df[list(kinds) + [c for c in df.columns if c not in kinds]]
