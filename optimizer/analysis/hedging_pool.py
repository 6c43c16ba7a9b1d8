"""Where progressive hedging's scenario models live and are solved: in this process or on Dask workers.

A :class:`ScenarioGroup` holds the models of some scenarios (:class:`ScenarioModel`, each
kept in HiGHS between iterations) and solves a batch of :class:`Request` for them one after
the other, splitting the seconds it is given evenly over the solves still to come (each gets
at least 1 s). A pool deals the scenarios to its groups round-robin, in the instance's
order, and sends every batch to all groups at once:

- :class:`LocalPool` (``executor='serial'``): one group in this process;
- :class:`DaskPool` (``executor='dask'``): one group per Dask worker, created there as a
  Dask *actor* so that its models stay in the worker's memory from one iteration to the
  next; the groups solve in parallel. The workers are those of a ``distributed.LocalCluster``
  of ``workers`` processes started for the run, or of the cluster whose scheduler address
  (or ``distributed.Client``) is given (all of them, or the first ``workers``) — dcplan must be
  installed on those workers.

Only a solve's first-stage values, objective, bound and status travel back; each model's
warm start (its last solution) stays where the model is. The results do not depend on
where the models are: a group solves its scenarios exactly as the serial loop did.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.analysis.dask_cluster import connect
from optimizer.analysis.hedging_scenario import CKey, Key, ScenarioModel, Solved, prox_q
from optimizer.instance.schema import Instance
from optimizer.solver import objective_scale, reset_thread_pool

EXECUTORS = ("serial", "dask")
"""Where the scenario models of :func:`optimizer.analysis.hedging.progressive_hedging` live."""


class PoolError(RuntimeError):
    """The scenario models cannot be placed (e.g. the Dask scheduler cannot be reached)."""


@dataclass(frozen=True)
class ScenarioInfo:
    """What the run needs to know of one scenario model: id, probability, why it has no plan
    (``impossible``), which build choices exist in it (``has``) and their objective
    coefficients (``cost_b`` per build, ``cost_n`` per block; 0 where absent), and its continuous
    first stage: ``cont`` maps each :data:`CKey` it has to (its cost per MW,
    :meth:`ScenarioModel.reference_cost`, and its largest MW).
    Coefficients unscaled as the pool reports them, scaled once the run holds them."""

    id: str
    prob: float
    impossible: list[str]
    has: np.ndarray
    cost_b: np.ndarray
    cost_n: np.ndarray
    scale: float  # the objective scale this model alone would get
    cont: dict[CKey, tuple[float, float]]


@dataclass(frozen=True)
class Request:
    r"""One scenario solve: cost :math:`C_w + W_b b + W_n n` and, when ``lin`` is given, the
    proximal terms around the mean (``lin`` :math:`= (1 - 2\bar b)/2` times ``prox_b`` on the
    builds, ``prox_n`` on the tangent variables around ``nbar``); with ``fix`` the first stage
    fixed to (b, n) for this solve only. ``warm``: start from the model's last kept solution
    and keep this one."""

    scenario: int  # index in the pool's scenario order
    w_b: np.ndarray
    w_n: np.ndarray
    gap: float
    lin: np.ndarray | None = None
    prox_b: np.ndarray | None = None
    prox_n: np.ndarray | None = None
    nbar: np.ndarray | None = None
    fix: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    warm: bool = False
    w_c: np.ndarray | None = None  # prices on the continuous first stage (None: no continuous first stage)
    prox_c: np.ndarray | None = None
    cbar: np.ndarray | None = None


SKIPPED: Solved = {"has": False, "b": None, "n": None, "c": None, "objective": None, "bound": None, "infeasible": False,
                   "status": "not solved: time limit", "skipped": True}
"""The answer to a request that the time limit left unsolved."""


class ScenarioGroup:
    """The models of some scenarios (global indices ``index``), solved one after the other."""

    def __init__(self, inst: Instance, index: list[int], scenarios: list[tuple[str, float]], keys: list[Key],
                 threads: int | None, seed: int) -> None:
        # HiGHS keeps one thread pool per process, sized by its first solve; reset it so that
        # these solves get the threads they ask for (as optimizer.solve does)
        reset_thread_pool()
        self.models = {i: ScenarioModel(inst, w, p, keys, threads, seed) for i, (w, p) in zip(index, scenarios, strict=True)}
        self.nk = len(keys)
        self.nc = 0
        self.max_blocks = np.zeros(self.nk)

    def info(self) -> list[ScenarioInfo]:
        """Each model's :class:`ScenarioInfo`, in index order."""
        out = []
        for _i, s in sorted(self.models.items()):
            k = np.flatnonzero(s.has)
            cb, cn = np.zeros(self.nk), np.zeros(self.nk)
            cb[k], cn[k] = s.cost0[s.b_col[k]], s.cost0[s.n_col[k]]
            cont = {key: (s.reference_cost(key), float(s.ub0[col])) for key, col in s.cont.items()}
            out.append(ScenarioInfo(s.id, s.prob, s.impossible, s.has, cb, cn, objective_scale(s.cost0), cont))
        return out

    def prepare(self, scale: float, max_blocks: np.ndarray, ckeys: list[CKey], upper_mw: np.ndarray) -> None:
        """The common objective scale and the proximal rows of every model (blocks, and the
        continuous first stage ``ckeys`` of largest MW ``upper_mw``)."""
        self.max_blocks = max_blocks
        self.nc = len(ckeys)
        for s in self.models.values():
            s.set_scale(scale)
            s.add_prox_rows(max_blocks)
            s.add_continuous(ckeys, upper_mw)

    def solve(self, requests: list[Request], seconds: float | None) -> list[Solved]:
        """Answer ``requests`` in order within ``seconds`` (None: no limit): each solve gets the
        time left split over the solves still to come; those the limit leaves are :data:`SKIPPED`."""
        end = None if seconds is None else time.perf_counter() + seconds
        out: list[Solved] = []
        for j, req in enumerate(requests):
            left = None if end is None else end - time.perf_counter()
            if left is not None and left <= 0:
                out.append(SKIPPED)
                continue
            out.append(self._one(req, None if left is None else max(1.0, left / (len(requests) - j))))
        return out

    def _one(self, req: Request, limit: float | None) -> Solved:
        """One request: objective, optional fixing and warm start, the solve; first-stage values of the solution."""
        s = self.models[req.scenario]
        k = np.flatnonzero(s.has)
        j = np.flatnonzero(s.has_c)
        if req.fix is not None:
            s.fix_first_stage(*req.fix)
        try:
            s.set_objective(req.lin, req.w_b, req.w_n, req.prox_b, req.prox_n,
                            req.nbar if req.nbar is not None else np.zeros(self.nk), req.w_c, req.prox_c, req.cbar)
            r = s.run(limit, req.gap, self._start(s, req, k, j))
        finally:
            if req.fix is not None:
                s.fix_first_stage(None, None)
        if req.warm and r["has"]:
            s.solution = r["x"]
        b = n = c = None
        if r["has"]:
            b, n, c = np.zeros(self.nk), np.zeros(self.nk), np.zeros(self.nc)
            b[k], n[k], c[j] = r["x"][s.b_col[k]], r["x"][s.n_col[k]], r["x"][s.c_col[j]]
        return {"has": r["has"], "b": b, "n": n, "c": c, "objective": r["objective"], "bound": r["bound"],
                "infeasible": r["infeasible"], "status": r["status"], "skipped": False}

    def _start(self, s: ScenarioModel, req: Request, k: np.ndarray, j: np.ndarray) -> np.ndarray | None:
        """The warm start of a ``warm`` request: the model's last solution with its tangent
        variables set for this request's proximal terms (0 without them)."""
        if not req.warm or s.solution is None:
            return None
        start = s.solution.copy()
        prox = req.lin is not None and req.nbar is not None
        start[s.q_col[k]] = prox_q(start[s.n_col[k]], req.nbar[k], self.max_blocks[k]) if prox and req.nbar is not None else 0.0
        if len(j):
            cont = prox and req.prox_c is not None and req.cbar is not None
            start[s.qc_col[j]] = (prox_q(start[s.c_col[j]], req.cbar[j], [s.c_tangents[i] for i in j])
                                  if cont and req.cbar is not None else 0.0)
        return start


class Pool:
    """Scenario models dealt round-robin to groups; batches answered in request order."""

    executor = ""
    groups: list[Any]

    def __init__(self, n_scen: int) -> None:
        self.n_scen = n_scen

    def owner(self, i: int) -> int:
        """The group that holds scenario ``i``."""
        return i % len(self.groups)

    def parts(self, scenarios: list[tuple[str, float]]) -> list[tuple[list[int], list[tuple[str, float]]]]:
        """Each group's scenario indices and (id, probability)."""
        g = len(self.groups) if self.groups else 1
        return [([i for i in range(len(scenarios)) if i % g == j], [sc for i, sc in enumerate(scenarios) if i % g == j])
                for j in range(g)]

    def _call(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        """``method(*args[g])`` on every group g; their answers in group order."""
        raise NotImplementedError

    def info(self) -> list[ScenarioInfo]:
        """Every scenario's :class:`ScenarioInfo`, in scenario order."""
        per_group = self._call("info", [() for _g in self.groups])
        out: list[ScenarioInfo | None] = [None] * self.n_scen
        for g, infos in enumerate(per_group):
            for i, inf in zip(range(g, self.n_scen, len(self.groups)), infos, strict=True):
                out[i] = inf
        return [x for x in out if x is not None]

    def prepare(self, scale: float, max_blocks: np.ndarray, ckeys: list[CKey], upper_mw: np.ndarray) -> None:
        """The common objective scale and proximal rows on every group."""
        self._call("prepare", [(scale, max_blocks, ckeys, upper_mw) for _g in self.groups])

    def solve(self, requests: list[Request], seconds: float | None) -> list[Solved]:
        """Answer ``requests`` (each group its own, all groups at once) within ``seconds``; in request order."""
        mine: list[list[Request]] = [[] for _g in self.groups]
        for r in requests:
            mine[self.owner(r.scenario)].append(r)
        answers = self._call("solve", [(reqs, seconds) for reqs in mine])
        by_req: dict[int, Solved] = {}
        for reqs, ans in zip(mine, answers, strict=True):
            for r, a in zip(reqs, ans, strict=True):
                by_req[id(r)] = a
        return [by_req[id(r)] for r in requests]

    def close(self) -> None:
        """Release the groups (and a cluster started for them)."""


class LocalPool(Pool):
    """Every scenario model in this process, in one group."""

    executor = "serial"

    def __init__(self, inst: Instance, scenarios: list[tuple[str, float]], keys: list[Key], threads: int | None,
                 seed: int) -> None:
        super().__init__(len(scenarios))
        self.groups = [ScenarioGroup(inst, list(range(len(scenarios))), scenarios, keys, threads, seed)]

    def _call(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        return [getattr(g, method)(*a) for g, a in zip(self.groups, args, strict=True)]


class DaskPool(Pool):
    """One :class:`ScenarioGroup` actor per Dask worker (at most one per scenario)."""

    executor = "dask"

    def __init__(self, inst: Instance, scenarios: list[tuple[str, float]], keys: list[Key], threads: int | None,
                 seed: int, workers: int | None, scheduler: Any) -> None:
        super().__init__(len(scenarios))
        self.cluster: Any = None
        self.own_client = False
        self.client: Any = self._connect(workers, scheduler)
        try:
            addresses = sorted(self.client.scheduler_info()["workers"])
            if workers is not None and scheduler is not None:  # use that many of the cluster's workers
                addresses = addresses[:workers]
            self.workers = len(addresses)
            self.groups = [None] * min(len(addresses), len(scenarios))
            if threads is None and self.cluster is not None:
                threads = max(1, (os.cpu_count() or 1) // len(addresses))  # local workers share the cores
            self.threads = threads
            futures = [self.client.submit(ScenarioGroup, inst, idx, part, keys, threads, seed, actor=True,
                                          workers=[addresses[g]], allow_other_workers=False, pure=False)
                       for g, (idx, part) in enumerate(self.parts(scenarios))]
            self.groups = [f.result() for f in futures]
        except BaseException:
            self.close()
            raise

    def _connect(self, workers: int | None, scheduler: Any) -> Any:
        """A client of the given scheduler (address or Client) or of a new local cluster of
        ``workers`` processes (default: one per core), with at least one worker (waited 60 s)."""
        client, self.cluster = connect(max(1, workers or (os.cpu_count() or 1)), scheduler, PoolError)
        self.own_client = client is not scheduler
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            self.client = client
            self.close()
            raise PoolError(f"the Dask cluster at {scheduler} has no worker (waited 60 s)") from None
        return client

    def _call(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        futures = [getattr(g, method)(*a) for g, a in zip(self.groups, args, strict=True)]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Drop the actors, close the client if this pool opened it, and stop a cluster it started."""
        self.groups = []
        if self.client is not None and self.own_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None


def make_pool(executor: str, inst: Instance, scenarios: list[tuple[str, float]], keys: list[Key],
              threads: int | None, seed: int, workers: int | None = None, scheduler: Any = None) -> Pool:
    """The pool of ``executor`` (:data:`EXECUTORS`) holding one model per scenario."""
    if executor == "serial":
        return LocalPool(inst, scenarios, keys, threads, seed)
    if executor == "dask":
        return DaskPool(inst, scenarios, keys, threads, seed, workers, scheduler)
    raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")


def scheduler_address(scheduler: Any) -> str | None:
    """The scheduler as written to ``summary.json``: its address (None: a local cluster or no Dask)."""
    if scheduler is None or isinstance(scheduler, str):
        return scheduler
    return str(getattr(getattr(scheduler, "scheduler", None), "address", scheduler))


__all__ = ["EXECUTORS", "DaskPool", "LocalPool", "Pool", "PoolError", "Request", "ScenarioGroup", "ScenarioInfo",
           "make_pool", "scheduler_address"]
