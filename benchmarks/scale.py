"""How dcplan scales: model size, build and solve seconds, gap, peak memory, and overhead over raw HiGHS.

::

    python -m benchmarks.scale                       # synthetic S, M, L and the OR-Library capa/capb/capc
    python -m benchmarks.scale --sizes S,M --orlib none
    python -m benchmarks.scale --xl --orlib none     # adds the synthetic XL instance
    python -m benchmarks.scale --orlib large         # all 12 capa/capb/capc capacities

Every instance is solved twice, each in a fresh child process whose peak resident memory is
read from the operating system (``os.wait4`` → ``ru_maxrss`` of that child):

1. **dcplan**: ``optimizer.solve(FILE, optimizer.SolveOptions(write_model=MODEL.mps), ...)`` — the public API from the
   instance file; end-to-end time = load + prepare + build + hand-over + solve + extract
   (writing the MPS file happens between hand-over and solve and is not counted);
2. **raw HiGHS** on the MPS file dcplan wrote for the same model:
   ``highspy.Highs(); readModel(MODEL.mps); run()`` with the same options (time limit,
   relative gap, random seed, threads) and the same objective scaling dcplan applies inside
   HiGHS (``optimizer.solver.scale_objective``; the MPS file holds the unscaled model);
   time = read + scale + run; objective and bound are reported unscaled.

Overhead ratio = dcplan end-to-end ÷ raw HiGHS. Synthetic instances are solved to a 1 %
gap, the OR-Library ones to optimality (relative gap 1e-9, as ``benchmarks.orlib run``), each
with the time limit. Columns of the printed table: variables, constraints and nonzeros of the
model HiGHS receives; build s = prepare + build + hand-over; solve s = HiGHS inside dcplan.
The CSV also holds, for a synthetic instance with a record in ``benchmarks/best_known.csv``,
``best_known`` and ``primal_gap`` (:mod:`benchmarks.best_known`: (objective − best known) / best known).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import ROOT, best_known
from .common import machine, run_raw_highs, write_instance

COLUMNS = [
    "instance", "variables", "integer_variables", "constraints", "nonzeros", "status", "objective", "best_bound", "gap",
    "load_s", "prepare_s", "build_s", "handover_s", "solve_s", "extract_s", "dcplan_s", "peak_mb", "raw_status",
    "raw_objective", "raw_gap", "raw_read_s", "raw_run_s", "raw_s", "raw_peak_mb", "overhead_ratio", "overhead_ratio_no_load",
    "time_limit", "mip_gap", "best_known", "primal_gap",
]


# ----------------------------------------------------------------------------- children
def child_dcplan(path: str, mps: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int) -> dict:
    import optimizer

    t0 = time.perf_counter()
    opts = optimizer.SolveOptions(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, write_model=mps)
    plan = optimizer.solve(path, opts)
    wall = time.perf_counter() - t0
    return {"status": plan.status, "objective": plan.objective, "best_bound": plan.best_bound, "gap": plan.mip_gap,
            "seconds": plan.seconds, "model_size": plan.model_size, "wall_s": wall}


def child_raw(mps: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int) -> dict:
    import highspy

    h, scale, read_s, run_s = run_raw_highs(mps, time_limit, mip_gap, threads, seed)
    info = h.getInfo()
    lp = h.getLp()
    n_int = sum(1 for t in (lp.integrality_ or []) if t != highspy.HighsVarType.kContinuous)
    has_sol = info.primal_solution_status == 2
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "objective": info.objective_function_value / scale if has_sol else None,
            "best_bound": info.mip_dual_bound / scale, "gap": info.mip_gap if has_sol else None, "read_s": read_s, "run_s": run_s,
            "columns": h.getNumCol(), "rows": h.getNumRow(), "nonzeros": h.getNumNz(), "integer_columns": n_int}


def run_child(args: list[str], out: Path) -> tuple[dict | None, float, str]:
    """Run ``python -m benchmarks.scale --child ...`` and return (result, peak MB, stderr tail)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.scale", "--child", *args, "--result", str(out)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-2000:]
    peak_mb = usage.ru_maxrss / 1024.0  # kilobytes on Linux
    result = json.loads(out.read_text()) if out.exists() and proc.returncode == 0 else None
    return result, peak_mb, tail


# ----------------------------------------------------------------------------- instances
def make_instances(sizes: list[str], orlib_names: list[str], seed: int, workdir: Path) -> list[tuple[str, Path, str]]:
    """(name, file, kind) for every instance of the run; files are written into workdir."""
    out = []
    if sizes:
        from . import synth

        for size in sizes:
            data = synth.generate(size, seed)
            out.append((data["name"], write_instance(data, workdir / f"{data['name']}.yaml"), "synth"))
    if orlib_names:
        from . import orlib

        for name in orlib.expand_names(orlib_names):
            data = orlib.instance_dict(orlib.load_problem(name))
            out.append((data["name"], write_instance(data, workdir / f"{data['name']}.json"), "orlib"))
    return out


def measure(name: str, path: Path, *, time_limit: float | None, mip_gap: float, threads: int | None, seed: int,
            workdir: Path) -> dict:
    mps = workdir / f"{name}.mps"
    common = ["--time-limit", "none" if time_limit is None else str(time_limit), "--mip-gap", str(mip_gap), "--seed", str(seed)]
    if threads is not None:
        common += ["--threads", str(threads)]
    d, peak, err = run_child(["dcplan", str(path), "--mps", str(mps), *common], workdir / f"{name}.dcplan.json")
    row = {"instance": name, "time_limit": time_limit, "mip_gap": mip_gap, "peak_mb": round(peak, 1)}
    if d is None:
        row["status"] = "error: " + err.strip().splitlines()[-1] if err.strip() else "error"
        return row
    sec = d["seconds"]
    row.update({
        "status": d["status"], "objective": d["objective"], "best_bound": d["best_bound"], "gap": d["gap"],
        **{f"{k}_s": round(sec.get(k, 0.0), 3) for k in ("load", "prepare", "build", "handover", "solve", "extract")},
        "dcplan_s": round(sum(sec.values()), 3),
    })
    if not mps.exists():
        return row
    r, rpeak, err = run_child(["raw", str(mps), *common], workdir / f"{name}.raw.json")
    if r is None:
        row["raw_status"] = "error: " + (err.strip().splitlines()[-1] if err.strip() else "")
        return row
    raw_s = r["read_s"] + r["run_s"]
    row.update({
        "variables": r["columns"], "integer_variables": r["integer_columns"], "constraints": r["rows"], "nonzeros": r["nonzeros"],
        "raw_status": r["status"], "raw_objective": r["objective"], "raw_gap": r["gap"], "raw_read_s": round(r["read_s"], 3),
        "raw_run_s": round(r["run_s"], 3), "raw_s": round(raw_s, 3), "raw_peak_mb": round(rpeak, 1),
        "overhead_ratio": round(row["dcplan_s"] / raw_s, 3) if raw_s > 0 else None,
        "overhead_ratio_no_load": round((row["dcplan_s"] - row["load_s"]) / r["run_s"], 3) if r["run_s"] > 0 else None,
    })
    mps.unlink()  # large; not needed afterwards
    return row


def _f(x, spec: str) -> str:
    return "" if x is None or x == "" else format(x, spec)


def table(rows: list[dict]) -> str:
    head = (f"{'instance':<16} {'vars':>8} {'cons':>8} {'nnz':>9} {'build s':>8} {'solve s':>8} {'gap':>8} "
            f"{'peak MB':>8} {'dcplan s':>9} {'HiGHS s':>8} {'ratio':>6}  status")
    lines = [head, "-" * len(head)]
    for r in rows:
        build = sum(r.get(k) or 0.0 for k in ("prepare_s", "build_s", "handover_s"))
        gap = "" if r.get("gap") is None else f"{100 * r['gap']:.2f}%"
        lines.append(
            f"{r['instance']:<16} {_f(r.get('variables'), 'd'):>8} {_f(r.get('constraints'), 'd'):>8} "
            f"{_f(r.get('nonzeros'), 'd'):>9} {build:8.2f} {_f(r.get('solve_s'), '.2f'):>8} {gap:>8} "
            f"{_f(r.get('peak_mb'), '.0f'):>8} {_f(r.get('dcplan_s'), '.2f'):>9} {_f(r.get('raw_s'), '.2f'):>8} "
            f"{_f(r.get('overhead_ratio'), '.3f'):>6}  {r.get('status', '')}/{r.get('raw_status', '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        return _child(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="S,M,L", help="synthetic sizes, comma-separated (default S,M,L; '' for none)")
    ap.add_argument("--xl", action="store_true", help="add the synthetic XL instance")
    ap.add_argument("--orlib", default="capa-8000,capb-5000,capc-5000",
                    help="OR-Library problems (default one per file; 'large' = all 12; 'none')")
    ap.add_argument("--seed", type=int, default=1, help="synthetic instance seed (default 1)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve (default 600)")
    ap.add_argument("--mip-gap", type=float, default=0.01, help="relative gap for synthetic instances (default 0.01)")
    ap.add_argument("--orlib-mip-gap", type=float, default=1e-9, help="relative gap for OR-Library (default 1e-9)")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--solver-seed", type=int, default=0)
    ap.add_argument("--workdir", help="keep instance files and results here (default: a temporary folder)")
    ap.add_argument("--csv", metavar="OUT.csv", help="write every measured column")
    args = ap.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    if args.xl and "XL" not in sizes:
        sizes.append("XL")
    orlib_names = [] if args.orlib in ("none", "") else args.orlib.split(",")
    tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        workdir = Path(tmp.name)
    m = machine()
    print(f"machine: {m['cpu']}, nproc {m['nproc']}, {m['memory']}; Python {m['python']}, HiGHS {m['highs']}, Pyomo {m['pyomo']}",
          flush=True)
    rows = []
    for name, path, kind in make_instances(sizes, orlib_names, args.seed, workdir):
        gap = args.mip_gap if kind == "synth" else args.orlib_mip_gap
        rows.append(measure(name, path, time_limit=args.time_limit, mip_gap=gap, threads=args.threads,
                            seed=args.solver_seed, workdir=workdir))
        r = rows[-1]
        rec = best_known.lookup(name, "all") if kind == "synth" else None
        if rec is not None:
            r["best_known"] = rec.best_known_usd
            r["primal_gap"] = best_known.primal_gap(r.get("objective"), rec.best_known_usd)
        print(f"  {name}: {r.get('status')} gap {r.get('gap')} primal gap {r.get('primal_gap')} "
              f"dcplan {r.get('dcplan_s')} s, HiGHS {r.get('raw_s')} s, "
              f"peak {r.get('peak_mb')} MB", flush=True)
        if args.csv:
            Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
            with open(args.csv, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)
    print()
    print(table(rows))
    if tmp is not None:
        tmp.cleanup()
    return 0


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
