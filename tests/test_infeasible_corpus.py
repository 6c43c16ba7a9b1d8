"""A corpus of infeasible instances (``tests/infeasible/``) with the expected diagnosis:
each exits 3 from ``dcplan solve`` and names, in input terms, the rule that has to give."""

from __future__ import annotations

import json

import pytest

import optimizer
from optimizer.diagnose import diagnose
from conftest import ROOT

CORPUS = ROOT / "tests" / "infeasible"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_infeasible_instance_is_explained(name):
    inst = optimizer.load_instance(CORPUS / name)
    plan = optimizer.solve(inst)
    assert plan.status == "infeasible" and plan.objective is None
    diag = diagnose(inst)
    assert not diag.feasible and len(diag.findings) == 1
    for fragment in EXPECTED[name]:
        assert fragment in diag.findings[0], diag.findings[0]
        assert any(fragment in m for m in plan.messages)


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "huge.yaml"
    with open(big, "wb") as f:
        f.truncate(60 * 1024 * 1024)
    with pytest.raises(optimizer.InstanceError, match="instances are limited to 50 MB"):
        optimizer.load_instance(big)


def test_yaml_is_data_only(tmp_path):
    """No object construction: a python tag is a syntax problem, not code that runs."""
    f = tmp_path / "evil.yaml"
    f.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(optimizer.InstanceError, match="malformed YAML"):
        optimizer.load_instance(f)
