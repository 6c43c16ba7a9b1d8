"""Shared helpers: micro instances built from dicts, solved and independently verified."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

import optimizer

ROOT = Path(__file__).resolve().parents[1]
HOURS = 8760.0


def site(sid: str, kind: str = "existing", *, jur: str = "CN", lat: float = 0.0, lon: float = 0.0,
         grid: float | dict = 100.0, price: float | dict = 0.0, it_mw: float = 100.0, pue: float = 1.0,
         options: list | None = None, **extra) -> dict:
    s = {"id": sid, "jurisdiction": jur, "lat": lat, "lon": lon, "kind": kind, "grid_mw": grid,
         "electricity_usd_per_mwh": price, "build_options": options or []}
    if kind == "existing":
        s["existing"] = {"it_mw": it_mw, "pue": pue}
    s.update(extra)
    return s


def option(oid: str = "build", *, capex: float = 0.0, fixed: float = 0.0, lead: float = 0.0, pue: float = 1.0,
           share: float = 1.0, max_mw: float = 10.0, block: float = 1.0, **extra) -> dict:
    return {"id": oid, "capex_usd_per_mw": capex, "fixed_capex_usd": fixed, "lead_time_months": lead, "pue": pue,
            "usable_grid_share": share, "max_it_mw": max_mw, "block_mw": block, **extra}


def system(sid: str, *, origin: str = "US", family: str = "cuda", kw: float = 1000.0, idle: float = 0.0,
           train: float = 10.0, infer: float = 10.0, price: float | dict = 100.0, life: float = 10.0, **extra) -> dict:
    return {"id": sid, "vendor": "v", "origin": origin, "family": family, "it_kw_per_unit": kw, "idle_power_share": idle,
            "training_pflops_per_unit": train, "inference_pflops_per_unit": infer, "price_usd_per_unit": price,
            "lifetime_years": life, **extra}


def region(rid: str, demand: float | dict, *, jur: str = "CN", lat: float = 0.0, lon: float = 0.0,
           penalty: float = 1e9, **extra) -> dict:
    return {"id": rid, "jurisdiction": jur, "lat": lat, "lon": lon, "demand_pflops": demand,
            "unserved_penalty_usd_per_pflops_year": penalty, **extra}


def micro(*, periods=("2026",), years=None, rate: float = 0.0, sites=None, systems=None, regions=(), jobs=(),
          policies=None, scenarios=(), families=None) -> dict:
    years = years or [1.0] * len(periods)
    return {
        "name": "micro",
        "horizon": {"periods": [{"id": p, "years": y} for p, y in zip(periods, years)], "discount_rate": rate},
        "jurisdictions": [{"id": "CN"}, {"id": "US"}, {"id": "CN-west", "parent": "CN"}],
        "families": families or [{"id": "cuda", "training_efficiency": 1.0}, {"id": "cann", "training_efficiency": 0.5}],
        "sites": list(sites or [site("s1")]),
        "systems": list(systems or [system("gpu")]),
        "regions": list(regions),
        "training_jobs": list(jobs),
        "policies": policies or {},
        "scenarios": list(scenarios),
    }


def solve_checked(data: dict, expect_status: str = "optimal", **kw) -> optimizer.Plan:
    """Solve a micro instance, assert the status, and re-check the plan independently.

    Keyword arguments are :class:`optimizer.SolveOptions` fields or ``optimizer.solve``'s own
    (``decisions``, ``risk``, ``keep_model``)."""
    inst = optimizer.instance_from_dict(copy.deepcopy(data), "micro")
    fields = optimizer.SolveOptions.__dataclass_fields__
    options = optimizer.SolveOptions(**{k: v for k, v in kw.items() if k in fields})
    plan = optimizer.solve(inst, options, **{k: v for k, v in kw.items() if k not in fields})
    assert plan.status == expect_status, (plan.status, plan.messages)
    if plan.has_solution:
        rep = optimizer.verify_plan(inst, plan.tables, plan.expected_cost)
        assert rep.ok, rep.messages
    return plan


def pytest_addoption(parser):
    parser.addoption("--update-expected", action="store_true", help="store the examples' objectives as expected")
    parser.addoption("--reason", default="", help="why the expected objectives change (stored with the date)")


@pytest.fixture
def examples_dir() -> Path:
    return ROOT / "instances"


@pytest.fixture(scope="session")
def hard_instance(tmp_path_factory) -> str:
    """Synthetic M instance (50 sites, every feature on): minutes to optimality on 2 cores."""
    path = tmp_path_factory.mktemp("synth") / "synth-M.yaml"
    subprocess.run([sys.executable, "-m", "benchmarks.synth", "--size", "M", "--seed", "1", str(path)],
                   check=True, cwd=ROOT, capture_output=True)
    return str(path)
