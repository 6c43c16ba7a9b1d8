"""``--write-model`` writes the model with the Pyomo names of its columns and rows, quietly."""

from __future__ import annotations

import json
import subprocess
import sys

import highspy
import pytest
from conftest import ROOT, micro, option, region, site, system

import optimizer
from optimizer.plan import timed_build
from optimizer.solver import NAME_MAX, HighsSession, model_names


def _micro_file(tmp_path) -> str:
    d = micro(sites=[site("west-1", kind="greenfield", grid=50.0, price=40.0, options=[option("new-hall", capex=1e6)])],
              systems=[system("gpu-a")], regions=[region("east", 20.0)])
    f = tmp_path / "micro.json"
    f.write_text(json.dumps(d))
    return str(f)


def _read(path) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    return h


@pytest.mark.parametrize("suffix, build, grid", [
    (".mps", "build[west-1,new-hall,2026]", "grid_limit[west-1,2026,base]"),
    (".lp", "build(west_1,new_hall,2026)", "grid_limit(west_1,2026,base)"),  # LP takes no brackets or dashes
])
def test_written_model_has_pyomo_names_and_no_solver_noise(suffix, build, grid, tmp_path):
    model = tmp_path / f"model{suffix}"
    r = subprocess.run([sys.executable, "-m", "optimizer", "solve", _micro_file(tmp_path), "--write-model", str(model),
                        "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Running HiGHS" not in r.stdout and "Writing the model" not in r.stdout and "WARNING" not in r.stdout
    assert r.stdout.startswith("optimal")
    text = model.read_text()
    assert build in text and grid in text
    h = _read(model)  # HiGHS reads its own file back, names and all
    names = [h.getColName(j)[1] for j in range(h.getNumCol())]
    assert build in names and not any(n.startswith("c") and n[1:].isdigit() for n in names)


def test_names_are_valid_unique_and_cut(tmp_path):
    inst = optimizer.load_instance(ROOT / "instances" / "quickstart.yaml")
    _, m, _, _ = timed_build(inst)
    s = HighsSession(m)
    for lp in (True, False):
        cols, rows = model_names(m, s._cols, s._rows, s.num_col, s.num_row, lp=lp)
        assert len(cols) == s.num_col and len(rows) == s.num_row
        assert len(set(cols)) == len(cols) and len(set(rows)) == len(rows)
        assert all(name and " " not in name and len(name) <= NAME_MAX for name in cols + rows)
        if lp:
            assert not any(set(name) & set("[]-:+*^<>=") for name in cols + rows)
    # duplicates after cleaning and blanks get distinct names
    from optimizer.solver import _unique
    assert _unique(["a", "a", "", "a_2"], "_c") == ["a", "a_2", "_c2", "a_2_2"]
