"""The Python stages around HiGHS give the same answers as the slower ways they replaced.

- The hand-over (:mod:`optimizer.solver.compile`) gives HiGHS the model Pyomo's persistent
  HiGHS interface gives it, array for array: same columns and rows in the same order, same
  bounds, integrality, costs, constant and coefficients (bit for bit).
- The objective of a flat model is evaluated bit for bit as ``pyo.value`` evaluates it.
- YAML instances built from the parser's events equal ``yaml.safe_load``'s result, and
  anything unusual still goes the general way (aliases bounded, errors as before).
No timings are asserted.
"""

from __future__ import annotations

import copy
import random

import numpy as np
import pyomo.environ as pyo
import pytest
import yaml
from conftest import ROOT, micro, option, region, site, system

import optimizer
from optimizer.instance.io.limits import _NotPlain, _plain_load, safe_yaml_load
from optimizer.plan import timed_build
from optimizer.solver import HighsSession
from optimizer.solver.session import objective_value

EXAMPLES = sorted((ROOT / "instances").glob("*.yaml"))


def _arrays(h) -> dict:
    lp = h.getLp()
    a = lp.a_matrix_
    return {"cost": np.array(lp.col_cost_), "lower": np.array(lp.col_lower_), "upper": np.array(lp.col_upper_),
            "row_lower": np.array(lp.row_lower_), "row_upper": np.array(lp.row_upper_), "offset": lp.offset_,
            "sense": lp.sense_, "integrality": np.array([int(t) for t in lp.integrality_]), "format": a.format_,
            "start": np.array(a.start_), "index": np.array(a.index_), "value": np.array(a.value_)}


def _same_as_pyomo(m: pyo.ConcreteModel) -> list[str]:
    """What differs between our hand-over and Pyomo's persistent interface (empty: nothing)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    ours = HighsSession(m)
    opt = SolverFactory("highs")
    opt.set_instance(m)
    bad = [] if ours._cols == opt._pyomo_var_to_solver_var_map else ["columns"]
    bad += [] if ours._rows == dict(opt._pyomo_con_to_solver_con_map) else ["rows"]
    x, y = _arrays(ours._h), _arrays(opt._solver_model)
    for k in x:
        same = np.array_equal(x[k], y[k]) if isinstance(x[k], np.ndarray) else x[k] == y[k]
        bad += [] if same else [k]
    return bad


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_handover_equals_pyomos_persistent_interface(path):
    _, m, _, _ = timed_build(optimizer.load_instance(path))
    assert _same_as_pyomo(m) == []


def test_handover_with_fixed_variables_and_scenarios():
    """Fixed variables are folded into the bounds (the second pass of compile_model)."""
    data = micro(sites=[site("mine", "convertible", options=[option(capex=1000, block=2, max_mw=20)]), site("s1")],
                 systems=[system("gpu", price=10), system("npu", origin="CN", family="cann", price=30)],
                 regions=[region("r", 50, penalty=150)],
                 scenarios=[{"id": "high", "probability": 0.5}, {"id": "low", "probability": 0.5, "demand_scale": 0.2}])
    inst = optimizer.instance_from_dict(copy.deepcopy(data), "micro")
    _, m, _, _ = timed_build(inst)
    assert _same_as_pyomo(m) == []
    var = next(iter(m.build.values()))
    var.fix(1)
    next(iter(m.blocks.values())).fix(3)
    assert _same_as_pyomo(m) == []


def test_flat_objective_value_is_pyomos_value_bit_for_bit():
    data = micro(sites=[site("s1"), site("s2", price=40.0)], regions=[region("r", 35, penalty=1e6)])
    _, m, _, _ = timed_build(optimizer.instance_from_dict(copy.deepcopy(data), "micro"))
    rng = random.Random(3)
    for v in m.component_data_objects(pyo.Var):
        v.set_value(rng.random() * 1e3, skip_validation=True)
    assert objective_value(m) == float(pyo.value(m.total_cost))


def test_solve_loads_integer_variables_as_whole_numbers():
    plan = optimizer.solve(ROOT / "instances" / "quickstart.yaml", keep_model=True)
    assert plan.status == "optimal"
    ints = [v.value for v in plan.model.component_data_objects(pyo.Var) if not v.is_continuous() and v.value is not None]
    assert ints and all(isinstance(x, int) for x in ints)


# ----------------------------------------------------------------------------- YAML
@pytest.mark.parametrize("path", [*EXAMPLES, *sorted((ROOT / "tests" / "infeasible").glob("*.yaml"))],
                         ids=lambda p: p.stem)
def test_plain_yaml_equals_safe_load(path):
    text = path.read_text()
    assert repr(_plain_load(text)) == repr(yaml.load(text, Loader=yaml.CSafeLoader))


@pytest.mark.parametrize("value", ["0", "-0", "010", "1_000", "+1", "1.5", "-1.5", "1.", ".5", "1e5", "1.0e+5", "-0.0",
                                   "1:30", "0x1F", "12.50", "9" * 30, "true", "no", "~", "2026-01-01", ".inf", ".nan",
                                   "'12'", '"x"', "!!str 12", "!!float 1", "[1, 2.5, a]", "{a: 1}"])
def test_scalars_read_as_safe_load_reads_them(value):
    doc = f"a: {value}\nb: [{value}, x]\n"
    assert repr(_plain_load(doc)) == repr(yaml.safe_load(doc))


def test_aliases_share_and_unusual_documents_go_the_general_way():
    shared = _plain_load("a: &x [1, 2]\nb: *x\n")
    assert shared["a"] is shared["b"]
    for doc in ("base: &b {x: 1}\nc:\n  <<: *b\n", "a: &a [1, *a]\n", "a: 1\n---\nb: 2\n", "a: !!set {x}\n", "a: [1\n",
                "? [a]\n: 1\n"):
        with pytest.raises(_NotPlain):
            _plain_load(doc)
    assert safe_yaml_load("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n", "t") == {"base": {"x": 1}, "c": {"x": 1, "y": 2}}
    with pytest.raises(yaml.YAMLError):
        safe_yaml_load("a: [1, 2\n", "t")
