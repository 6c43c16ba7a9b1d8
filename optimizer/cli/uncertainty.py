"""Commands ``dcplan uncertainty``, ``dcplan hedge`` and ``dcplan scenarios``.

``uncertainty FILE [--risk cvar:A:W] [--out DIR]`` prints RP, EV, EEV, VSS, WS, EVPI,
each plan's builds, expected cost, idle compute and unserved demand, and the regret table
(:mod:`optimizer.analysis.uncertainty`). Exit codes as ``dcplan solve``: 0 analysis done
(also when the mean-scenario plan turns out infeasible in some scenario — that is a
finding, printed), 2 invalid input, 3 the stochastic instance is infeasible, 4 no plan
within the limits, 5 the output exists (use --overwrite).

``hedge FILE [--mip-gap REL] [--time-limit S] [--out DIR]`` finds the stochastic plan by
progressive hedging (one model per scenario; :mod:`optimizer.analysis.hedging`) for
instances whose extensive form is too large; exit codes as ``dcplan solve``.

``scenarios BASE.yaml --demand low=0.2:0.3,base=1:0.5,high=3:0.2 [--regimes R.yaml]
[--sample N --seed S] OUT.yaml`` writes BASE with generated scenarios
(:mod:`optimizer.analysis.scenarios`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from optimizer.cli._common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_OUTPUT,
    FORMATS_HELP,
    UsageError,
    add_output_options,
    add_override_options,
    add_risk_option,
    add_solve_options,
    check_output,
    exit_code,
    load_with_overrides,
    progress_printer,
    risk,
    solve_options,
)

SCENARIO_FILE = f"instance with scenarios: {FORMATS_HELP}"


def register(sub: Any) -> None:
    """Add ``uncertainty``, ``hedge`` and ``scenarios`` to the sub-command parsers."""
    u = sub.add_parser("uncertainty", help="value of the stochastic solution and of information (VSS, EVPI, regret)",
                       description="Compare the stochastic plan with the mean-scenario plan, perfect information and "
                       "single-forecast plans; report RP, EV, EEV, VSS, WS, EVPI and regret per scenario.")
    u.add_argument("file", help=SCENARIO_FILE)
    add_risk_option(u, "also solve the risk-averse plan (1-WEIGHT) E + WEIGHT CVaR_ALPHA")
    add_output_options(u, out_help="write summary, plans, outcomes, regret and builds as CSV into DIR")
    reg = u.add_mutually_exclusive_group()
    reg.add_argument("--regret", dest="regret", action="store_true", default=None,
                     help="evaluate every single-scenario plan in every scenario (N x N solves); default up to 12 scenarios")
    reg.add_argument("--no-regret", dest="regret", action="store_false", help="skip the single-forecast plans")
    add_solve_options(u, diagnose_default=10.0)
    u.add_argument("--no-verify", dest="verify", action="store_false", help="skip re-checking every plan with the verifier")
    add_override_options(u)
    u.set_defaults(handler=uncertainty, output_kind="folder")

    h = sub.add_parser("hedge", help="stochastic plan by progressive hedging (scenario decomposition)",
                       description="Solve one model per scenario and drive their site builds to agreement "
                       "(progressive hedging). Prints the agreed builds, expected cost, a lower bound and the gap, and "
                       "each scenario's cost, idle capacity and unserved demand. For instances whose extensive form "
                       "(dcplan solve) is too large.")
    h.add_argument("file", help=SCENARIO_FILE)
    add_solve_options(h, diagnose_default=10.0, diagnose=False, mip_gap_default=0.01, each="the whole run",
                      mip_gap_help="target relative gap between the bounds (> 0)", progress=True,
                      progress_help="after every progressive-hedging iteration")
    h.add_argument("--sub-mip-gap", type=float, metavar="REL", help="gap of each scenario solve (default: half of --mip-gap)")
    h.add_argument("--max-iterations", type=int, default=50, metavar="N", help="progressive-hedging iterations (default 50)")
    h.add_argument("--rho", type=float, default=0.3, metavar="F", help="penalty factor, share of each build's cost (default 0.3)")
    h.add_argument("--bound-every", type=int, default=5, metavar="K",
                   help="Lagrangian lower bound every K iterations (one extra solve per scenario; 0: only the first)")
    h.add_argument("--no-verify", dest="verify", action="store_false", help="skip re-checking the final plans")
    h.add_argument("--executor", choices=("serial", "dask"), default="serial",
                   help="where the scenario models are solved: serial (default, this process) or dask (in parallel, "
                        "one group of scenarios per Dask worker)")
    h.add_argument("--workers", type=int, metavar="N",
                   help="Dask workers: of the local cluster (default: one per core), or how many of the --scheduler "
                        "cluster's workers to use (default: all)")
    h.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: start a local cluster); "
                        "dcplan must be installed on its workers")
    add_output_options(h, out_help="write summary.json, iterations.csv, builds.csv, outcomes.csv into DIR")
    add_override_options(h)
    h.set_defaults(handler=hedge, output_kind="folder")

    s = sub.add_parser("scenarios", help="generate scenarios: demand paths x policy regimes, or Monte-Carlo samples",
                       description="Write BASE with a new scenario set: the product of demand paths and policy regimes "
                       "(probabilities multiply), or N lognormal demand samples of equal probability.")
    s.add_argument("file", metavar="BASE", help=f"base instance: {FORMATS_HELP}")
    s.add_argument("out", metavar="OUT", help="instance file to write: .yaml or .yml (with a header comment), .json or .xlsx")
    s.add_argument("--demand", metavar="NAME=FACTOR:PROB,...", help="demand paths, e.g. low=0.2:0.3,base=1:0.5,high=3:0.2")
    s.add_argument("--growth", action="store_true", help="factors scale the growth beyond the first period, not the whole path")
    s.add_argument("--with-training", action="store_true", help="demand factors also scale every training job")
    s.add_argument("--regimes", metavar="FILE.yaml", help="policy regimes: [{id, probability, policies: {...}}, ...]")
    s.add_argument("--sample", type=int, metavar="N",
                   help="N Monte-Carlo samples of lognormal regional demand (instead of --demand)")
    s.add_argument("--seed", type=int, default=0, help="random seed of --sample (default 0)")
    s.add_argument("--sigma", type=float, default=0.5, help="log-std of each region's demand factor (default 0.5)")
    s.add_argument("--common-sigma", type=float, default=0.0, help="log-std of a factor shared by all regions (default 0)")
    add_output_options(s, out_help=None, what="OUT")
    add_override_options(s)
    s.set_defaults(handler=scenarios)


def _write_out(report: Any, args: argparse.Namespace, what: str) -> bool:
    """Write a report's tables into --out DIR; False (message on stderr) if DIR exists without --overwrite."""
    try:
        path = report.write(args.out, overwrite=args.overwrite)
    except FileExistsError as exc:
        print(str(exc), file=sys.stderr)
        return False
    print(f"\nwrote {what} to {path}")
    return True


def uncertainty(args: argparse.Namespace) -> int:
    """``dcplan uncertainty``: the value of the stochastic solution and of information."""
    from optimizer.analysis.uncertainty import value_of_information

    check_output(args.out, args.overwrite)
    rsk, options = risk(args), solve_options(args)
    inst = load_with_overrides(args)
    if not inst.scenarios:
        print(f"note: '{inst.name}' has no scenarios; every measure is 0 (add scenarios, e.g. with dcplan scenarios)")
    rep = value_of_information(inst, risk=rsk, forecast_plans=args.regret, options=options, verify=args.verify)
    print(rep.text())
    if args.out and rep.rp is not None and not _write_out(rep, args, "summary, plans, outcomes, regret and builds"):
        return EXIT_OUTPUT
    if rep.rp is not None:
        return EXIT_OK
    return exit_code(rep.status)


def hedge(args: argparse.Namespace) -> int:
    """``dcplan hedge``: the stochastic plan by progressive hedging."""
    from optimizer.analysis.hedging import HedgingOptions, progressive_hedging
    from optimizer.analysis.hedging_pool import PoolError

    check_output(args.out, args.overwrite)
    options = solve_options(args)
    if options.mip_gap <= 0:
        raise UsageError("invalid option: progressive hedging needs a target gap --mip-gap > 0")
    if args.scheduler and args.executor != "dask":
        raise UsageError("invalid option: --scheduler needs --executor dask")
    if args.workers is not None and args.executor != "dask":
        raise UsageError("invalid option: --workers needs --executor dask")
    try:
        hopts = HedgingOptions(sub_mip_gap=args.sub_mip_gap, max_iterations=args.max_iterations, rho_factor=args.rho,
                               bound_every=args.bound_every, verify=args.verify, executor=args.executor,
                               workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None
    inst = load_with_overrides(args)
    try:
        res = progressive_hedging(inst, options, hopts, progress_printer(args, inst.horizon.currency))
    except PoolError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    print(res.text())
    if args.out and res.best is not None:
        if not _write_out(res, args, "summary, iterations, builds and outcomes"):
            return EXIT_OUTPUT
    elif args.out:
        print(f"\nnothing written to {args.out}: there is no plan")
    return exit_code(res.status)


def scenarios(args: argparse.Namespace) -> int:
    """``dcplan scenarios``: write BASE with generated scenarios to OUT."""
    from optimizer.analysis.scenarios import (
        DemandPath,
        instance_file_format,
        load_regimes,
        sample_scenarios,
        scenario_product,
        write_instance,
    )
    from optimizer.instance.errors import InstanceError

    check_output(args.out, args.overwrite, "file")
    try:
        instance_file_format(args.out)
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
        raise  # reported by optimizer.cli.main with every problem listed (exit 2)
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None
    header = f"{inst.name}: generated by `dcplan scenarios` from {args.file}: {how}{' (growth only)' if args.growth else ''}."
    try:
        write_instance(inst, args.out, overwrite=args.overwrite, header=header)
    except FileExistsError:  # appeared since the check above
        print(f"{args.out} already exists; use --overwrite to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    print(f"wrote {args.out}: {len(inst.scenarios)} scenarios")
    for w in inst.scenarios[:20]:
        print(f"  {w.id:<28} p {w.probability:.4f}  {w.description or ''}")
    if len(inst.scenarios) > 20:
        print(f"  ... {len(inst.scenarios) - 20} more")
    return EXIT_OK
