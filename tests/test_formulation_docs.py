"""Every model family has micro tests, and the formulation document names every row.

- each module of ``optimizer.model.MODULES`` has ``tests/model/test_model_<name>.py``
  marked ``pytest.mark.family("<name>")`` with at least one test that solves a micro
  instance through ``solve_checked`` (which re-checks the plan with the verifier);
- every constraint label in a ``optimizer/model/*.py`` docstring (the names in
  ``\\text{(...)}``) appears in ``docs/formulation.md``;
- every constraint the example instances build is named in its module's docstring.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pyomo.environ as pyo
import pytest

from optimizer.instance.derive import prepare
from optimizer.instance.load import load_instance
from optimizer.model import MODULES, build_model

ROOT = Path(__file__).resolve().parents[1]
FORMULATION = (ROOT / "docs" / "formulation.md").read_text(encoding="utf-8")
FAMILIES = [m.__name__.rsplit(".", 1)[1] for m in MODULES]


def _docstring(module) -> str:
    return (ast.get_docstring(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))) or "").replace("\\_", "_")


def _labels(doc: str) -> list[str]:
    out = []
    for m in re.finditer(r"\\text\{\(([^)]*)\)\}", doc):
        out += [x.strip() for x in m.group(1).split(",") if re.fullmatch(r"[a-z][a-z0-9_]*", x.strip())]
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_every_model_family_has_micro_tests(family: str):
    path = ROOT / "tests" / "model" / f"test_model_{family}.py"
    assert path.exists(), f"model family '{family}' has no micro tests: create {path.relative_to(ROOT)}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8")
    assert f'pytest.mark.family("{family}")' in text, f"{path.name} must set pytestmark = pytest.mark.family('{family}')"
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    checked = [n.name for n in tests if "solve_checked" in ast.unparse(n)]
    assert checked, f"{path.name} has no test that solves a micro instance with solve_checked"


@pytest.mark.parametrize("module", MODULES, ids=FAMILIES)
def test_docstring_labels_are_in_the_formulation(module):
    missing = [lab for lab in _labels(_docstring(module)) if lab not in FORMULATION]
    assert not missing, f"{module.__name__}: labels missing from docs/formulation.md: {missing}"


def test_every_built_constraint_is_named_in_its_module_docstring():
    words = set()
    for module in MODULES:
        words |= set(re.findall(r"[a-z][a-z0-9_]+", _docstring(module)))
    names = set()
    for path in sorted((ROOT / "instances").glob("*.yaml")):
        m, _ctx = build_model(prepare(load_instance(path)))
        names |= {c.name for c in m.component_objects(pyo.Constraint)}
    assert not sorted(names - words), f"constraints not named in any optimizer/model docstring: {sorted(names - words)}"
    assert not sorted(n for n in names if n not in FORMULATION), "constraints missing from docs/formulation.md"
