"""Domestic-share targets re-checked (mirrors the share targets of :mod:`optimizer.model.policy`).

:func:`check_share_targets` counts, for every target in force, the installed compute of
the units in service at the sites of its jurisdiction under the target's measure: a hard
target's domestic share must reach its minimum (``domestic_share``), also where the
installed compute is fixed (existing units only); a soft one's shortfall is charged its
penalty. Energy subsidies, the model's other policies, are checked with site power in
:mod:`optimizer.results.verify.power`, since they use its loads.
"""

from __future__ import annotations

from optimizer.results.verify.costs import Ledger
from optimizer.results.verify.fleet import Fleet
from optimizer.results.verify.violations import Collector, Subject
from optimizer.results.verify.world import World, fmt


def check_share_targets(W: World, fleet: Fleet, ledger: Ledger, out: Collector) -> None:
    """Check hard share targets; adds soft targets' shortfall penalties."""
    for w in W.scenarios:
        for (label, jur, p, tau, hard, penalty, sites, measure) in w.targets:
            lhs, tot = fleet.domestic_excess(W, sites, p, w.id, tau, measure)
            if hard:
                if lhs < -out.slack(tot):
                    share = lhs / tot + tau
                    out.bad(Subject("policy", f"'{label}' in {jur} {p} scenario {w.id}", head="share_target"),
                            "domestic_share", f"domestic share {fmt(share)} < {fmt(tau)}", share, tau)
            elif penalty:
                ledger.annual("share_shortfall_penalty", p, w.id, penalty * max(0.0, -lhs))
