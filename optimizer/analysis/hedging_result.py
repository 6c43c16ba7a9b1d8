"""Progressive hedging's settings (:class:`HedgingOptions`) and result (:class:`HedgingResult`).

The algorithm is in :mod:`optimizer.analysis.hedging`, which re-exports both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.analysis.hedging_pool import EXECUTORS, scheduler_address
from optimizer.analysis.uncertainty import PlanEvaluation, _rows
from optimizer.files import atomic_folder
from optimizer.options import SolveOptions, Status
from optimizer.results.format import money
from optimizer.results.outcomes import expected_outcomes

ITERATION_COLUMNS = ["iteration", "seconds", "disagreement", "sites_disagreeing", "mw_disagreement", "lower_bound_usd",
                     "upper_bound_usd", "gap", "candidate_cost_usd", "candidate"]
"""Columns of :attr:`HedgingResult.iterations`: ``disagreement`` is
:math:`\\sum_w \\pi_w \\lVert x_w - \\bar x\\rVert_1` over builds and blocks, ``mw_disagreement``
the same over the continuous first stage (MW of on-site generation, batteries and PPA offers);
``candidate`` says which first stage was evaluated that iteration (``consensus``,
``rounded mean`` or empty)."""


@dataclass(frozen=True)
class HedgingOptions:
    """Settings of :func:`progressive_hedging` beyond its :class:`SolveOptions`.

    The :class:`SolveOptions` say the target relative gap between the bounds (``mip_gap``),
    the wall-clock limit of the whole run (``time_limit``), and the ``threads`` and ``seed``
    of every scenario solve. The iterations stop at 85 % of the limit; the final re-check of
    the best first stage takes the rest, one solve per scenario with the first stage fixed,
    each limited to the larger of 5 s and the time left over the scenarios (so a run may end
    a little after its limit). Within the iterations, one batch of scenario solves may take a
    third (iteration 0's wait-and-see solves) or half (every later batch) of the time left,
    split evenly over each worker's solves, at least 1 s each
    (:data:`optimizer.analysis.hedging.SHARES`).

    ``sub_mip_gap`` is the relative gap of each scenario solve (default: half of the target
    gap); ``max_iterations`` bounds the PH iterations; ``bound_every`` computes the
    Lagrangian bound every that many iterations (and at the end; each costs one extra solve
    per scenario; 0: only iteration 0's wait-and-see bound); ``verify`` re-checks the best
    plan with the independent verifier.

    ``executor`` says where the scenario models live and are solved
    (:mod:`optimizer.analysis.hedging_pool`): ``'serial'`` (default) all in this process, one
    after the other; ``'dask'`` spread over Dask workers, one group of scenarios per worker,
    solved in parallel — a local cluster of ``workers`` processes (default: one per core), or
    the workers of the cluster at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786`` or a
    ``distributed.Client``; all of them, or the first ``workers``; dcplan must be installed on
    its workers). Each scenario solve uses
    the ``threads`` of the :class:`SolveOptions`; on a local cluster their default is the
    cores divided among the workers. The plan and bounds do not depend on the executor.
    """

    sub_mip_gap: float | None = None
    max_iterations: int = 50
    rho_factor: float = 0.3
    bound_every: int = 5
    verify: bool = True
    executor: str = "serial"
    workers: int | None = None
    scheduler: Any = None

    def __post_init__(self) -> None:
        if self.sub_mip_gap is not None and not (0 < self.sub_mip_gap < 1):
            raise ValueError("sub_mip_gap must be between 0 and 1")
        if self.rho_factor <= 0 or self.max_iterations < 0 or self.bound_every < 0:
            raise ValueError("rho_factor must be > 0, max_iterations and bound_every >= 0")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be >= 1")
        if self.scheduler is not None and self.executor != "dask":
            raise ValueError("a scheduler needs executor 'dask'")


DEFAULT_OPTIONS = SolveOptions(mip_gap=0.01)
"""Progressive hedging's default target: a 1 % gap between its bounds."""


@dataclass
class HedgingResult:
    """Outcome of :func:`progressive_hedging`. Money in the instance's currency, discounted.

    ``status``: ``optimal`` (bounds within ``mip_gap``), ``feasible`` (a plan, gap larger:
    a limit stopped the run), ``infeasible`` (some scenario has no plan even alone),
    ``no_solution`` (no candidate was feasible in every scenario within the limits).
    ``best`` is the best plan's evaluation (builds, per-scenario outcomes, verified).
    ``prices`` holds the final prices :math:`W_w` per scenario and build choice (in the
    instance's currency per build and per block), those of the last Lagrangian bound.
    ``power`` is the best plan's continuous first stage (MW of on-site generation and
    batteries built and kept, of PPA offers contracted; empty if the instance has none):
    :func:`optimizer.analysis.hedging.power_table`.
    """

    instance: str
    currency: str
    status: Status
    upper_bound: float | None
    lower_bound: float | None
    gap: float | None
    converged: bool
    iterations: pd.DataFrame
    best: PlanEvaluation | None
    seconds: dict[str, float] = field(default_factory=dict)
    solves: int = 0
    messages: list[str] = field(default_factory=list)
    options: HedgingOptions = field(default_factory=HedgingOptions)
    solve_options: SolveOptions = DEFAULT_OPTIONS
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    power: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def builds(self) -> pd.DataFrame:
        """The best plan's builds (empty without a plan)."""
        return self.best.builds if self.best is not None else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """The headline figures and settings, as written to ``summary.json``."""
        return {
            "instance": self.instance, "currency": self.currency, "status": self.status,
            "expected_cost_usd": self.upper_bound, "lower_bound_usd": self.lower_bound, "gap": self.gap,
            "converged": self.converged, "iterations": len(self.iterations), "solves": self.solves,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "messages": self.messages,
            "options": {**self.solve_options.as_dict(),
                        **{k: getattr(self.options, k) for k in self.options.__dataclass_fields__},
                        "scheduler": scheduler_address(self.options.scheduler)},
        }

    def text(self) -> str:
        """The result as text: status, bounds, builds and each scenario's outcome."""
        cur = self.currency
        gap = f"{100 * self.gap:.2f} %" if self.gap is not None else "n/a"
        lines = [f"{self.instance}: progressive hedging — {self.status.upper()}",
                 f"  expected cost {money(self.upper_bound, cur)}, lower bound {money(self.lower_bound, cur)}, gap {gap}",
                 f"  {len(self.iterations)} iteration(s), {self.solves} scenario solves, "
                 f"{self.seconds.get('total', 0.0):.1f} s; first stages {'agree' if self.converged else 'still differ'}"]
        if self.best is not None:
            b = self.best.builds
            lines.append(f"  builds: {b['site'].nunique() if len(b) else 0} site(s), {self.best.built_mw:,.0f} MW")
            for r in b.itertuples():
                phase = f"  phase {r.phase}" if getattr(r, "phase", 1) > 1 else ""
                lines.append(f"    {r.site:<24} {r.option:<14} {r.it_mw:>8,.0f} MW  decided {r.decision_period}{phase}")
            if len(self.power):
                lines.append("  on-site generation, batteries and PPA offers (MW):")
                for r in _rows(self.power):
                    when = f" {r.period}" if r.period else ""
                    lines.append(f"    {r.site:<24} {r.source:<14} {r.decision}{when} {r.mw:>10,.2f} MW")
            o = self.best.outcomes
            lines.append("  per scenario: cost, idle built capacity, unserved demand")
            for r in _rows(o):
                lines.append(f"    {r.scenario:<24} p {r.probability:.3f}  {money(r.cost_usd, cur):>16}  "
                             f"idle capacity {r.idle_capacity_pct:5.1f} %  unserved {r.unserved_pct:5.1f} %")
            e = expected_outcomes(o)
            if e:
                lines.append(f"  expected idle built capacity {e['idle_capacity_pct']:.1f} %, unserved {e['unserved_pct']:.2f} %")
        lines += [f"  note: {m}" for m in self.messages]
        return "\n".join(lines)

    def write(self, out_dir: str | Path, overwrite: bool = False) -> Path:
        """Write summary.json, iterations.csv, builds.csv, outcomes.csv, power.csv (with a continuous
        first stage) and report.txt into a new folder."""
        with atomic_folder(out_dir, overwrite=overwrite) as tmp:
            self.iterations.to_csv(tmp / "iterations.csv", index=False)
            if self.best is not None:
                self.best.builds.to_csv(tmp / "builds.csv", index=False)
                self.best.outcomes.to_csv(tmp / "outcomes.csv", index=False)
                if len(self.power):
                    self.power.to_csv(tmp / "power.csv", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
            (tmp / "report.txt").write_text(self.text() + "\n")
        return Path(out_dir)


def gap_between(ub: float | None, lb: float | None) -> float | None:
    """Relative gap between the bounds (None while either is missing)."""
    return None if ub is None or lb is None else max(0.0, ub - lb) / max(1.0, abs(ub))


__all__ = ["DEFAULT_OPTIONS", "HedgingOptions", "HedgingResult", "ITERATION_COLUMNS", "gap_between"]
