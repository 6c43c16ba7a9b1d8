"""Sub-commands ``dcplan uncertainty`` and ``dcplan scenarios`` (registered in :mod:`optimizer.cli`).

``dcplan uncertainty FILE [--risk cvar:A:W] [--out DIR]`` prints RP, EV, EEV, VSS, WS, EVPI,
each plan's builds, expected cost, idle compute and unserved demand, and the regret table.
Exit codes as ``dcplan solve``: 0 analysis done (also when the mean-scenario plan turns out
infeasible in some scenario — that is a finding, printed), 2 invalid input, 3 the stochastic
instance is infeasible, 4 no plan within the limits, 5 the output exists (use --force).

``dcplan hedge FILE [--mip-gap REL] [--time-limit S] [--out DIR]`` finds the stochastic plan by
progressive hedging (one model per scenario; :mod:`optimizer.analysis.hedging`) for instances
whose extensive form is too large; exit codes as ``dcplan solve``.

``dcplan scenarios BASE.yaml --demand low=0.2:0.3,base=1:0.5,high=3:0.2 [--regimes R.yaml]
[--sample N --seed S] OUT.yaml`` writes BASE with generated scenarios
(:mod:`optimizer.analysis.scenarios`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import EXIT_INFEASIBLE, EXIT_INPUT, EXIT_NO_SOLUTION, EXIT_OK, EXIT_OUTPUT, add_override_options, load_with_overrides
from .instance.errors import InstanceError


def register(sub) -> None:
    u = sub.add_parser("uncertainty", help="value of the stochastic solution and of information (VSS, EVPI, regret)",
                       description="Compare the stochastic plan with the mean-scenario plan, perfect information and "
                       "single-forecast plans; report RP, EV, EEV, VSS, WS, EVPI and regret per scenario.")
    u.add_argument("file", help="instance file with scenarios (.yaml, .yml or .json)")
    u.add_argument("--risk", metavar="cvar:ALPHA:WEIGHT", help="also solve the risk-averse plan (1-WEIGHT) E + WEIGHT CVaR_ALPHA")
    u.add_argument("--out", metavar="DIR", help="write summary, plans, outcomes, regret and builds as CSV into DIR")
    u.add_argument("--force", action="store_true", help="replace --out DIR if it exists")
    reg = u.add_mutually_exclusive_group()
    reg.add_argument("--regret", dest="regret", action="store_true", default=None,
                     help="evaluate every single-scenario plan in every scenario (N x N solves); default up to 12 scenarios")
    reg.add_argument("--no-regret", dest="regret", action="store_false", help="skip the single-forecast plans")
    u.add_argument("--time-limit", type=float, metavar="SECONDS", help="limit for each solve")
    u.add_argument("--mip-gap", type=float, default=1e-4, metavar="REL", help="relative gap of each solve (default 1e-4)")
    u.add_argument("--threads", type=int, metavar="N", help="solver threads")
    u.add_argument("--no-verify", dest="verify", action="store_false", help="skip re-checking every plan with the verifier")
    add_override_options(u)
    u.set_defaults(handler=_uncertainty)

    h = sub.add_parser("hedge", help="stochastic plan by progressive hedging (scenario decomposition)",
                       description="Solve one model per scenario and drive their site builds to agreement "
                       "(progressive hedging). Prints the agreed builds, expected cost, a lower bound and the gap, and "
                       "each scenario's cost, idle capacity and unserved demand. For instances whose extensive form "
                       "(dcplan solve) is too large.")
    h.add_argument("file", help="instance file with scenarios (.yaml, .yml or .json)")
    h.add_argument("--mip-gap", type=float, default=0.01, metavar="REL", help="target gap between the bounds (default 0.01)")
    h.add_argument("--sub-mip-gap", type=float, metavar="REL", help="gap of each scenario solve (default: half of --mip-gap)")
    h.add_argument("--time-limit", type=float, metavar="SECONDS", help="limit for the whole run")
    h.add_argument("--max-iterations", type=int, default=50, metavar="N", help="progressive-hedging iterations (default 50)")
    h.add_argument("--rho", type=float, default=0.3, metavar="F", help="penalty factor, share of each build's cost (default 0.3)")
    h.add_argument("--bound-every", type=int, default=5, metavar="K",
                   help="Lagrangian lower bound every K iterations (one extra solve per scenario; 0: only the first)")
    h.add_argument("--threads", type=int, metavar="N", help="solver threads")
    h.add_argument("--no-verify", dest="verify", action="store_false", help="skip re-checking the final plans")
    h.add_argument("--out", metavar="DIR", help="write summary.json, iterations.csv, builds.csv, outcomes.csv into DIR")
    h.add_argument("--force", action="store_true", help="replace --out DIR if it exists")
    add_override_options(h)
    h.set_defaults(handler=_hedge)

    s = sub.add_parser("scenarios", help="generate scenarios: demand paths x policy regimes, or Monte-Carlo samples",
                       description="Write BASE with a new scenario set: the product of demand paths and policy regimes "
                       "(probabilities multiply), or N lognormal demand samples of equal probability.")
    s.add_argument("file", metavar="BASE", help="base instance file")
    s.add_argument("out", metavar="OUT.yaml", help="instance file to write")
    s.add_argument("--demand", metavar="NAME=FACTOR:PROB,...", help="demand paths, e.g. low=0.2:0.3,base=1:0.5,high=3:0.2")
    s.add_argument("--growth", action="store_true", help="factors scale the growth beyond the first period, not the whole path")
    s.add_argument("--with-training", action="store_true", help="demand factors also scale every training job")
    s.add_argument("--regimes", metavar="FILE.yaml", help="policy regimes: [{id, probability, policies: {...}}, ...]")
    s.add_argument("--sample", type=int, metavar="N", help="N Monte-Carlo samples of lognormal regional demand (instead of --demand)")
    s.add_argument("--seed", type=int, default=0, help="random seed of --sample (default 0)")
    s.add_argument("--sigma", type=float, default=0.5, help="log-std of each region's demand factor (default 0.5)")
    s.add_argument("--common-sigma", type=float, default=0.0, help="log-std of a factor shared by all regions (default 0)")
    s.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_override_options(s)
    s.set_defaults(handler=_scenarios)


def _uncertainty(args: argparse.Namespace) -> int:
    from .analysis.uncertainty import value_of_information
    from .model.context import Risk
    from .solve import INFEASIBLE

    if args.out and Path(args.out).exists() and not args.force:
        print(f"{args.out} already exists; use --force to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    try:
        risk = Risk.parse(args.risk) if args.risk else None
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    inst = load_with_overrides(args)
    if not inst.scenarios:
        print(f"note: '{inst.name}' has no scenarios; every measure is 0 (add scenarios, e.g. with dcplan scenarios)")
    rep = value_of_information(inst, risk=risk, forecast_plans=args.regret, time_limit=args.time_limit,
                               mip_gap=args.mip_gap, threads=args.threads, verify=args.verify)
    print(rep.text())
    if args.out and rep.rp is not None and not _write_out(rep, args, "summary, plans, outcomes, regret and builds"):
        return EXIT_OUTPUT
    if rep.rp is not None:
        return EXIT_OK
    return EXIT_INFEASIBLE if rep.status == INFEASIBLE else EXIT_NO_SOLUTION


def _write_out(report, args: argparse.Namespace, what: str) -> bool:
    """Write a report's tables into --out DIR; False (message on stderr) if DIR exists without --force."""
    try:
        path = report.write(args.out, force=args.force)
    except FileExistsError as exc:
        print(str(exc), file=sys.stderr)
        return False
    print(f"\nwrote {what} to {path}")
    return True


def _hedge(args: argparse.Namespace) -> int:
    from .analysis.hedging import HedgingOptions, progressive_hedging
    from .solve import FEASIBLE, INFEASIBLE, OPTIMAL

    if args.out and Path(args.out).exists() and not args.force:
        print(f"{args.out} already exists; use --force to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    try:
        opts = HedgingOptions(mip_gap=args.mip_gap, sub_mip_gap=args.sub_mip_gap, time_limit=args.time_limit,
                              max_iterations=args.max_iterations, rho_factor=args.rho, bound_every=args.bound_every,
                              threads=args.threads, verify=args.verify)
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    inst = load_with_overrides(args)
    res = progressive_hedging(inst, opts)
    print(res.text())
    if args.out and res.best is not None:
        if not _write_out(res, args, "summary, iterations, builds and outcomes"):
            return EXIT_OUTPUT
    elif args.out:
        print(f"\nnothing written to {args.out}: there is no plan")
    if res.status in (OPTIMAL, FEASIBLE):
        return EXIT_OK
    return EXIT_INFEASIBLE if res.status == INFEASIBLE else EXIT_NO_SOLUTION


def _scenarios(args: argparse.Namespace) -> int:
    from .analysis.scenarios import DemandPath, load_regimes, sample_scenarios, scenario_product, write_instance

    if Path(args.out).exists() and not args.force:
        print(f"{args.out} already exists; use --force to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    try:
        if args.sample is not None and args.demand:
            raise ValueError("give either --demand (paths) or --sample N (Monte Carlo), not both")
        if args.sample is None and not args.demand and not args.regimes:
            raise ValueError("give --demand, --regimes or --sample N")
        paths = DemandPath.parse_list(args.demand) if args.demand else None
        regimes = load_regimes(args.regimes) if args.regimes else None
        base = load_with_overrides(args)
        if base.scenarios:
            print(f"note: the {len(base.scenarios)} scenarios of '{base.name}' are replaced")
        if args.sample is not None:
            inst = sample_scenarios(base, args.sample, seed=args.seed, sigma=args.sigma, common_sigma=args.common_sigma,
                                    regimes=regimes, growth=args.growth)
            how = f"{args.sample} samples, seed {args.seed}, sigma {args.sigma:g}, common sigma {args.common_sigma:g}"
        else:
            inst = scenario_product(base, paths, regimes, growth=args.growth, with_training=args.with_training)
            how = " x ".join(x for x in (f"demand paths {args.demand}" if args.demand else "",
                                         f"regimes from {args.regimes}" if args.regimes else "") if x)
    except InstanceError:
        raise  # reported by cli.main with every problem listed (exit 2)
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    header = f"{inst.name}: generated by `dcplan scenarios` from {args.file}: {how}{' (growth only)' if args.growth else ''}."
    try:
        write_instance(inst, args.out, force=args.force, header=header)
    except FileExistsError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_OUTPUT
    print(f"wrote {args.out}: {len(inst.scenarios)} scenarios")
    for w in inst.scenarios[:20]:
        print(f"  {w.id:<28} p {w.probability:.4f}  {w.description or ''}")
    if len(inst.scenarios) > 20:
        print(f"  ... {len(inst.scenarios) - 20} more")
    return EXIT_OK
