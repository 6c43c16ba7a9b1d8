"""Files made to exhaust dcplan are refused fast, with a clear message and exit code 2.

Each case is run through the real command (``dcplan validate``) in a subprocess with a
timeout far above what the check needs (it takes well under a second) and far below what
reading the file in full took before the checks existed (35 s to 120 s, gigabytes).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import optimizer
from optimizer.instance.errors import InstanceError
from optimizer.instance.io.limits import MAX_ROWS, MAX_UNCOMPRESSED_BYTES, MAX_YAML_VALUES
from optimizer.instance.io.tables import write_tabular

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "instances" / "quickstart.yaml"
LIMIT_S = 20  # a subprocess that has not refused the file by then has read it


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", "validate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=LIMIT_S)


def test_yaml_alias_bomb_is_refused_before_expansion(tmp_path):
    """8 levels of 9 references: 9**8 = 43 million values from 324 bytes."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines) + "\n")
    r = validate(f)
    assert r.returncode == 2, r.stderr
    assert f"more than {MAX_YAML_VALUES:,} values" in r.stderr and "bomb.yaml" in r.stderr
    assert "Traceback" not in r.stderr


def test_recursive_alias_is_refused(tmp_path):
    f = tmp_path / "loop.yaml"
    f.write_text("a: &a [1, *a]\n")
    with pytest.raises(InstanceError, match="recursive YAML alias"):
        optimizer.load_instance(f)


def test_moderate_aliases_still_load(tmp_path):
    """Anchors used as intended (one value shared by two records) are fine."""
    import re

    text = QUICK.read_text()
    values = re.findall(r"grid_mw: ([0-9.]+)", text)
    assert len(values) >= 2
    text = text.replace(f"grid_mw: {values[0]}", f"grid_mw: &grid {values[0]}", 1)
    head, tail = text.split("&grid", 1)
    tail = tail.replace(f"grid_mw: {values[1]}", "grid_mw: *grid", 1)
    f = tmp_path / "anchored.yaml"
    f.write_text(head + "&grid" + tail)
    inst = optimizer.load_instance(f)
    assert [s.grid_mw for s in inst.sites][:2] == [inst.sites[0].grid_mw] * 2


def _replace_part(book: Path, part_name: str, content: bytes) -> None:
    """Rewrite one part of a workbook (zip) in place."""
    tmp = book.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = content if info.filename == part_name else src.read(info.filename)
            dst.writestr(info.filename, data)
    tmp.replace(book)


def _sheet_part(book: Path, title: str) -> str:
    """The zip part of the worksheet called ``title``."""
    from openpyxl import load_workbook

    wb = load_workbook(book, read_only=True)
    index = wb.sheetnames.index(title) + 1
    wb.close()
    return f"xl/worksheets/sheet{index}.xml"


def test_workbook_with_millions_of_rows_is_refused(tmp_path):
    book = tmp_path / "rows.xlsx"
    write_tabular(optimizer.load_instance(QUICK), book)
    rows = "".join(f'<row r="{n}"/>' for n in range(1, MAX_ROWS + 100))
    xml = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           f"<sheetData>{rows}</sheetData></worksheet>").encode()
    _replace_part(book, _sheet_part(book, "settings"), xml)
    r = validate(book)
    assert r.returncode == 2, r.stderr
    assert f"more than {MAX_ROWS:,} rows" in r.stderr and "rows.xlsx" in r.stderr


def test_workbook_that_inflates_to_gigabytes_is_refused(tmp_path):
    book = tmp_path / "inflate.xlsx"
    write_tabular(optimizer.load_instance(QUICK), book)
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + b" " * (MAX_UNCOMPRESSED_BYTES + 2**20) + b"<sheetData/></worksheet>")
    _replace_part(book, _sheet_part(book, "settings"), xml)
    assert book.stat().st_size < 2 * 2**20  # a small file on disk
    r = validate(book)
    assert r.returncode == 2, r.stderr
    assert "inflates to" in r.stderr and f"more than {MAX_UNCOMPRESSED_BYTES // 2**20} MB" in r.stderr


def test_csv_with_millions_of_rows_is_refused(tmp_path):
    folder = tmp_path / "tables"
    write_tabular(optimizer.load_instance(QUICK), folder, "csv")
    with (folder / "settings.csv").open("a") as fh:
        fh.write("x,1\n" * (MAX_ROWS + 10))
    r = validate(folder)
    assert r.returncode == 2, r.stderr
    assert f"more than {MAX_ROWS:,} rows" in r.stderr and "settings.csv" in r.stderr


def test_formula_without_saved_value_is_named(tmp_path):
    """openpyxl saves formulas without a computed value: the cell must be reported as a
    formula, not as a missing field."""
    from openpyxl import load_workbook

    book = tmp_path / "formula.xlsx"
    write_tabular(optimizer.load_instance(QUICK), book)
    wb = load_workbook(book)
    ws = wb["sites"]
    col = [c.value for c in ws[1]].index("grid_mw") + 1
    ws.cell(row=2, column=col, value="=40+60")
    wb.save(book)
    with pytest.raises(InstanceError) as exc:
        optimizer.load_instance(book)
    text = str(exc.value)
    assert "holds a formula with no saved value" in text and "=40+60" in text and "grid_mw" in text
    assert "required field is missing" not in text.split("grid_mw")[0].splitlines()[-1]
