"""The dcplan command: exit codes, messages without tracebacks, written results."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from conftest import ROOT, micro, region, site

QUICK = str(ROOT / "instances" / "quickstart.yaml")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, stdin=subprocess.DEVNULL)


def test_validate_ok():
    r = run("validate", QUICK)
    assert r.returncode == 0 and "valid" in r.stdout


def test_solve_writes_tables_and_summary(tmp_path):
    out = tmp_path / "qs"
    r = run("solve", QUICK, "--out", str(out), "--verify")
    assert r.returncode == 0, r.stderr
    assert "status: optimal" in r.stdout and "verifier: plan re-checked" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal"
    for key in ("objective", "best_bound", "mip_gap"):
        assert summary[key] is not None
    for stage in ("load", "build", "solve", "extract"):
        assert stage in summary["seconds"]
    for table in ("builds", "fleet", "compute_use", "training", "inference", "demand", "site_power", "pool_load",
                  "costs", "policy"):
        assert (out / f"{table}.csv").exists()
    # an existing folder is not overwritten without --force
    before = (out / "summary.json").read_text()
    r = run("solve", QUICK, "--out", str(out))
    assert r.returncode == 5 and "--force" in r.stderr
    assert (out / "summary.json").read_text() == before
    r = run("solve", QUICK, "--out", str(out), "--force", "--quiet")
    assert r.returncode == 0


def test_invalid_input_lists_every_problem_without_traceback(tmp_path):
    data = yaml.safe_load(open(QUICK))
    data["sites"][0]["grid_mw"] = -5
    data["sites"][1]["jurisdiction"] = "XX"
    data["horizon"]["discount_rat"] = 0.1
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    r = run("solve", str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "sites[0] 'rockdale-mine'.grid_mw[*] = -5" in r.stderr and "must be >= 0" in r.stderr
    assert "did you mean 'discount_rate'" in r.stderr
    # cross-record problems appear once the fields are valid
    data["sites"][0]["grid_mw"] = 100
    del data["horizon"]["discount_rat"]
    bad.write_text(yaml.safe_dump(data))
    r = run("validate", str(bad))
    assert r.returncode == 2 and "sites[1] 'abilene-green'.jurisdiction = 'XX': unknown jurisdiction" in r.stderr


def test_malformed_yaml_names_line_and_column(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon: [\n")
    r = run("validate", str(bad))
    assert r.returncode == 2 and "line 3, column 1" in r.stderr and "Traceback" not in r.stderr


def test_missing_file():
    r = run("validate", "no/such/file.yaml")
    assert r.returncode == 2 and "file not found" in r.stderr


def test_infeasible_exit_code(tmp_path):
    d = micro(sites=[site("s1", it_mw=1)], regions=[region("r", 25, must_serve=True)])
    f = tmp_path / "inf.json"
    f.write_text(json.dumps(d))
    r = run("solve", str(f))
    assert r.returncode == 3 and "status: infeasible" in r.stdout and "must-serve regions: r" in r.stdout


def test_write_model(tmp_path):
    mps = tmp_path / "model.mps"
    r = run("solve", QUICK, "--write-model", str(mps), "--quiet")
    assert r.returncode == 0 and mps.stat().st_size > 0
