"""Property-based fuzzing of loading and validation.

Random mutations of the example instances (deleted, renamed and retyped fields,
negative, huge, NaN and infinite numbers, broken references) must give either a plan or
an :class:`InstanceError` listing problems — never any other exception.
"""

from __future__ import annotations

import copy
import math

import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer

EXAMPLES = ["quickstart.yaml"]
BASES = {name: yaml.safe_load((ROOT / "instances" / name).read_text()) for name in EXAMPLES}


def _paths(node, prefix=()):
    """Every path to a value in a nested dict/list structure."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


REPLACEMENTS = [-5, -1e-9, 0, 1e300, -1e300, math.nan, math.inf, -math.inf, "text", "", None, [], {}, [1, 2],
                {"x": 1}, True, "nope", 2026, "2026", 1e-300]


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(EXAMPLES))
    data = copy.deepcopy(BASES[name])
    n = draw(st.integers(1, 3))
    for _ in range(n):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "rename", "replace", "replace", "replace"]))
        if action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["s", "_x", "e"]))] = parent.pop(key)
        else:
            parent[key] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_give_a_plan_or_a_clear_error(data):
    try:
        inst = optimizer.instance_from_dict(data, "fuzz.yaml")
    except optimizer.InstanceError as exc:
        assert exc.problems, "an InstanceError must list at least one problem"
        for p in exc.problems:
            assert p.file == "fuzz.yaml" and p.rule
        return
    plan = optimizer.solve(inst, optimizer.SolveOptions(time_limit=20))
    assert plan.status in ("optimal", "feasible", "infeasible", "no_solution")
    if plan.has_solution:
        rep = optimizer.verify_plan(inst, plan.tables, plan.objective)
        assert rep.ok, rep.messages


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)))
def test_wrong_top_level_type(data):
    try:
        optimizer.instance_from_dict(data, "x.yaml")
    except optimizer.InstanceError as exc:
        assert exc.problems
