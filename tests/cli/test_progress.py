"""``dcplan solve --progress``: when the progress line is printed, what it says, and that
``--quiet`` output stays one line. No timings are asserted."""

from __future__ import annotations

import argparse
import subprocess
import sys

from conftest import ROOT

from optimizer.cli import _parser, main
from optimizer.cli._common import PROGRESS_EVERY_S, progress_line, progress_printer
from optimizer.solver.progress import REPORT_EVERY_S

QUICK = str(ROOT / "instances" / "quickstart.yaml")


def _args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["solve", QUICK, *argv])


def test_progress_is_on_with_the_flag_and_off_without_a_terminal():
    assert progress_printer(_args()) is None  # pytest's stderr is not a terminal
    assert progress_printer(_args("--progress")) is not None
    assert progress_printer(_args("--progress", "--quiet")) is not None  # asked for explicitly
    assert progress_printer(_args("--no-progress")) is None


def test_progress_is_on_by_default_on_a_terminal_unless_quiet_or_verbose(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert progress_printer(_args()) is not None
    assert progress_printer(_args("--quiet")) is None
    assert progress_printer(_args("--verbose")) is None
    assert progress_printer(_args("--no-progress")) is None


def test_progress_line_shows_seconds_plan_bound_and_gap():
    line = progress_line({"seconds": 12.4, "incumbent": 13_656_379.6, "bound": 13_600_000.0, "gap": 0.0041284})
    assert line.split() == ["progress", "12", "s", "plan", "13.656", "M", "USD", "bound", "13.600", "M", "USD",
                            "gap", "0.41", "%"]
    assert progress_line({"seconds": 5.0, "incumbent": None, "bound": None, "gap": None}, "EUR").endswith(
        "plan n/a  bound n/a  gap n/a")


def test_help_documents_progress_and_the_interval_is_defined_once():
    r = subprocess.run([sys.executable, "-m", "optimizer", "solve", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert "--progress" in r.stdout and "--no-progress" in r.stdout and "terminal" in r.stdout
    assert PROGRESS_EVERY_S == REPORT_EVERY_S


def test_solve_with_progress_prints_only_the_status_line_when_quiet(capsys):
    assert main(["solve", QUICK, "--progress", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[0].startswith("optimal") and len(out.strip().splitlines()) == 1
    assert "Traceback" not in err and "Running HiGHS" not in out
