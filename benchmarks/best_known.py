"""Best-known values of the synthetic instances, and the primal gap of a run against them.

``benchmarks/best_known.csv`` holds, per instance name and generator families (``all``: the
default of :mod:`benchmarks.synth`; ``core``: ``--families core``), the cheapest plan found so far
(``best_known_usd``, expected discounted cost), the best proven bound (``best_bound_usd``, empty
when not recorded), how they were obtained and when. A best-known value is an upper bound on the
optimum only; the bound is the proof of how far from the optimum it may be.

Definitions (the same as ``benchmarks/README.md``):

* **primal gap** = (objective − best known) / best known; negative when the run beat the record;
* **proven gap** = (objective − best bound) / objective, as HiGHS and ``summary.json`` report it.

Usage::

    python -m benchmarks.best_known out/summary.json [--families all|core]   # primal gap of a dcplan run
    python -m benchmarks.best_known --list
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("best_known.csv")


@dataclass(frozen=True)
class BestKnown:
    instance: str
    families: str
    best_known_usd: float
    best_bound_usd: float | None
    how: str
    date: str


def load(path: Path = TABLE) -> dict[tuple[str, str], BestKnown]:
    """The table, keyed by (instance name, families)."""
    out: dict[tuple[str, str], BestKnown] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            bound = row["best_bound_usd"].strip()
            rec = BestKnown(row["instance"], row["families"], float(row["best_known_usd"]),
                            float(bound) if bound else None, row["how"], row["date"])
            out[(rec.instance, rec.families)] = rec
    return out


def primal_gap(objective: float | None, best_known: float) -> float | None:
    """(objective − best known) / best known; None without a plan."""
    if objective is None:
        return None
    gap = (objective - best_known) / abs(best_known)
    return 0.0 if abs(gap) < 5e-7 else gap  # equal up to the digits stored


def lookup(instance: str, families: str = "all", table: dict[tuple[str, str], BestKnown] | None = None
           ) -> BestKnown | None:
    """The record of an instance, or None when it has none."""
    return (load() if table is None else table).get((instance, families))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.best_known", description=__doc__.split("\n")[0])
    ap.add_argument("summary", nargs="*", help="summary.json files written by `dcplan solve --out DIR`")
    ap.add_argument("--families", choices=["all", "core"], default="all",
                    help="generator families of the instances (default all)")
    ap.add_argument("--list", action="store_true", help="print the table")
    args = ap.parse_args(argv)
    table = load()
    if args.list or not args.summary:
        for rec in table.values():
            bound = "" if rec.best_bound_usd is None else f", bound {rec.best_bound_usd:.5e}"
            print(f"{rec.instance} ({rec.families}): {rec.best_known_usd:.5e}{bound}; {rec.how} ({rec.date})")
    code = 0
    for name in args.summary:
        d = json.loads(Path(name).read_text())
        rec = table.get((d.get("instance"), args.families))
        if rec is None:
            print(f"{name}: no best-known value for {d.get('instance')!r} ({args.families})")
            code = 1
            continue
        pg = primal_gap(d.get("objective"), rec.best_known_usd)
        proven = d.get("mip_gap")
        print(f"{name}: {d.get('instance')} objective {d.get('objective')}, "
              f"primal gap {'-' if pg is None else f'{100 * pg:.2f} %'} (best known {rec.best_known_usd:.5e}), "
              f"proven gap {'-' if proven is None else f'{100 * proven:.2f} %'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
