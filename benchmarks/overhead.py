"""Python overhead on top of HiGHS: every dcplan stage, timed, against raw HiGHS on the same model.

::

    python -m benchmarks.overhead                                  # capb-5000, JSON, to optimality
    python -m benchmarks.overhead capb-5000 --format yaml --csv benchmarks/results/overhead-capb-5000.csv
    python -m benchmarks.overhead cap41 --label after

One run measures, each in a fresh child process (so neither inherits the other's imports,
memory or HiGHS thread pool):

1. **dcplan**, stage by stage, from the instance file (written by :mod:`benchmarks.orlib`, not
   timed): ``import`` (the package's solve path), ``load`` (file → plain data,
   :func:`optimizer.instance.io.text.read_text_data`), ``validate`` (schema and cross-record
   rules, :func:`optimizer.instance.validate.validate_data`), then ``optimizer.solve`` with its
   own stage seconds — ``prepare``, ``build``, ``handover`` (model into HiGHS), ``solve``,
   ``complete`` (the incumbent's continuous part re-optimised), ``extract`` — and ``other``
   (the rest of ``optimizer.solve``'s wall time), then ``write`` (CSV tables and
   ``summary.json`` into a temporary folder). ``SolveOptions(write_model=MODEL.mps)`` writes
   the model HiGHS holds between hand-over and solve; that write is not counted.
2. **raw HiGHS** (highspy) on that MPS file: ``read`` (``readModel`` plus the same objective
   scaling dcplan applies, :func:`optimizer.solver.scale_objective`) and ``run``, with the same
   options (time limit, relative gap, random seed, threads).

Ratio = dcplan (every stage but ``import``) ÷ raw HiGHS (read + run). Both runs report
HiGHS's node and simplex-iteration counts: when they are equal, the two searches were the
same, and the difference of their solve seconds is the machine's noise (a shared machine:
±15 % from one run to the next). ``ratio_same_search`` therefore also replaces dcplan's
solve seconds by raw HiGHS's: (Python stages + raw run) ÷ (raw read + raw run).
Seconds on a shared machine vary by ±35 %; ratios within one run are what to compare.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import ROOT
from .common import machine, run_raw_highs, write_instance

DCPLAN_STAGES = ("load", "validate", "prepare", "build", "handover", "solve", "load_solution", "complete", "extract", "other",
                 "write")
RAW_STAGES = ("read", "run")
NOT_COUNTED = ("write_model",)
"""Stage seconds that ``optimizer.solve`` reports but the comparison leaves out (the MPS write)."""
COLUMNS = ["date", "label", "instance", "format", "status", "objective", "best_bound", "raw_status", "raw_objective",
           "raw_bound", "import_s", *[f"{s}_s" for s in DCPLAN_STAGES], "dcplan_s", *[f"raw_{s}_s" for s in RAW_STAGES],
           "raw_s", "ratio", "ratio_same_search", "python_s", "max_python_stage", "nodes", "raw_nodes", "iterations",
           "raw_iterations", "variables", "constraints", "progress_points", "highs"]


# ----------------------------------------------------------------------------- children
def child_dcplan(path: str, mps: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int) -> dict:
    t0 = time.perf_counter()
    import optimizer
    from optimizer.instance.io.text import read_text_data
    from optimizer.instance.validate import validate_data
    from optimizer.plan import solve
    from optimizer.results.write import write_plan

    sec: dict[str, float] = {"import": time.perf_counter() - t0}
    import highspy

    runs: list[tuple[int, int]] = []  # (nodes, simplex iterations) of each HiGHS run: the MIP comes first
    run = highspy.Highs.run

    def counted(h: highspy.Highs) -> highspy.HighsStatus:
        status = run(h)
        info = h.getInfo()
        runs.append((int(info.mip_node_count), int(info.simplex_iteration_count)))
        return status

    highspy.Highs.run = counted  # type: ignore[method-assign]
    t0 = time.perf_counter()
    data = read_text_data(Path(path))
    sec["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    inst = validate_data(data, path)
    sec["validate"] = time.perf_counter() - t0
    opts = optimizer.SolveOptions(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, write_model=mps)
    t0 = time.perf_counter()
    plan = solve(inst, opts)
    wall = time.perf_counter() - t0
    inner = dict(plan.seconds)
    sec.update({k: v for k, v in inner.items() if k not in sec})
    sec["other"] = max(0.0, wall - sum(inner.values()))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_plan(plan, Path(tmp) / "plan")
        sec["write"] = time.perf_counter() - t0
    progress = getattr(plan, "progress", None) or []
    return {"status": str(plan.status), "objective": plan.objective, "best_bound": plan.best_bound, "seconds": sec,
            "model_size": plan.model_size, "progress_points": len(progress), "nodes": runs[0][0] if runs else None,
            "iterations": runs[0][1] if runs else None}


def child_raw(mps: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int) -> dict:
    h, scale, read_s, run_s = run_raw_highs(mps, time_limit, mip_gap, threads, seed)
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "objective": info.objective_function_value / scale if has_sol else None,
            "best_bound": info.mip_dual_bound / scale, "seconds": {"read": read_s, "run": run_s},
            "nodes": int(info.mip_node_count), "iterations": int(info.simplex_iteration_count),
            "columns": h.getNumCol(), "rows": h.getNumRow(), "highs": h.version()}


def run_child(args: list[str], out: Path, module: str = "benchmarks.overhead") -> tuple[dict | None, str]:
    """Run ``python -m MODULE --child ...`` in a fresh process; (result, stderr tail)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", module, "--child", *args, "--result", str(out)],
                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tail = proc.stderr[-2000:]
    ok = proc.returncode == 0 and out.exists()
    return (json.loads(out.read_text()) if ok else None), tail


# ----------------------------------------------------------------------------- one measurement
def instance_file(name: str, fmt: str, workdir: Path) -> Path:
    """The instance file of ``name``: an existing path, or an OR-Library problem converted by
    :mod:`benchmarks.orlib` (``capb-5000``) into ``workdir`` as ``fmt``."""
    if Path(name).exists():
        return Path(name)
    from . import orlib

    data = orlib.instance_dict(orlib.load_problem(name))
    return write_instance(data, workdir / f"{data['name']}.{fmt}")


def measure(name: str, *, fmt: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int,
            workdir: Path, label: str = "") -> dict:
    """One dcplan run and one raw HiGHS run of ``name``; one result row (see :data:`COLUMNS`)."""
    path = instance_file(name, fmt, workdir)
    mps = workdir / f"{path.stem}.mps"
    common = ["--time-limit", "none" if time_limit is None else str(time_limit), "--mip-gap", str(mip_gap),
              "--seed", str(seed)] + (["--threads", str(threads)] if threads is not None else [])
    row: dict = {"date": dt.date.today().isoformat(), "label": label, "instance": path.stem,
                 "format": path.suffix.lstrip(".")}
    d, err = run_child(["dcplan", str(path), "--mps", str(mps), *common], workdir / "dcplan.json")
    if d is None:
        row["status"] = "error: " + (err.strip().splitlines() or [""])[-1]
        return row
    sec = d["seconds"]
    row.update({"status": d["status"], "objective": d["objective"], "best_bound": d["best_bound"],
                "import_s": round(sec["import"], 3), "progress_points": d["progress_points"], "nodes": d["nodes"],
                "iterations": d["iterations"],
                **{f"{s}_s": round(sec.get(s, 0.0), 3) for s in DCPLAN_STAGES}})
    counted = {k: v for k, v in sec.items() if k != "import" and k not in NOT_COUNTED}
    extra = sorted(set(counted) - set(DCPLAN_STAGES))
    if extra:  # a stage this script does not know: counted in "other", so the total stays honest
        row["other_s"] = round(row["other_s"] + sum(counted[k] for k in extra), 3)
    row["dcplan_s"] = round(sum(counted.values()), 3)
    python = {k: v for k, v in counted.items() if k != "solve"}
    row["python_s"] = round(sum(python.values()), 3)
    top = max(python, key=lambda k: python[k])
    row["max_python_stage"] = f"{top} {python[top]:.2f}"
    r, err = run_child(["raw", str(mps), *common], workdir / "raw.json")
    if r is None:
        row["raw_status"] = "error: " + (err.strip().splitlines() or [""])[-1]
        return row
    raw_s = sum(r["seconds"].values())
    row.update({"raw_status": r["status"], "raw_objective": r["objective"], "raw_bound": r["best_bound"],
                **{f"raw_{s}_s": round(r["seconds"][s], 3) for s in RAW_STAGES}, "raw_s": round(raw_s, 3),
                "ratio": round(row["dcplan_s"] / raw_s, 3) if raw_s > 0 else None,
                "ratio_same_search": round((row["python_s"] + r["seconds"]["run"]) / raw_s, 3) if raw_s > 0 else None,
                "raw_nodes": r["nodes"], "raw_iterations": r["iterations"],
                "variables": r["columns"], "constraints": r["rows"], "highs": r["highs"]})
    mps.unlink(missing_ok=True)
    return row


def table(row: dict) -> str:
    """The stage table of one measurement."""
    lines = [f"{'stage':<10} {'dcplan s':>9}   {'raw HiGHS s':>11}", "-" * 34]
    lines.append(f"{'(import)':<10} {row.get('import_s', 0):9.3f}   {'':>11}")
    raw = {"load": row.get("raw_read_s"), "solve": row.get("raw_run_s")}
    for s in DCPLAN_STAGES:
        r = raw.get(s)
        lines.append(f"{s:<10} {row.get(f'{s}_s', 0):9.3f}   {'' if r is None else f'{r:11.3f}':>11}")
    lines.append("-" * 34)
    lines.append(f"{'total':<10} {row.get('dcplan_s', 0):9.3f}   {row.get('raw_s') or 0:11.3f}")
    same = row.get("nodes") == row.get("raw_nodes") and row.get("iterations") == row.get("raw_iterations")
    lines.append(f"ratio {row.get('ratio')} (target <= 1.15); with raw HiGHS's solve seconds for both "
                 f"{row.get('ratio_same_search')}; Python stages {row.get('python_s')} s, "
                 f"largest: {row.get('max_python_stage')} s (target <= 1 s)")
    lines.append(f"HiGHS search: dcplan {row.get('nodes')} nodes / {row.get('iterations')} simplex iterations, raw "
                 f"{row.get('raw_nodes')} / {row.get('raw_iterations')}: {'the same search' if same else 'different searches'}")
    lines.append(f"dcplan: {row.get('status')} {row.get('objective')} (bound {row.get('best_bound')}); "
                 f"raw HiGHS: {row.get('raw_status')} {row.get('raw_objective')} (bound {row.get('raw_bound')})")
    return "\n".join(lines)


def append_csv(row: dict, path: str | Path) -> None:
    """Append ``row`` to the CSV at ``path`` (header written when the file is new)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow(row)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return _child(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__.split("\n")[0])
    ap.add_argument("name", nargs="?", default="capb-5000", help="OR-Library problem (default capb-5000) or an instance file")
    ap.add_argument("--format", choices=("json", "yaml"), default="json", help="file format of a converted problem")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve (default 600)")
    ap.add_argument("--mip-gap", type=float, default=1e-9, help="relative gap (default 1e-9, as benchmarks.orlib run)")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    ap.add_argument("--label", default="", help="a label for the CSV row (e.g. before, after)")
    ap.add_argument("--workdir", help="keep the instance and result files here (default: a temporary folder)")
    ap.add_argument("--csv", metavar="OUT.csv", help="append the row to this CSV (e.g. benchmarks/results/overhead.csv)")
    args = ap.parse_args(argv)
    m = machine()
    print(f"machine: {m['cpu']}, nproc {m['nproc']}, {m['memory']}; Python {m['python']}, HiGHS {m['highs']}, "
          f"Pyomo {m['pyomo']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        row = measure(args.name, fmt=args.format, time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads,
                      seed=args.seed, workdir=workdir, label=args.label)
    print(table(row))
    if args.csv:
        append_csv(row, args.csv)
        print(f"appended to {args.csv}")
    return 0 if row.get("ratio") is not None else 1


def _child(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["dcplan", "raw"])
    ap.add_argument("path")
    ap.add_argument("--mps")
    ap.add_argument("--time-limit")
    ap.add_argument("--mip-gap", type=float)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--result", required=True)
    a = ap.parse_args(argv)
    tl = None if a.time_limit in (None, "none") else float(a.time_limit)
    if a.kind == "dcplan":
        res = child_dcplan(a.path, a.mps, tl, a.mip_gap, a.threads, a.seed)
    else:
        res = child_raw(a.path, tl, a.mip_gap, a.threads, a.seed)
    Path(a.result).write_text(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
