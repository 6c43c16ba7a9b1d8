"""Result table columns are declared once, with a unit and a description, and match what a solve produces."""

from __future__ import annotations

import pytest
from conftest import ROOT

import optimizer
from optimizer.results import extract
from optimizer.results.columns import COLUMNS, TABLES, Column, column


@pytest.fixture(scope="module")
def quickstart_tables():
    plan = optimizer.solve(ROOT / "instances" / "quickstart.yaml")
    assert plan.has_solution, plan.messages
    return plan.tables


def test_every_produced_column_is_declared_with_unit_and_description(quickstart_tables):
    assert set(quickstart_tables) == set(TABLES)
    for table, df in quickstart_tables.items():
        declared = {c.name: c for c in TABLES[table]}
        for name in df.columns:
            assert name in declared, f"{table}.{name} is produced but not declared"
            c = declared[name]
            assert isinstance(c.unit, str), f"{table}.{name} has no unit"
            assert c.description.strip(), f"{table}.{name} has no description"
        # no declared column is missing, and the order is the declared one
        assert list(df.columns) == [c.name for c in TABLES[table]], table


def test_declarations_are_consistent():
    for table, cols in TABLES.items():
        names = [c.name for c in cols]
        assert len(names) == len(set(names)), f"{table} declares a column twice"
        for c in cols:
            assert isinstance(c, Column) and c.kind in ("text", "number", "bool")
            assert c.description.strip().endswith("."), f"{table}.{c.name}: one sentence, ending with a full stop"
            if c.kind != "number":
                assert c.unit == "", f"{table}.{c.name}: ids and flags have no unit"
            if c.name.endswith("_mw"):
                assert c.unit == "MW", f"{table}.{c.name}"
            if c.name.endswith("_usd"):
                assert c.unit == "USD", f"{table}.{c.name}"
            if c.name.endswith("_pct"):
                assert c.unit == "%", f"{table}.{c.name}"
    # a column name means the same kind of thing in every table
    kinds: dict[str, str] = {}
    for cols in TABLES.values():
        for c in cols:
            assert kinds.setdefault(c.name, c.kind) == c.kind, c.name
    assert COLUMNS == {t: [c.name for c in cols] for t, cols in TABLES.items()}
    assert extract.COLUMNS is COLUMNS  # the extract stage builds its frames from the declaration
    assert column("site_power", "grid_mw").unit == "MW"
    with pytest.raises(KeyError):
        column("site_power", "nope")
