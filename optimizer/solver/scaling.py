"""Objective scaling: the power of ten HiGHS sees the objective multiplied by, and the
warning for coefficient ranges wider than HiGHS resolves."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import highspy

    from optimizer.solver.session import HighsSession

OBJECTIVE_TARGET_MAX = 1e4
"""Largest objective coefficient HiGHS should see after scaling (see :func:`scale_objective`)."""

OBJECTIVE_FLOOR_MIN = 1e-3
"""Smallest non-zero objective coefficient HiGHS may see after scaling: 10,000 times its
dual feasibility tolerance (1e-7, absolute), so that a cost difference of 0.01 % between
two choices is still resolved. The floor wins over :data:`OBJECTIVE_TARGET_MAX`: a
coefficient range wider than both allow keeps the small costs exact and the large ones
large (slower, never wrong)."""

RESOLVABLE_RANGE = 1e12
"""Widest ratio of the largest to the smallest non-zero objective coefficient that HiGHS
resolves in double precision with its tolerances; beyond it the plan carries a warning
naming the extreme coefficients (see :func:`coefficient_range_warning`)."""


def objective_scale(costs: Any) -> float:
    """The power of ten applied to the objective before HiGHS sees it.

    It brings the largest coefficient to at most :data:`OBJECTIVE_TARGET_MAX`, but never
    below the factor that keeps the smallest non-zero coefficient at or above
    :data:`OBJECTIVE_FLOOR_MIN`, and never above 1 (costs are never scaled up).

    Costs in USD reach 1e9-1e10 per variable (a 500 MW campus) while HiGHS's dual
    feasibility tolerance is an absolute 1e-7: unscaled, the simplex spends most of its
    iterations on numerical noise (synth-L root LP: over 140 s unscaled, 14 s scaled by
    1e-6; ``benchmarks/README.md``). Scaled too far, small costs fall below that
    tolerance and HiGHS cannot tell choices apart: with a 1e12 USD penalty beside $10
    prices, scaling by 1e-8 returned a plan twice as dear as the optimum as "optimal".
    """
    c = np.abs(np.asarray(costs, dtype=float))
    c = c[np.isfinite(c) & (c > 0)]
    if not c.size:
        return 1.0
    top, bottom = float(c.max()), float(c.min())
    scale = 1.0 if top <= OBJECTIVE_TARGET_MAX else 10.0 ** -math.ceil(math.log10(top / OBJECTIVE_TARGET_MAX))
    floor = 10.0 ** math.ceil(math.log10(OBJECTIVE_FLOOR_MIN / bottom))
    return min(1.0, max(scale, floor))


def coefficient_range_warning(session: HighsSession) -> str | None:
    """A warning naming the variables with the largest and smallest non-zero objective
    coefficients when their ratio exceeds :data:`RESOLVABLE_RANGE` (None otherwise)."""
    lp = session.lp()
    c = np.abs(lp.cost)
    nz = np.flatnonzero(np.isfinite(c) & (c > 0))
    if nz.size < 2:
        return None
    hi, lo = int(nz[np.argmax(c[nz])]), int(nz[np.argmin(c[nz])])
    ratio = c[hi] / c[lo]
    if ratio <= RESOLVABLE_RANGE:
        return None
    return (f"objective coefficients span {ratio:.1e} (from {c[lo]:.3g} USD on {session.column_name(lo)} to "
            f"{c[hi]:.3g} USD on {session.column_name(hi)}), more than HiGHS resolves ({RESOLVABLE_RANGE:.0e}): "
            "costs that small may be treated as zero; lower the largest penalty or raise the smallest cost")


def scale_objective(h: highspy.Highs) -> float:
    """Scale the objective HiGHS holds by :func:`objective_scale` of its coefficients, in
    place (the constant too); returns the factor. Values read back from HiGHS (objective,
    dual bound, row duals) are divided by it; plan costs are evaluated on the Pyomo model
    and are never scaled."""
    lp = h.getLp()
    scale = objective_scale(lp.col_cost_)
    if scale != 1.0:
        n = lp.num_col_
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(lp.col_cost_, dtype=float) * scale)
        h.changeObjectiveOffset(float(lp.offset_) * scale)
    return scale
