"""Peer solvers on the model dcplan builds: raw HiGHS and, if installed, SCIP, on the same MPS file.

::

    python -m benchmarks.peers capb-5000 --time-limit 120
    python -m benchmarks.peers instances/quickstart.yaml --time-limit 60 --csv benchmarks/results/peers.csv

dcplan builds the model of the instance (an OR-Library name is converted by
:mod:`benchmarks.orlib`, a path is read as an instance file) and writes it as MPS
(``HighsSession.write_model``: the unscaled model, readable names; not timed). Then each
solver reads that file in a fresh child process and runs once, with the same time limit,
relative gap and random seed:

- **HiGHS** (highspy): with the objective scaling dcplan applies inside HiGHS
  (:func:`optimizer.solver.scale_objective`); objective and bound are reported unscaled;
- **SCIP** (pyscipopt, ``pip install -e '.[bench]'``): the file as written (SCIP scales
  for itself); ``limits/time``, ``limits/gap``, ``randomization/randomseedshift``.

Printed per solver: status, objective, bound, gap (|objective - bound| / max(1, |objective|),
as dcplan reports it), seconds to read the file and to solve, threads. A solver that is not
installed is listed as such. Seconds on a shared machine vary by ±35 %.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from .common import run_raw_highs
from .overhead import instance_file, run_child

COLUMNS = ["date", "instance", "solver", "version", "status", "objective", "bound", "gap", "read_s", "solve_s",
           "threads", "time_limit", "mip_gap"]


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return abs(objective - bound) / max(1.0, abs(objective))


def child_highs(mps: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int) -> dict:
    h, scale, read_s, solve_s = run_raw_highs(mps, time_limit, mip_gap, threads, seed)
    info = h.getInfo()
    has = info.primal_solution_status == 2
    objective = info.objective_function_value / scale if has else None
    bound = info.mip_dual_bound / scale if info.mip_node_count >= 0 else objective
    return {"solver": "HiGHS", "version": h.version(), "status": h.modelStatusToString(h.getModelStatus()),
            "objective": objective, "bound": bound if bound is None or math.isfinite(bound) else None,
            "read_s": read_s, "solve_s": solve_s, "threads": threads or "auto"}


def child_scip(mps: str, time_limit: float | None, mip_gap: float, threads: int | None, seed: int) -> dict:
    import pyscipopt

    m = pyscipopt.Model()
    m.hideOutput()
    t0 = time.perf_counter()
    m.readProblem(mps)
    read_s = time.perf_counter() - t0
    if time_limit is not None:
        m.setParam("limits/time", float(time_limit))
    m.setParam("limits/gap", float(mip_gap))
    m.setParam("randomization/randomseedshift", int(seed))
    t0 = time.perf_counter()
    m.optimize()
    solve_s = time.perf_counter() - t0
    has = m.getNSols() > 0
    bound = m.getDualbound()
    return {"solver": "SCIP", "version": str(m.version()), "status": m.getStatus(),
            "objective": m.getObjVal() if has else None, "bound": bound if math.isfinite(bound) else None,
            "read_s": read_s, "solve_s": solve_s, "threads": 1}


CHILDREN = {"highs": child_highs, "scip": child_scip}


def scip_available() -> bool:
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        return False
    return True


def write_mps(path: Path, mps: Path) -> dict:
    """Build dcplan's model of the instance file and write it as MPS; its size."""
    import optimizer
    from optimizer.plan import timed_build
    from optimizer.solver import HighsSession

    _, m, _, _ = timed_build(optimizer.load_instance(path))
    session = HighsSession(m)
    session.write_model(mps)
    return {"columns": session.num_col, "rows": session.num_row}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return _child(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__.split("\n")[0])
    ap.add_argument("name", nargs="?", default="capb-5000", help="OR-Library problem (default capb-5000) or an instance file")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per solver (default 120)")
    ap.add_argument("--mip-gap", type=float, default=1e-4, help="relative gap (default 1e-4, dcplan's default)")
    ap.add_argument("--threads", type=int, help="HiGHS threads (default: HiGHS's choice; SCIP runs on one)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--solvers", default="highs,scip", help="comma-separated: highs, scip (default both)")
    ap.add_argument("--csv", metavar="OUT.csv", help="append one row per solver to this CSV")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = instance_file(args.name, "json", workdir)
        mps = workdir / f"{path.stem}.mps"
        size = write_mps(path, mps)
        print(f"{path.stem}: {size['columns']:,} columns, {size['rows']:,} rows; time limit {args.time_limit:g} s, "
              f"relative gap {args.mip_gap:g}", flush=True)
        common = ["--time-limit", str(args.time_limit), "--mip-gap", str(args.mip_gap), "--seed", str(args.seed)]
        if args.threads is not None:
            common += ["--threads", str(args.threads)]
        for solver in [s.strip() for s in args.solvers.split(",") if s.strip()]:
            row = {"date": dt.date.today().isoformat(), "instance": path.stem, "solver": solver,
                   "time_limit": args.time_limit, "mip_gap": args.mip_gap}
            if solver == "scip" and not scip_available():
                row["status"] = "not installed (pip install -e '.[bench]')"
            else:
                r, err = run_child(["peers", solver, str(mps), *common], workdir / f"{solver}.json", module="benchmarks.peers")
                if r is None:
                    row["status"] = "error: " + (err.strip().splitlines() or [""])[-1]
                else:
                    row.update(r)
                    row["gap"] = _gap(r["objective"], r["bound"])
            rows.append(row)
    print(table(rows))
    if args.csv:
        _append(rows, args.csv)
        print(f"appended to {args.csv}")
    return 0


def _f(x, spec: str) -> str:
    return "" if x is None or x == "" else format(x, spec)


def table(rows: list[dict]) -> str:
    head = (f"{'solver':<7} {'version':<10} {'status':<22} {'objective':>18} {'bound':>18} {'gap':>9} {'read s':>7} "
            f"{'solve s':>8} {'threads':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        gap = "" if r.get("gap") is None else f"{100 * r['gap']:.4f}%"
        lines.append(f"{r['solver']:<7} {str(r.get('version', '')):<10} {str(r.get('status', ''))[:22]:<22} "
                     f"{_f(r.get('objective'), '18.4f'):>18} {_f(r.get('bound'), '18.4f'):>18} {gap:>9} "
                     f"{_f(r.get('read_s'), '7.2f'):>7} {_f(r.get('solve_s'), '8.2f'):>8} {str(r.get('threads', '')):>7}")
    return "\n".join(lines)


def _append(rows: list[dict], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerows(rows)


def _child(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["peers"])
    ap.add_argument("solver", choices=sorted(CHILDREN))
    ap.add_argument("mps")
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--mip-gap", type=float)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--result", required=True)
    a = ap.parse_args(argv)
    res = CHILDREN[a.solver](a.mps, a.time_limit, a.mip_gap, a.threads, a.seed)
    Path(a.result).write_text(json.dumps(res, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
