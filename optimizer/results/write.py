"""Write stage: plan tables as CSV, an Excel workbook or Parquet files, plus ``summary.json``, atomically.

Results are written into a temporary folder beside the target and renamed into place
only when complete, so an interrupted run never leaves a half-written folder that looks
finished. An existing folder is replaced only with ``overwrite=True`` (:mod:`optimizer.files`).

Formats (``fmt``): ``csv`` (default) — one ``<table>.csv`` per table; ``xlsx`` — one
workbook ``plan.xlsx`` with one sheet per table and a ``summary`` sheet; ``parquet`` — one
``<table>.parquet`` per table. ``summary.json`` is written in every format.

``summary.json`` is :meth:`Plan.summary <optimizer.plan.Plan.summary>` plus the power figures of
:func:`optimizer.results.outcomes.power_summary` (time to power, energy by source, effective
and all-in energy prices, emissions per year) and, when the plan carries a solve history, its
``progress`` (a list of ``{seconds, incumbent, bound, gap}``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.files import atomic_folder
from optimizer.results.outcomes import power_summary

if TYPE_CHECKING:
    from optimizer.plan import Plan

FORMATS = ("csv", "xlsx", "parquet")
WORKBOOK = "plan.xlsx"


def write_plan(plan: Plan, out_dir: str | Path, overwrite: bool = False, fmt: str = "csv") -> Path:
    """Write every table (``fmt``: csv, xlsx or parquet) and the summary as ``summary.json``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; formats are {', '.join(FORMATS)}")
    if fmt == "parquet":
        _require("pyarrow", "parquet")
    if fmt == "xlsx":
        _require("openpyxl", "xlsx")
    out = Path(out_dir)
    with atomic_folder(out, overwrite) as tmp:
        summary = plan_summary(plan)
        if fmt == "csv":
            for name, df in plan.tables.items():
                df.to_csv(tmp / f"{name}.csv", index=False)
        elif fmt == "parquet":
            for name, df in plan.tables.items():
                _parquet_ready(df).to_parquet(tmp / f"{name}.parquet", index=False)
        else:
            _write_workbook(plan.tables, summary, tmp / WORKBOOK)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return out


PROGRESS_KEYS = ("seconds", "incumbent", "bound", "gap")


def plan_summary(plan: Plan) -> dict[str, Any]:
    """What ``summary.json`` holds: ``plan.summary()``, the power figures (:func:`power_summary`; keys the
    plan's summary already has are kept) and ``progress`` when ``plan.progress`` is not None."""
    summary = plan.summary()
    for key, value in power_summary(plan.tables, plan.instance).items():
        summary.setdefault(key, value)
    progress = getattr(plan, "progress", None)
    if progress is not None and "progress" not in summary:
        summary["progress"] = progress_rows(progress)
    return summary


def progress_rows(progress: Any) -> list[dict[str, float | None]]:
    """A solve history as JSON rows ``{seconds, incumbent, bound, gap}``, from dicts, dataclasses, named tuples,
    tuples in that order or a DataFrame; missing or non-finite numbers become None."""
    items = progress.to_dict("records") if isinstance(progress, pd.DataFrame) else list(progress)
    rows = []
    for item in items:
        if isinstance(item, dict):
            d = item
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            d = dataclasses.asdict(item)
        elif hasattr(item, "_asdict"):
            d = item._asdict()
        else:
            d = dict(zip(PROGRESS_KEYS, item, strict=False))
        rows.append({k: _finite(d.get(k)) for k in PROGRESS_KEYS})
    return rows


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _require(module: str, fmt: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"the {fmt} format needs the '{module}' package: pip install {module}")


def _parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs string column names and one type per column (mixed objects become text)."""
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    for c in df.columns:
        if df[c].dtype == object:
            kinds = {type(v) for v in df[c].dropna()}
            if len(kinds) > 1:
                df[c] = df[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return df


def summary_rows(summary: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten the summary into (key, value) rows: nested keys dotted, lists one row per item."""
    rows: list[tuple[str, Any]] = []
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows += summary_rows(v, key + ".") if v else [(key, None)]
        elif isinstance(v, (list, tuple)):
            rows += [(f"{key}[{i}]", x if isinstance(x, (int, float, str, bool)) or x is None else str(x))
                     for i, x in enumerate(v)] or [(key, None)]
        elif v is None or isinstance(v, (int, float, str, bool)):
            rows.append((key, v))
        else:
            rows.append((key, str(v)))
    return rows


def _write_workbook(tables: dict[str, pd.DataFrame], summary: dict[str, Any], path: Path) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    used: set[str] = set()

    def sheet_name(name: str) -> str:
        base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "table"
        cand, i = base, 1
        while cand.lower() in used:
            i += 1
            cand = f"{base[:28]}~{i}"
        used.add(cand.lower())
        return cand

    bold = Font(bold=True)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame(summary_rows(summary), columns=["key", "value"]).to_excel(
            xw, sheet_name=sheet_name("summary"), index=False)
        for name, df in tables.items():
            df.to_excel(xw, sheet_name=sheet_name(name), index=False)
        for ws in xw.book.worksheets:
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = bold
            for i, col in enumerate(ws.iter_cols(min_row=1, max_row=min(ws.max_row, 200), values_only=True), start=1):
                width = max((len(str(v)) for v in col if v is not None), default=8)
                ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
