"""Nothing the user had is lost or silently replaced; a stopped job keeps its plan.

The write path (``optimizer.files``) guarantees: an existing output is replaced only with
``--overwrite``; the check runs before solving and again, atomically, at the final rename
(``renameat2(RENAME_NOREPLACE)``); a second run with the same ``--out`` stops at once
(lock beside the target); temporaries are removed on every failure, and those of killed
runs are removed by the next run; result folders get the permissions of the umask.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

import optimizer
from optimizer import files
from optimizer.files import OutputExistsError, atomic_folder

QUICK = str(ROOT / "instances" / "quickstart.yaml")


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, timeout=600, **kw)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_second_xlsx_run_does_not_replace_the_first(tmp_path):
    out = tmp_path / "plan"
    assert cli("solve", QUICK, "--out", str(out), "--format", "xlsx", "--quiet").returncode == 0
    before = (out / "plan.xlsx").read_bytes()
    r = cli("solve", QUICK, "--out", str(out), "--format", "xlsx", "--quiet")
    assert r.returncode == 5 and "--overwrite" in r.stderr
    assert r.stdout == ""  # refused before solving
    assert (out / "plan.xlsx").read_bytes() == before and _leftovers(tmp_path) == []


def test_a_run_already_writing_the_same_out_stops_the_second_before_solving(tmp_path):
    out = tmp_path / "plan"
    (tmp_path / ".plan.lock").write_text(str(os.getpid()))  # a live process holds it
    r = cli("solve", QUICK, "--out", str(out), "--quiet")
    assert r.returncode == 5 and "being written by another dcplan run" in r.stderr and r.stdout == ""
    assert not out.exists()


def test_a_stale_lock_and_temporaries_of_killed_runs_are_cleaned_up(tmp_path):
    out = tmp_path / "plan"
    dead = 2**22 + 12345  # above the default pid_max: no such process
    (tmp_path / ".plan.lock").write_text(str(dead))
    (tmp_path / f".plan.tmp.{dead}.abc").mkdir()
    (tmp_path / f".plan.tmp.{dead}.abc" / "half.csv").write_text("x")
    r = cli("solve", QUICK, "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert (out / "summary.json").exists() and _leftovers(tmp_path) == []


def test_unwritable_out_is_refused_before_solving():
    r = cli("solve", QUICK, "--out", "/proc/dcplan-test/plan", "--quiet")
    assert r.returncode == 5 and "not writable" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_out_on_an_existing_file_is_refused_even_with_overwrite(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    r = cli("solve", QUICK, "--out", str(f), "--overwrite", "--quiet")
    assert r.returncode == 5 and "is a file, not a folder" in r.stderr and "Traceback" not in r.stderr
    assert f.read_text() == "mine" and _leftovers(tmp_path) == []


def test_dot_dot_in_out_creates_no_stray_folder(tmp_path):
    (tmp_path / "a").mkdir()
    r = cli("solve", QUICK, "--out", str(tmp_path / "a" / "nonexistent" / ".." / "b"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]


def test_result_folders_follow_the_umask(tmp_path):
    out = tmp_path / "plan"
    r = cli("solve", QUICK, "--out", str(out), "--quiet", preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "summary.json").stat().st_mode) == 0o644


def test_final_move_never_replaces_what_appeared_meanwhile(tmp_path):
    """The folder appears between the check and the rename: the rename refuses and the new
    content is kept beside it, under a name the error gives."""
    out = tmp_path / "plan"
    with pytest.raises(OutputExistsError, match="appeared while dcplan was writing") as exc:
        with atomic_folder(out) as tmp:
            (tmp / "new.csv").write_text("new")
            out.mkdir()
            (out / "theirs.csv").write_text("theirs")
    assert sorted(p.name for p in out.iterdir()) == ["theirs.csv"]
    kept = Path(str(exc.value).rsplit(" ", 1)[1])
    assert (kept / "new.csv").read_text() == "new"


def test_rename_noreplace_refuses_an_empty_folder_and_a_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    for target in ("empty", "file"):
        with pytest.raises(FileExistsError):
            files.rename_noreplace(src, tmp_path / target)
    assert src.exists() and (tmp_path / "file").read_text() == "x"


def test_overwrite_replaces_a_folder_atomically(tmp_path):
    out = tmp_path / "plan"
    plan = optimizer.solve(QUICK)
    optimizer.write_plan(plan, out)
    (out / "extra.txt").write_text("old run")
    optimizer.write_plan(plan, out, overwrite=True)
    assert not (out / "extra.txt").exists() and (out / "summary.json").exists() and _leftovers(tmp_path) == []


def _solve_under_job_control(instance: str, out: Path, sig: str, wait_s: float) -> tuple[int, str]:
    """Start ``dcplan solve`` as a background job of a shell with job control (``set -m``),
    send it ``sig`` after ``wait_s`` seconds, and return the job's exit code and output."""
    log = out.with_suffix(".log")
    script = (f"set -m\n{sys.executable} -m optimizer solve {instance} --out {out} > {log} 2>&1 &\n"
              f"pid=$!\nsleep {wait_s}\nkill -{sig} $pid\nwait $pid\necho \"rc=$?\" >> {log}\n")
    subprocess.run(["bash", "-c", script], cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)
    text = log.read_text()
    rc = int(text.rsplit("rc=", 1)[1].strip())
    return rc, text


def test_sigterm_stops_the_search_and_keeps_the_plan(hard_instance, tmp_path):
    out = tmp_path / "plan"
    rc, text = _solve_under_job_control(hard_instance, out, "TERM", 10)
    assert rc == 0, text
    assert "interrupted (SIGTERM)" in text and "status: feasible" in text
    assert json.loads((out / "summary.json").read_text())["status"] == "feasible"
    assert _leftovers(tmp_path) == []


def test_sigterm_before_the_solve_writes_nothing_and_says_so(tmp_path):
    """SIGTERM while the instance is still being read: exit 143, no output, no leftovers."""
    out = tmp_path / "plan"
    big = tmp_path / "big.yaml"
    subprocess.run([sys.executable, "-m", "benchmarks.synth", "--size", "L", "--seed", "1", str(big)],
                   check=True, cwd=ROOT, capture_output=True)
    t0 = time.time()
    rc, text = _solve_under_job_control(str(big), out, "TERM", 1.5)
    assert rc == 143, text
    assert "terminated (SIGTERM)" in text and not out.exists()
    assert _leftovers(tmp_path) == [] and time.time() - t0 < 120
