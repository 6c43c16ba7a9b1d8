"""Parameter sweeps: solve every combination of what-if overrides and compare the plans.

A sweep is the cartesian product of a *grid* ``{PATH: [v1, v2, ...]}`` of override paths
(:mod:`optimizer.instance.overrides`); a path ending in ``*`` scales the field by each
value instead of setting it (``systems[h20].price_usd_per_unit*: [1, 1.2]``). Every
combination is applied to the base instance and validated *before* anything is solved,
then solved independently — in parallel processes (``executor='process'``, the default),
on a Dask cluster (``'dask'``: a ``distributed.LocalCluster`` unless a scheduler address is
given) or one after the other in this process (``'serial'``).

:func:`comparison_row` turns one plan into one row of the comparison table: the override
values, status, objective, expected cost, gap, expected discounted cost by category,
sites built, units installed by family (last period, expected over scenarios), idle
share, installed domestic share (last period) and unserved demand.

Runs are not warm-started from each other: each builds its own model. The time a run
spends outside the solver (prepare, build, hand-over, extract) is under 10 % on the
example instances and under 1 % on larger ones, so a persistent model would save little;
the measured numbers are in ``docs/whatif.md``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.analysis.dask_cluster import connect
from optimizer.files import atomic_folder, check_output
from optimizer.instance.decisions import Decisions
from optimizer.instance.derive import BASE_SCENARIO, share_weight
from optimizer.instance.errors import InstanceError, Problem
from optimizer.instance.load import load_instance
from optimizer.instance.overrides import apply_overrides, parse_assignment, path_problems
from optimizer.instance.schema import Instance
from optimizer.options import Risk, SolveOptions
from optimizer.results.outcomes import expected_outcomes, probability_weights, scenario_outcomes
from optimizer.results.write import write_plan

if TYPE_CHECKING:
    from rich.progress import Progress

    from optimizer.plan import Plan

log = logging.getLogger(__name__)

EXECUTORS = ("process", "dask", "serial")
ERROR = "error"  # status of a run that raised instead of returning a plan
SCALE = "*"  # a grid path ending in '*' scales the field


class SweepError(RuntimeError):
    """The sweep cannot run (e.g. the Dask scheduler cannot be reached)."""


@dataclass
class SweepResult:
    """The comparison table (one row per run), the plans by run id, and where they were written."""

    table: pd.DataFrame
    plans: dict[str, Plan]
    overrides: dict[str, dict[str, Any]]  # run id -> {grid path: value}
    out_dir: Path | None = None
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)  # run id -> error text

    @property
    def run_ids(self) -> list[str]:
        """The run ids, in the order of the comparison table."""
        return list(self.table["run_id"])


# ----------------------------------------------------------------------------- grid
def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``PATH=v1,v2,...`` or ``PATH*=f1,f2,...`` strings (as on the command line) -> grid.

    Values are read as YAML; commas inside brackets or braces do not split
    (``policies.export_rules[0].periods=[2026],[2026, 2027]``).
    """
    grid: dict[str, list[Any]] = {}
    for text in items:
        m = re.match(r"^\s*([^=*]+?)\s*(\*?=)\s*(.*)$", text)
        if not m:
            raise InstanceError([Problem("--grid", text, "expected PATH=V1,V2,... or PATH*=F1,F2,...")])
        path, op, raw = m.groups()
        key = path + (SCALE if op == "*=" else "")
        if key in grid:
            raise InstanceError([Problem("--grid", text, "the same path appears in two --grid options")])
        values = []
        for part in _split_top(raw):
            values.append(parse_assignment(f"{path}={part}")[2])
        if not values or any(v == "" for v in values):
            raise InstanceError([Problem("--grid", text, "expected PATH=V1,V2,... with at least one value and no empty ones")])
        grid[key] = values
    return grid


def grid_problems(inst: Instance, grid: dict[str, list[Any]]) -> list[Problem]:
    """The problems of grid paths that name no field or record of ``inst`` (an unknown id gets
    "did you mean" and the ids, as ``--set``), one per path, checked with its first value."""
    items = [(k[:-1] if k.endswith(SCALE) else k, "*=" if k.endswith(SCALE) else "=", vals[0])
             for k, vals in grid.items() if isinstance(vals, (list, tuple)) and vals]
    return path_problems(inst, items, "--grid")


def check_inputs(inst: Instance, grid: dict[str, list[Any]], decisions: Decisions | None) -> None:
    """Raise :class:`InstanceError` listing every grid path and decision that names no record of
    ``inst`` ("did you mean", the ids): before a sweep builds or solves any run."""
    problems = grid_problems(inst, grid) + (decisions.problems(inst) if decisions is not None else [])
    if problems:
        raise InstanceError(problems)


def _split_top(raw: str) -> list[str]:
    """Split at the commas outside brackets and braces; the parts are stripped."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in raw:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of the grid, the last path varying fastest."""
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], (list, tuple)) or not grid[k]:
            raise InstanceError([Problem("grid", k, "needs a non-empty list of values")])
    return [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]


def apply_combination(inst: Instance, combo: dict[str, Any], run_id: str = "") -> Instance:
    """The base instance with one combination of grid values applied (validated)."""
    sets = {k: v for k, v in combo.items() if not k.endswith(SCALE)}
    scales = [f"{k[:-1]}*={v}" for k, v in combo.items() if k.endswith(SCALE)]
    source = f"sweep run {run_id}" if run_id else "sweep"
    if sets:
        inst = apply_overrides(inst, sets, source=source)
    if scales:
        inst = apply_overrides(inst, scales, source=source)
    return inst


# ----------------------------------------------------------------------------- comparison row
def probabilities(inst: Instance) -> dict[str, float]:
    """Scenario probabilities (one scenario 'base' with probability 1 when none are given)."""
    return {w.id: w.probability for w in inst.scenarios} if inst.scenarios else {BASE_SCENARIO: 1.0}


def expected_costs(plan: Plan) -> dict[str, float]:
    """Expected discounted cost per category: Σ_w π_w Σ_p discounted cost."""
    c = plan.tables["costs"]
    if c.empty:
        return {}
    x = (c["discounted_usd"].astype(float) * c["probability"].astype(float)).groupby(c["category"]).sum()
    return {str(k): float(v) for k, v in x.items()}


def comparison_row(plan: Plan) -> dict[str, Any]:
    """One plan's headline figures (expected over scenarios) as one comparison-table row."""
    inst = plan.instance
    row: dict[str, Any] = {
        "status": plan.status,
        "objective_usd": plan.objective,
        "expected_cost_usd": plan.expected_cost,
        "mip_gap": plan.mip_gap,
        "solve_seconds": round(plan.seconds.get("solve", math.nan), 3),
    }
    families = [f.id for f in inst.families]
    if not plan.has_solution:
        return row
    for cat, usd in sorted(expected_costs(plan).items()):
        row[f"cost_{cat}_usd"] = usd
    t = plan.tables
    prob = probabilities(inst)
    sites = sorted(set(t["builds"]["site"]))
    row["sites_built"] = len(sites)
    row["sites_built_list"] = ";".join(sites)
    gen = t.get("generator_builds")
    row["onsite_mw_built"] = float(gen["mw"].sum()) if gen is not None and len(gen) else 0.0

    last = inst.horizon.periods[-1].id
    years = {p.id: p.years for p in inst.horizon.periods}
    systems = {k.id: k for k in inst.systems}
    fleet = t["fleet"]
    fl = fleet[fleet["period"] == last]
    pw = probability_weights(fl["scenario"], prob)
    units = (fl["units_in_service"].astype(float) * pw).groupby(fl["family"]).sum()
    for f in families:
        row[f"units_{f}"] = float(units.get(f, 0.0))
    weight = fl["system"].map(lambda k: share_weight(systems[k])) * fl["units_in_service"].astype(float) * pw
    total = float(weight.sum())
    dom = float(weight[fl["domestic"].astype(bool)].sum())
    row["domestic_share_pct"] = 100.0 * dom / total if total > 1e-12 else math.nan

    expected = expected_outcomes(scenario_outcomes(plan))  # the one definition of idle (MW-weighted)
    row["idle_capacity_pct"] = expected.get("idle_capacity_pct", 0.0)
    row["idle_systems_pct"] = expected.get("idle_systems_pct", 0.0)

    d = t["demand"]
    wd = probability_weights(d["scenario"], prob) * d["period"].map(years).astype(float)
    demand = float((d["demand_pflops"].astype(float) * wd).sum())
    unserved = float((d["unserved_pflops"].astype(float) * wd).sum())
    row["unserved_pflops_years"] = unserved
    row["unserved_pct"] = 100.0 * unserved / demand if demand > 1e-12 else 0.0
    return row


def comparison_table(runs: list[tuple[str, dict[str, Any], Plan | None, str]], families: list[str]) -> pd.DataFrame:
    """Rows (run id, override values, plan, error) -> the tidy comparison table."""
    rows = []
    for rid, combo, plan, err in runs:
        row: dict[str, Any] = {"run_id": rid, **combo}
        if plan is None:
            row["status"] = ERROR
        else:
            row.update(comparison_row(plan))
        row["message"] = err or ("" if plan is None or plan.has_solution else "; ".join(plan.messages[:3]))
        rows.append(row)
    df = pd.DataFrame(rows)
    costs = sorted(c for c in df.columns if c.startswith("cost_"))
    solved = df["status"].isin(["optimal", "feasible"]) if "status" in df else pd.Series(False, index=df.index)
    for c in costs:
        df.loc[solved, c] = df.loc[solved, c].fillna(0.0)
    head = ["run_id", *(k for k in runs[0][1] if runs)] if runs else ["run_id"]
    fixed = ["status", "objective_usd", "expected_cost_usd", "mip_gap", "solve_seconds", *costs, "sites_built",
             "sites_built_list", "onsite_mw_built", *(f"units_{f}" for f in families), "idle_capacity_pct",
             "idle_systems_pct", "domestic_share_pct",
             "unserved_pflops_years", "unserved_pct", "message"]
    for c in fixed:
        if c not in df.columns:
            df[c] = math.nan
    return df[head + fixed]


# ----------------------------------------------------------------------------- running
@dataclass(frozen=True)
class _Task:
    """What every run of a sweep is solved with (picklable, sent to the workers)."""

    options: SolveOptions
    decisions: Decisions | None
    risk: Risk | None


_Work = tuple[str, Instance, _Task]  # (run id, instance, how to solve it)
_Result = tuple[str, "Plan | None", str]  # (run id, plan or None, error text)


def _run_one(run_id: str, inst: Instance, task: _Task) -> _Result:
    """Solve one run (in a worker); never raises, so one bad run does not stop a sweep."""
    from optimizer.plan import solve

    try:
        plan = solve(inst, task.options, decisions=task.decisions, risk=task.risk)
        plan.model = plan.context = None  # not picklable, not needed
        return run_id, plan, ""
    except Exception as exc:
        log.exception("sweep run %s failed", run_id)
        return run_id, None, f"{type(exc).__name__}: {exc}"


def _serial(tasks: list[_Work]) -> Iterator[_Result]:
    for rid, inst, kw in tasks:
        yield _run_one(rid, inst, kw)


def _processes(tasks: list[_Work], workers: int) -> Iterator[_Result]:
    # spawn: a clean interpreter per worker (no inherited HiGHS threads or locks)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    try:
        futures = [pool.submit(_run_one, rid, inst, kw) for rid, inst, kw in tasks]
        for fut in as_completed(futures):
            yield fut.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: drop the queued runs, do not wait
        raise
    pool.shutdown(wait=True)


def _dask(tasks: list[_Work], workers: int, scheduler: Any) -> Iterator[_Result]:
    from distributed import as_completed as dask_completed

    client, cluster = connect(workers, scheduler, SweepError)
    try:
        futures = [client.submit(_run_one, rid, inst, kw, key=f"dcplan-sweep-{rid}-{os.getpid()}-{time.time_ns()}", pure=False)
                   for rid, inst, kw in tasks]
        for fut in dask_completed(futures):  # type: ignore[no-untyped-call]
            yield fut.result()
    finally:
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


def sweep(
    inst: Instance | str | Path,
    grid: dict[str, list[Any]],
    *,
    executor: str = "process",
    workers: int | None = None,
    scheduler: Any = None,
    options: SolveOptions | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    decisions: Decisions | None = None,
    risk: Risk | None = None,
) -> SweepResult:
    """Solve every combination of ``grid`` applied to ``inst`` and compare the plans.

    ``executor``: ``'process'`` (a pool of ``workers`` processes, default
    ``min(cpu count, runs)``), ``'dask'`` (``scheduler``: an address, a
    ``distributed.Client``, or None for a local cluster of ``workers`` processes) or
    ``'serial'``. ``options`` apply to every solve (default: :class:`SolveOptions` with a
    10 s diagnosis limit); each uses ``options.threads`` HiGHS threads (default: the cores divided
    among the workers of a process pool or local Dask cluster, else HiGHS's default).
    With ``out`` the comparison table (``comparison.csv``), the sweep settings
    (``sweep.json``) and every run's tables (``runs/<run-id>/``) are written, atomically,
    never over an existing folder unless ``overwrite``. Unknown ids raise first (:func:`check_inputs`).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not '{executor}'")
    if not isinstance(inst, Instance):
        inst = load_instance(inst)
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_output(out_path, overwrite=overwrite)  # before any solve: exists, other kind, not writable
    options = options if options is not None else SolveOptions(diagnose_time_limit=10.0)
    check_inputs(inst, grid, decisions)
    combos = combinations(grid)
    width = max(3, len(str(len(combos))))
    ids = [f"run-{i + 1:0{width}d}" for i in range(len(combos))]
    variants = [apply_combination(inst, c, rid) for rid, c in zip(ids, combos)]  # every input checked first
    cpu = os.cpu_count() or 1
    workers = max(1, min(workers or cpu, len(combos))) if executor != "serial" else 1
    # one process worker: nothing to parallelise, skip the process start-up
    executor_used = "serial" if executor == "process" and workers == 1 else executor
    if options.threads is None and (executor_used == "process" or (executor_used == "dask" and scheduler is None)):
        options = options.with_(threads=max(1, cpu // workers))  # fresh worker processes share the cores
    # (in this process, HiGHS cannot use more threads than its global scheduler started
    # with, so serial runs and foreign Dask workers keep HiGHS's default unless told)
    task = _Task(options, decisions, risk)
    tasks = [(rid, v, task) for rid, v in zip(ids, variants)]
    stream = (_serial(tasks) if executor_used == "serial" else _processes(tasks, workers) if executor_used == "process"
              else _dask(tasks, workers, scheduler))  # generators: nothing runs before the loop below

    meta = {"instance": inst.name, "grid": grid, "runs": len(ids), "executor": executor_used, "workers": workers,
            "options": {**options.as_dict(), "decisions": None if decisions is None else str(decisions),
                        "risk": None if risk is None else str(risk)}}
    table, plans, errors, seconds = _run_and_write(stream, ids, combos, [f.id for f in inst.families], out_path,
                                                   overwrite, progress, meta)
    return SweepResult(table, plans, dict(zip(ids, combos)), out_path, seconds, errors)


def _run_and_write(stream: Iterator[tuple[str, Plan | None, str]], ids: list[str], combos: list[dict[str, Any]],
                   families: list[str], out_path: Path | None, overwrite: bool, progress: bool, meta: dict[str, Any],
                   ) -> tuple[pd.DataFrame, dict[str, Plan], dict[str, str], float]:
    """Collect the runs as they finish and, with ``out_path``, write them (atomically)."""
    t0 = time.perf_counter()
    plans: dict[str, Plan] = {}
    errors: dict[str, str] = {}
    folder = atomic_folder(out_path, overwrite=overwrite) if out_path is not None else contextlib.nullcontext(None)
    with folder as tmp:
        with _progress(progress, len(ids)) as advance:
            for rid, plan, err in stream:
                if plan is not None:
                    plans[rid] = plan
                    if tmp is not None:
                        run_dir = write_plan(plan, tmp / "runs" / rid)
                        combo = combos[ids.index(rid)]
                        run_json = json.dumps({"run_id": rid, "overrides": combo}, indent=2, default=str)
                        (run_dir / "run.json").write_text(run_json + "\n")
                else:
                    errors[rid] = err
                advance(rid, plan.status if plan is not None else ERROR)
        seconds = time.perf_counter() - t0
        table = comparison_table([(rid, c, plans.get(rid), errors.get(rid, "")) for rid, c in zip(ids, combos)], families)
        if tmp is not None:
            table.to_csv(tmp / "comparison.csv", index=False)
            (tmp / "sweep.json").write_text(json.dumps({**meta, "seconds": round(seconds, 3)}, indent=2, default=str) + "\n")
    return table, plans, errors, seconds


class _progress:
    """A rich progress bar on stderr (or nothing); yields ``advance(run_id, status)``."""

    def __init__(self, show: bool, total: int) -> None:
        self.show, self.total = show, total
        self.bar: Progress | None = None

    def __enter__(self) -> Callable[[str, str], None]:
        if not self.show:
            return lambda rid, status: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        bar = self.bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.description}"),
                                  console=Console(stderr=True), transient=False)
        bar.__enter__()
        task = bar.add_task("", total=self.total)

        def advance(rid: str, status: str) -> None:
            bar.update(task, advance=1, description=f"{rid}: {status}")

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
