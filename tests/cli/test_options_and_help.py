"""Command-line frictions: option ranges, --version, the input formats every --help lists,
and --set / --variant on validate and diagnose."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

import optimizer
from optimizer._version import __version__
from optimizer.cli import main

QUICK = str(ROOT / "instances" / "quickstart.yaml")


# ----------------------------------------------------------------------------- solver settings
@pytest.mark.parametrize("flag, value, expected", [
    ("--time-limit", "-1", "time_limit must be a number of seconds > 0"),
    ("--time-limit", "nan", "time_limit must be a number of seconds > 0"),
    ("--time-limit", "inf", "time_limit must be a number of seconds > 0"),
    ("--threads", "-1", "threads must be a whole number >= 1"),
    ("--threads", "0", "threads must be a whole number >= 1"),
    ("--mip-gap", "-1", "mip_gap must be a relative gap with 0 <= gap < 1"),
    ("--mip-gap", "2", "mip_gap must be a relative gap with 0 <= gap < 1"),
    ("--diagnose-time-limit", "-1", "diagnose_time_limit must be a number of seconds > 0"),
])
def test_out_of_range_solver_settings_name_the_valid_range(flag, value, expected, capsys):
    assert main(["solve", QUICK, flag, value]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("invalid option:") and expected in err


# ----------------------------------------------------------------------------- --version
def test_version():
    r = subprocess.run([sys.executable, "-m", "optimizer", "--version"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"dcplan {__version__}"


# ----------------------------------------------------------------------------- input formats in --help
FORMATS = (".yaml", ".yml", ".json", ".xlsx", "CSV")


@pytest.mark.parametrize("command", ["validate", "solve", "diagnose", "sweep", "marginal", "explain", "uncertainty",
                                     "hedge", "scenarios", "convert", "report"])
def test_every_help_lists_every_input_format(command, capsys):
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    missing = [f for f in FORMATS if f not in text]
    assert not missing, f"dcplan {command} --help does not name {missing}"


# ----------------------------------------------------------------------------- validate / diagnose take --set, --variant
@pytest.mark.parametrize("command", ["validate", "diagnose"])
def test_validate_and_diagnose_take_set_and_variant(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "--set PATH=VALUE" in text and "--variant" in text


def test_validate_applies_set(capsys):
    assert main(["validate", QUICK, "--set", "horizon.discount_rate=0.1"]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["validate", QUICK, "--set", "regions[dallas].max_latency_ms=-1"]) == 2
    assert "regions[0] 'dallas'.max_latency_ms = -1" in capsys.readouterr().err


def test_diagnose_applies_variant(tmp_path, capsys):
    data = optimizer.load_instance(QUICK).model_dump(mode="json")
    data["variants"] = {"no-power": {"regions[dallas].must_serve": True, "sites[rockdale-mine].grid_mw": 0,
                                     "sites[abilene-green].grid_mw": 0}}
    f = tmp_path / "v.json"
    f.write_text(json.dumps(data))
    assert main(["diagnose", str(f)]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(f), "--variant", "no-power"]) == 3
    assert "dallas" in capsys.readouterr().out
