"""Values that travel between the stages: solver settings, the risk measure, plan statuses.

This module imports nothing from the rest of the package, so every stage may use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

STRATEGIES = ("auto", "direct", "fix-and-optimize", "relax-and-fix")
"""The search strategies of :attr:`SolveOptions.strategy`."""


class Status(StrEnum):
    """What a solve produced. Compare with the members (``plan.status is Status.OPTIMAL``);
    as strings they are the words written to ``summary.json``.

    ``optimal`` — proven optimal within the relative gap;
    ``feasible`` — a limit (time, interruption) stopped the search with an incumbent, which is kept;
    ``infeasible`` — no plan satisfies the hard rules (with an explanation in input terms);
    ``no_solution`` — a limit stopped the search before any plan was found;
    ``rejected`` — a plan was found but the independent verifier (asked for with
    ``SolveOptions(verify=True)``, ``dcplan solve --verify``) found that its numbers do not
    describe its decisions: a solver or model error. The tables are kept for inspection;
    it never counts as a plan (exit code 6).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    REJECTED = "rejected"

    @property
    def has_solution(self) -> bool:
        """Whether a plan (proven optimal or not) comes with this status."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings of one solve (and of every solve an analysis makes).

    ``time_limit`` in seconds (None: no limit); ``mip_gap`` relative; ``threads`` and
    ``seed`` make runs repeatable; ``write_model`` writes the built model (MPS or LP by
    extension) before solving; ``verbose`` shows the HiGHS log; ``diagnose_time_limit``
    bounds the elastic re-solve that explains an infeasible instance (None: no limit);
    ``verify`` re-checks the plan with the independent verifier and lowers the status to
    ``rejected`` if it fails.

    ``strategy`` is how the MIP is searched (:data:`STRATEGIES`):

    * ``"direct"`` — one HiGHS branch-and-bound on the whole model;
    * ``"fix-and-optimize"`` — solve the LP relaxation, open every site build and phase
      (the ``build`` and ``expand`` binaries) whose LP value is >= 0.5 and close the rest,
      solve the MIP with those site decisions fixed (blocks, units and the rest stay
      integer) for 30 % of the time limit (LP included), then hand its plan to the full
      MIP as a start and run it for the time that is left. Status and bound are the full
      MIP's, so the gap stays honest; the time limit covers all three stages;
    * ``"relax-and-fix"`` — (1) a MIP with only the site builds and phases integer (a
      relaxation of the whole model: its bound is valid), until 35 % of the time limit;
      (2) those sites fixed, the training-job placements integer, until 60 % (with two or
      more scenarios: HiGHS's first plan, then one scenario's placements freed at a time, the
      most probable first, while that makes the plan cheaper); (3) sites and
      placements fixed, every other integer column integer, until 75 %; (4) the full MIP
      from stage 3's plan for the rest. The bound is the better of stage 1's and the full
      MIP's (:mod:`optimizer.solver.relax_fix`);
    * ``"auto"`` (default) — ``"relax-and-fix"`` for a model with at least 2,000 integer
      columns solved with a ``time_limit`` of 60 s or more, ``"direct"`` otherwise
      (:func:`optimizer.solver.strategy.resolve_strategy`): where both were measured on the
      synthetic portfolios (synth-M-1 120 s, synth-L-1..3 600 s, every time-to-power family,
      2 threads) relax-and-fix found the cheaper plan and the smaller proven gap every time
      (synth-M-1: 1.0 % proven in 107 s against direct's 5.0 % at the limit; synth-L-1: 16.9 %
      against 49.5 %; synth-L-2 18.7 % against 30.8 %; synth-L-3 15.6 % against 40.3 %); a small
      model solves to optimality either way, without a limit the stages have no time shares,
      and with a few seconds they are too short to give a plan (benchmarks/README.md, "Relax-and-fix"). A plan solved
      by ``auto`` says in its messages when it ran relax-and-fix. fix-and-optimize did not pay
      where it was measured (synth-M seed 1, 120 s: 1.42 % against direct's 1.28 %).
    """

    time_limit: float | None = None
    mip_gap: float = 1e-4
    threads: int | None = None
    seed: int = 0
    write_model: str | Path | None = None
    verbose: bool = False
    diagnose_time_limit: float | None = 60.0
    verify: bool = False
    strategy: str = "auto"

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """Every setting out of its valid range, as one message each."""
        out = []
        for name in ("time_limit", "diagnose_time_limit"):
            x = getattr(self, name)
            if x is not None and not (isinstance(x, (int, float)) and math.isfinite(x) and x > 0):
                out.append(f"{name} must be a number of seconds > 0, not {x!r}")
        g = self.mip_gap
        if not (isinstance(g, (int, float)) and math.isfinite(g) and 0 <= g < 1):
            out.append(f"mip_gap must be a relative gap with 0 <= gap < 1, not {g!r}")
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            out.append(f"threads must be a whole number >= 1, not {self.threads!r}")
        if not (isinstance(self.seed, int) and 0 <= self.seed <= 2**31 - 1):
            out.append(f"seed must be a whole number between 0 and 2147483647, not {self.seed!r}")
        if self.strategy not in STRATEGIES:
            out.append(f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        return out

    def with_(self, **changes: object) -> SolveOptions:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """The settings as written to ``summary.json``."""
        return {
            "time_limit": self.time_limit,
            "mip_gap": self.mip_gap,
            "threads": self.threads,
            "seed": self.seed,
            "diagnose_time_limit": self.diagnose_time_limit,
            "verify": self.verify,
            "strategy": self.strategy,
        }


@dataclass(frozen=True)
class Risk:
    """Risk-averse objective: (1 - weight) * expected cost + weight * CVaR_alpha(cost)."""

    alpha: float
    weight: float

    def __post_init__(self) -> None:
        if not (0 <= self.alpha < 1 and 0 <= self.weight <= 1):
            raise ValueError("risk needs 0 <= alpha < 1 and 0 <= weight <= 1")

    @staticmethod
    def parse(text: str) -> Risk:
        """From ``cvar:ALPHA:WEIGHT``, e.g. ``cvar:0.9:0.5``."""
        parts = text.split(":")
        if len(parts) != 3 or parts[0] != "cvar":
            raise ValueError(f"'{text}': expected cvar:ALPHA:WEIGHT, e.g. cvar:0.9:0.5")
        try:
            return Risk(float(parts[1]), float(parts[2]))
        except ValueError as exc:
            raise ValueError(f"'{text}': {exc}") from None

    def __str__(self) -> str:
        return f"cvar:{self.alpha:g}:{self.weight:g}"
