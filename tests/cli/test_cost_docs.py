"""Every cost category the model registers appears in a cost table of docs/formulation.md."""

from __future__ import annotations

import re

from conftest import ROOT

FORMULATION = (ROOT / "docs" / "formulation.md").read_text(encoding="utf-8")


def test_every_cost_category_is_in_a_cost_table():
    categories = set()
    for path in sorted((ROOT / "optimizer" / "model").glob("*.py")):
        categories |= set(re.findall(r'ctx\.(?:lump|annual|at_end)\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert {"placement", "unplaced_penalty", "site_capex"} <= categories
    rows = set(re.findall(r"^\| `([a-z_]+)` \| (?:lump|annual|at the end) \|", FORMULATION, re.M))
    assert not sorted(categories - rows), f"cost categories missing from docs/formulation.md: {sorted(categories - rows)}"
