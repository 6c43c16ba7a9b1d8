"""Tables to instance data: :class:`TableReader` builds the plain data of an instance from
the raw sheets of a workbook or CSV folder, remembering where every value came from.

Sheets whose name starts with ``#`` or ``_`` and columns whose header starts with ``#`` are
notes and are ignored. Problems of the tables themselves (unknown sheet or column, a row
naming an unknown parent, a value given twice) are collected in ``problems``; the map from
every record path to its sheet, row and column lets :meth:`TableReader.locate` re-point
validation problems: ``sites.csv: row 4, column grid_mw = -5: must be >= 0``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from optimizer.instance.errors import Loc, Problem
from optimizer.instance.io.cells import as_text, cell_at, cell_in, col_letter, is_blank
from optimizer.instance.io.layout import COLUMNS, SETTINGS, VARIANTS, Sheet, layout
from optimizer.instance.schema import ALL_PERIODS


@dataclass
class RawSheet:
    """One sheet (or CSV file) as read: header cells and the non-blank rows."""

    name: str
    label: str  # file name used in messages: 'dir/sites.csv' or 'book.xlsx, sheet sites'
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as shown in Excel, cells)
    container: tuple[str, str] = ("", "")  # ('book.xlsx', 'sheet sites') or ('dir', 'sites.csv')
    formulas: dict[tuple[int, int], str] | None = None  # (row number, column index) -> formula without a saved value


def raw_sheet(name: str, label: str, records: Iterable[Iterable[Any]], container: tuple[str, str]) -> RawSheet:
    """A :class:`RawSheet` from rows of cells (the first is the header row); blank rows are dropped."""
    it = iter(records)
    header_row = next(it, None)
    headers = [("" if h is None else as_text(h).strip()) for h in (header_row or [])]
    rows = []
    for n, cells in enumerate(it, start=2):
        cells = list(cells)
        if all(is_blank(c) for c in cells):
            continue
        rows.append((n, cells))
    return RawSheet(name, label, headers, rows, container)


# ----------------------------------------------------------------------------- tables -> data
Origin = tuple[str, "int | None", "str | None", "str | None"]  # (file label, row, column, note)


class TableReader:
    """Builds the instance data from raw sheets, remembering where every value came from."""

    def __init__(self, sheets: list[RawSheet], name: str, label_for: Callable[[str], str]) -> None:
        self.name = name
        self.label_for = label_for
        self.lay = layout()
        self.data: dict[str, Any] = {}
        self.origins: dict[Loc, Origin] = {}
        self.table_origin: dict[str, str] = {}  # sheet -> file label
        self.problems: list[Problem] = []
        self.raw: dict[str, RawSheet] = {}
        self.index: dict[str, dict[str, tuple[dict[str, Any], Loc]]] = {}  # sheet -> id -> (record, loc)
        known = set(self.lay.names()) | {COLUMNS}
        for rs in sheets:
            if rs.name.startswith(("#", "_")) or rs.name == COLUMNS:
                continue
            if rs.name not in known:
                near = difflib.get_close_matches(rs.name, sorted(known), n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else f"; tables are: {', '.join(self.lay.names())}"
                self.problems.append(Problem(rs.container[0], rs.container[1], "unknown table" + hint))
                continue
            self.raw[rs.name] = rs

    def label(self, sheet: str) -> str:
        """The file label of a sheet as the messages name it."""
        if sheet in self.raw:
            return self.raw[sheet].label
        return self.table_origin.get(sheet, sheet)

    def add(self, label: str, where: str, rule: str, value: Any = None, has_value: bool = False) -> None:
        """Record a problem of the tables (a cell already reported as a formula without a
        saved value is not reported again as missing)."""
        if rule == "required field is missing" and (label, where) in self.formula_cells:
            return
        self.problems.append(Problem(label, where, rule, value, has_value))

    def _report_formulas(self) -> None:
        """Cells holding a formula that the workbook was saved without calculating."""
        self.formula_cells: set[tuple[str, str]] = set()
        for rs in self.raw.values():
            for (n, i), text in sorted((rs.formulas or {}).items()):
                column = rs.headers[i] if i < len(rs.headers) and rs.headers[i] else col_letter(i)
                where = f"row {n}, column {column}"
                self.formula_cells.add((rs.label, where))
                self.problems.append(Problem(rs.label, where, "holds a formula with no saved value (the workbook was saved "
                                             "without calculating it): open and save it in Excel or LibreOffice, "
                                             "or type the value", text, True))

    # ---------------------------------------------------------------- columns of one sheet
    def columns(self, rs: RawSheet, allowed: list[str], extra_ok: tuple[str, ...] = ()) -> dict[str, int]:
        """Position of every known column of ``rs``; unknown, repeated or unnamed columns are problems."""
        pos: dict[str, int] = {}
        for i, h in enumerate(rs.headers):
            if h.startswith("#") or h in extra_ok:
                continue
            if h == "":
                if any(i < len(cells) and not is_blank(cells[i]) for _, cells in rs.rows):
                    self.add(rs.label, f"row 1, column {col_letter(i)}", "values in a column without a header")
                continue
            if h in pos:
                self.add(rs.label, f"row 1, column {h}", "the column appears twice")
                continue
            if h not in allowed:
                near = difflib.get_close_matches(h, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else f"; columns are: {', '.join(allowed)}"
                self.add(rs.label, f"row 1, column {h}", "unknown column" + hint)
                continue
            pos[h] = i
        for n, cells in rs.rows:
            extra = [j for j in range(len(rs.headers), len(cells)) if not is_blank(cells[j])]
            if extra:
                self.add(rs.label, f"row {n}, column {col_letter(extra[0])}", "value in a column without a header",
                         cells[extra[0]], True)
        return pos

    # ---------------------------------------------------------------- building
    def build(self) -> None:
        """Read every sheet of the layout into ``data`` (and ``origins``, ``problems``)."""
        self._report_formulas()
        # single records (horizon, network, policies) exist even when none of their fields is given,
        # so a missing table is reported at the table rather than at the record
        for s in self.lay.sheets:
            paths = [c.path[:-1] for c in s.columns] if s.kind == SETTINGS else [s.loc[:-1]] if s.parent is None else []
            for p in paths:
                node = self.data
                for part in p:
                    node = node.setdefault(part, {})
        for s in self.lay.sheets:
            self.table_origin[s.name] = self.raw[s.name].label if s.name in self.raw else self.label_for(s.name)
        for s in self.lay.sheets:
            if s.kind == SETTINGS:
                self._settings(s)
            elif s.kind == "records":
                self._record_sheet(s)
            elif s.kind == "map":
                self._map_sheet(s)
            elif s.kind == VARIANTS:
                self._variants(s)

    def _settings(self, s: Sheet) -> None:
        cols = {c.header: c for c in s.columns}
        rs = self.raw.get(s.name)
        label = self.table_origin[s.name]
        for c in s.columns:
            self.origins[c.path] = (label, None, None, f"field {c.header}")
        if rs is None:
            return
        pos = self.columns(rs, ["field", "value"], extra_ok=("unit", "description"))
        if "field" not in pos or "value" not in pos:
            self.add(rs.label, "row 1", "the settings table needs the columns 'field' and 'value'")
            return
        seen: dict[str, int] = {}
        for n, cells in rs.rows:
            key = cell_at(cells, pos["field"])
            if is_blank(key):
                if not is_blank(cell_at(cells, pos["value"])):
                    self.add(rs.label, f"row {n}, column field", "required field is missing")
                continue
            key = as_text(key).strip()
            col = cols.get(key)
            if col is None:
                near = difflib.get_close_matches(key, list(cols), n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else f"; fields are: {', '.join(cols)}"
                self.add(rs.label, f"row {n}, column field", "unknown field" + hint, key, True)
                continue
            if key in seen:
                self.add(rs.label, f"row {n}, column field", f"'{key}' is already given in row {seen[key]}", has_value=False)
                continue
            seen[key] = n
            self.origins[col.path] = (rs.label, n, "value", None)
            value = cell_at(cells, pos["value"])
            if not is_blank(value):
                _set_path(self.data, col.path, cell_in(value, col.kind))

    def _record_sheet(self, s: Sheet) -> None:
        rs = self.raw.get(s.name)
        label = self.table_origin[s.name]
        if s.parent is None:
            self.origins.setdefault(s.loc, (label, None, None, "table"))
        index = self.index.setdefault(s.name, {})
        if rs is None:
            return
        allowed = ([s.key] if s.key else []) + [c.header for c in s.columns]
        pos = self.columns(rs, allowed)
        if s.key and s.key not in pos:
            if rs.rows:
                self.add(rs.label, "row 1", f"the column '{s.key}' is missing (it names the {s.key} of each row)")
            return
        parents = self.index.get(s.parent.name, {}) if s.parent else {}
        for n, cells in rs.rows:
            if s.parent is None:
                holder_loc: Loc = ()
                lst = _ensure_list(self.data, s.loc)
            else:
                assert s.key is not None  # a sheet under a parent has the column naming it
                pid = cell_at(cells, pos[s.key])
                if is_blank(pid):
                    self.add(rs.label, f"row {n}, column {s.key}", "required field is missing")
                    continue
                pid = cell_in(pid, "key")
                if pid not in parents:
                    self.add(rs.label, f"row {n}, column {s.key}", _unknown(s.key, parents, s.parent.name), pid, True)
                    continue
                prec, holder_loc = parents[pid]
                lst = _ensure_list(prec, s.loc)
            rec: dict[str, Any] = {}
            loc = holder_loc + s.loc + (len(lst),)
            lst.append(rec)
            self.origins[loc] = (rs.label, n, None, None)
            for c in s.columns:
                self.origins[loc + c.path] = (rs.label, n, c.header, None)
                if len(c.path) > 1:
                    self.origins.setdefault(loc + c.path[:-1], (rs.label, n, c.header, None))
                i = pos.get(c.header)
                value = cell_at(cells, i) if i is not None else None
                if is_blank(value):
                    continue
                value = cell_in(value, c.kind)
                if c.kind == "all_periods":
                    rec[c.header] = {ALL_PERIODS: value}
                    self.origins[loc + (c.header, ALL_PERIODS)] = (rs.label, n, c.header, None)
                elif c.kind == "marker":
                    sub = rec.setdefault(c.header, {})
                    if isinstance(sub, dict):
                        for k in value:
                            if k not in c.choices:
                                self.add(rs.label, f"row {n}, column {c.header}",
                                         f"unknown list '{k}'; lists are: {', '.join(c.choices)}", has_value=False)
                            else:
                                sub.setdefault(k, [])
                else:
                    _set_path(rec, c.path, value)
            rid = rec.get("id")
            if isinstance(rid, str) and rid not in index:
                index[rid] = (rec, loc)

    def _map_sheet(self, s: Sheet) -> None:
        assert s.parent is not None and s.key is not None  # a long-form sheet belongs to a record sheet
        rs = self.raw.get(s.name)
        label = self.table_origin[s.name]
        parents = self.index.get(s.parent.name, {})
        # a mapping field without an all-periods column: a missing field points at this table
        for v in s.values:
            if not v.has_main:
                for pid, (_, loc) in parents.items():
                    self.origins.setdefault(loc + (v.field,), (label, None, v.header, f"{s.key} '{pid}'"))
        if rs is None:
            return
        pos = self.columns(rs, s.headers())
        missing = [k for k in (s.key, *s.keys) if k not in pos]
        if missing:
            if rs.rows:
                self.add(rs.label, "row 1", f"missing key column(s): {', '.join(missing)}")
            return
        seen: dict[tuple[Any, ...], int] = {}
        for n, cells in rs.rows:
            keys = []
            ok = True
            for k in (s.key, *s.keys):
                v = cell_at(cells, pos[k])
                if is_blank(v):
                    self.add(rs.label, f"row {n}, column {k}", "required field is missing")
                    ok = False
                keys.append(cell_in(v, "key") if not is_blank(v) else None)
            if not ok:
                continue
            rid, sub = keys[0], tuple(keys[1:])
            if rid not in parents:
                self.add(rs.label, f"row {n}, column {s.key}", _unknown(s.key, parents, s.parent.name), rid, True)
                continue
            rec, loc = parents[rid]
            for v in s.values:
                i = pos.get(v.header)
                value = cell_at(cells, i) if i is not None else None
                if is_blank(value):
                    continue
                if (v.field, rid, sub) in seen:
                    given = f"{s.key} '{rid}', {', '.join(map(str, sub))}"
                    self.add(rs.label, f"row {n}, column {v.header}",
                             f"a value for {given} is already given in row {seen[(v.field, rid, sub)]}")
                    continue
                seen[(v.field, rid, sub)] = n
                target = rec.get(v.field)
                if not isinstance(target, dict):
                    target = rec[v.field] = {}
                    self.origins.setdefault(loc + (v.field,), (rs.label, n, v.header, None))
                for part in sub[:-1]:
                    target = target.setdefault(part, {})
                    if not isinstance(target, dict):
                        break
                else:
                    target[sub[-1]] = cell_in(value, "number")
                for j in range(1, len(sub) + 1):
                    self.origins.setdefault(loc + (v.field, *sub[:j]), (rs.label, n, v.header, None))
                self.origins[loc + (v.field, *sub)] = (rs.label, n, v.header, None)

    def _variants(self, s: Sheet) -> None:
        rs = self.raw.get(s.name)
        if rs is None:
            return
        pos = self.columns(rs, s.headers())
        if "variant" not in pos:
            if rs.rows:
                self.add(rs.label, "row 1", "the column 'variant' is missing")
            return
        out = self.data.setdefault(s.loc[0], {})
        for n, cells in rs.rows:
            name = cell_at(cells, pos["variant"])
            if is_blank(name):
                self.add(rs.label, f"row {n}, column variant", "required field is missing")
                continue
            name = cell_in(name, "key")
            changes = out.setdefault(name, {})
            self.origins[(s.loc[0], name)] = (rs.label, n, "variant", None)
            path = cell_at(cells, pos["path"]) if "path" in pos else None
            if is_blank(path):
                continue
            path = as_text(path).strip()
            raw = cell_at(cells, pos["value"]) if "value" in pos else None
            try:
                value = None if is_blank(raw) else cell_in(raw, "any")
            except yaml.YAMLError as exc:
                self.add(rs.label, f"row {n}, column value", f"not a valid YAML value: {exc}".splitlines()[0], raw, True)
                continue
            if path in changes:
                self.add(rs.label, f"row {n}, column path", f"'{path}' is already changed by variant '{name}'")
                continue
            changes[path] = value
            self.origins[(s.loc[0], name, path)] = (rs.label, n, "value", None)

    # ---------------------------------------------------------------- problems -> cells
    def locate(self, loc: Loc, fallback: Problem) -> Problem:
        """``fallback`` re-pointed at the sheet, row and column the value at ``loc`` came from."""
        for i in range(len(loc), 0, -1):
            o = self.origins.get(tuple(loc[:i]))
            if o is not None:
                label, row, col, note = o
                parts = [f"row {row}" if row else "", f"column {col}" if col else "", note or ""]
                where = ", ".join(p for p in parts if p)
                rule = fallback.rule
                if note == "table" and rule == "required field is missing":
                    rule = "the table is missing or has no rows"
                return Problem(label, where, rule, fallback.value, fallback.has_value)
        return Problem(self.name, fallback.where, fallback.rule, fallback.value, fallback.has_value)



def _unknown(what: str, known: dict[str, Any], sheet: str) -> str:
    ids = list(known)
    shown = ", ".join(ids[:12]) + (", ..." if len(ids) > 12 else "")
    return f"unknown {what}; known ({sheet}): {shown}" if ids else f"unknown {what}; sheet {sheet} has no records"


def _set_path(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[path[-1]] = value


def _ensure_list(node: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    lst = node.get(path[-1])
    if not isinstance(lst, list):
        lst = node[path[-1]] = []
    return lst

