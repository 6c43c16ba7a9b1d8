"""Example instances: each solves to optimality with its stored objective, and the plan
passes the independent verifier and the printed summary reads as a plan.

Stored objectives live in ``tests/expected_objectives.json`` with the date and reason of
their last change; refresh them deliberately with
``pytest tests/model/test_examples.py --update-expected --reason "..."``.
"""

from __future__ import annotations

import datetime
import json

import pytest
from conftest import ROOT

import optimizer
from optimizer.results.report import plan_text

EXPECTED = ROOT / "tests" / "expected_objectives.json"
NAMES = [k for k in json.loads(EXPECTED.read_text()) if not k.startswith("_")]


@pytest.mark.parametrize("name", NAMES)
def test_example_objective(name, request):
    inst = optimizer.load_instance(ROOT / "instances" / f"{name}.yaml")
    plan = optimizer.solve(inst, optimizer.SolveOptions(mip_gap=1e-6))
    assert plan.status == "optimal", plan.messages
    rep = optimizer.verify_plan(inst, plan.tables, plan.expected_cost)
    assert rep.ok, rep.messages[:5]
    text = plan_text(plan)
    assert "Sites built or converted" in text and "Expected discounted cost by category" in text
    data = json.loads(EXPECTED.read_text())
    if request.config.getoption("--update-expected"):
        reason = request.config.getoption("--reason")
        if not reason:
            pytest.fail("--update-expected needs --reason 'why the objective changed'")
        old = data.get(name, {}).get("objective")
        if old is None or plan.objective != pytest.approx(old, rel=1e-5):  # unchanged entries keep their reason
            data[name] = {"objective": plan.objective, "date": datetime.date.today().isoformat(), "reason": reason}
            EXPECTED.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    assert plan.objective == pytest.approx(data[name]["objective"], rel=1e-5)


def test_example_files_validate():
    for path in sorted((ROOT / "instances").glob("*.yaml")):
        optimizer.load_instance(path)
