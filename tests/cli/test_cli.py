"""The dcplan command: exit codes, messages without tracebacks, written results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, micro, region, site

from optimizer.cli import main

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
    # an existing folder is not overwritten without --overwrite
    before = (out / "summary.json").read_text()
    r = run("solve", QUICK, "--out", str(out))
    assert r.returncode == 5 and "use --overwrite" in r.stderr
    assert (out / "summary.json").read_text() == before
    # --force KIND=ID imposes a decision and does not replace the folder
    r = run("solve", QUICK, "--out", str(out), "--force", "site=rockdale-mine")
    assert r.returncode == 5 and "use --overwrite" in r.stderr
    assert (out / "summary.json").read_text() == before
    r = run("solve", QUICK, "--out", str(out), "--overwrite", "--quiet")
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


# ----------------------------------------------------------------------------- --force / --overwrite
@pytest.mark.parametrize("args", [
    ("solve", QUICK, "--force"),                      # bare --force: it used to mean "replace the output"
    ("solve", QUICK, "--force", "--quiet"),
    ("solve", "--force", QUICK, "--out", "OUT"),      # --force swallows the file: not "file is required"
    ("solve", QUICK, "--force", "sight=x"),
    ("sweep", QUICK, "--grid", "horizon.discount_rate=0.1", "--out", "OUT", "--force"),
    ("marginal", QUICK, "--force"),
    ("explain", QUICK, "--why-not", "site=abilene-green", "--force"),
])
def test_force_needs_kind_id_and_names_overwrite(args, tmp_path, capsys):
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--force needs KIND=ID" in err and "--overwrite replaces" in err
    assert "required" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [
    ("uncertainty", QUICK, "--force"),
    ("hedge", QUICK, "--force"),
    ("scenarios", QUICK, "OUT", "--demand", "a=1:1", "--force"),
    ("convert", QUICK, "OUT", "--force"),
    ("new", "OUT", "--force"),
    ("report", "OUT", "--force"),
])
def test_force_on_commands_without_decisions_names_overwrite(args, tmp_path, capsys):
    argv = [str(tmp_path / "out.yaml") if a == "OUT" else a for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "has no --force" in err and "--overwrite replaces" in err


def test_force_before_the_file_is_a_clear_message(tmp_path):
    """The issue's example: the real entry point, exit 2 and a message about the flags."""
    r = run("solve", "--force", QUICK, "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "is not KIND=ID" in r.stderr and "--overwrite replaces" in r.stderr
    assert "the following arguments are required" not in r.stderr


def test_solve_help_documents_the_flag_split():
    r = run("solve", "--help")
    assert r.returncode == 0 and "--overwrite" in r.stdout and "--force KIND=ID" in r.stdout


# ----------------------------------------------------------------------------- solver settings
@pytest.mark.parametrize("flag, value, field", [
    ("--time-limit", "-1", "time_limit"),
    ("--threads", "0", "threads"),
    ("--mip-gap", "2", "mip_gap"),
    ("--time-limit", "nan", "time_limit"),
])
@pytest.mark.parametrize("command", [("solve",), ("marginal",), ("uncertainty",), ("hedge",),
                                     ("sweep", "--grid", "horizon.discount_rate=0.1", "--out", "OUT")])
def test_out_of_range_solver_settings_exit_2(command, flag, value, field, tmp_path, capsys):
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    assert main([argv[0], QUICK, *argv[1:], flag, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("invalid option:") and field in err and "Traceback" not in err


def test_out_of_range_time_limit_without_traceback():
    r = run("solve", QUICK, "--time-limit", "-1")
    assert r.returncode == 2 and "time_limit must be" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- lazy imports
HEAVY = ("pyomo", "highspy", "pandas", "matplotlib")


def test_building_the_parser_imports_no_solver_or_pandas():
    """The CLI modules import Pyomo, HiGHS, pandas and matplotlib only inside handlers.

    The ``optimizer`` package's own ``__init__`` (the public API) is replaced by an empty
    package so that only what ``optimizer.cli`` itself pulls in is measured."""
    code = (
        "import sys, types\n"
        f"pkg = types.ModuleType('optimizer'); pkg.__path__ = [{str(ROOT / 'optimizer')!r}]\n"
        "sys.modules['optimizer'] = pkg\n"
        "import optimizer.cli\n"
        "optimizer.cli._parser().format_help()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"building the parser imported {r.stdout.strip()}"


def test_dcplan_help_imports_no_solver_or_pandas():
    """The real entry point: ``dcplan --help`` (``optimizer.cli:main``) imports none of them."""
    code = ("import sys\nfrom optimizer.cli import _parser\n_parser().format_help()\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"dcplan --help imported {r.stdout.strip()}"
