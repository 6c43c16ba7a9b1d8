"""What every ``dcplan`` sub-command shares: exit codes, option groups and their parsing.

Options are declared once here and added to each command's parser:

* :func:`add_solve_options` — ``--time-limit``, ``--mip-gap``, ``--threads``, ``--seed``,
  ``--strategy``, ``--diagnose-time-limit`` (and ``--write-model`` / ``--verbose`` / ``--progress`` where
  asked), read back by :func:`solve_options` into one validated
  :class:`~optimizer.options.SolveOptions` (and by :func:`progress_printer`);
* :func:`add_decision_options` — ``--force KIND=ID`` / ``--forbid KIND=ID`` (repeatable),
  read back by :func:`decisions`;
* :func:`add_override_options` — ``--set`` / ``--variant``, applied by :func:`load_with_overrides`;
* :func:`add_output_options` — ``--out``, ``--overwrite`` (and ``--format``), checked by
  :func:`check_output`;
* :func:`add_risk_option` — ``--risk cvar:ALPHA:WEIGHT``, read back by :func:`risk`.

``--overwrite`` replaces an existing output; ``--force`` only imposes decisions. A bare
``--force`` (its old meaning, "replace the output") or one whose value is not ``KIND=ID``
stops the command line with exit 2 and a message that says so.

Option problems raise :class:`UsageError`, which :func:`optimizer.cli.main` prints and
turns into exit 2; an output that exists raises :class:`~optimizer.files.OutputExistsError`
(exit 5). Nothing heavy (Pyomo, HiGHS, pandas) is imported here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.files import Kind
from optimizer.files import check_output as files_check_output
from optimizer.instance.decisions import Decisions
from optimizer.options import STRATEGIES, Risk, SolveOptions, Status

if TYPE_CHECKING:
    from optimizer.instance.schema import Instance

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4
EXIT_OUTPUT = 5
EXIT_REJECTED = 6  # a plan was found but the independent verifier rejected it

KINDS_HELP = "site=ID, option=SITE:OPTION, system=ID, family=ID, site_system=SITE:SYSTEM"
FORCE_SPLIT = (f"--force needs KIND=ID ({KINDS_HELP}) and imposes a decision; "
               "--overwrite replaces an existing output")
FLAGS_EPILOG = ("--overwrite replaces an existing output; --force KIND=ID / --forbid KIND=ID impose a decision. "
                "(Before, a bare --force also replaced the output: it is now an error.)")
FORMATS_HELP = ".yaml, .yml, .json, an .xlsx workbook or a folder of CSV tables"
"""Every input format an instance may come in; in the help of every argument that reads one."""
INSTANCE_HELP = f"instance: {FORMATS_HELP}"
STRATEGY_HELP = ("how the MIP is searched: direct = one HiGHS branch-and-bound on the whole model; "
                 "fix-and-optimize = solve the LP relaxation, open the site builds/phases whose LP value is >= 0.5, "
                 "solve the MIP with those fixed for 30 %% of the time limit, then start the full MIP from its plan "
                 "for the rest (status and bound are the full MIP's); relax-and-fix = the MIP with only the site "
                 "decisions integer (its bound is valid), then with those fixed the job placements, then the rest, "
                 "then the full MIP from that plan (large portfolios: synth-M 1.0 %% proven in 107 s vs direct 5.0 %% "
                 "at 120 s); auto (default) = relax-and-fix for a model with at least 2,000 integer columns solved with "
                 "--time-limit of 60 s or more, else direct (see benchmarks/README.md)")
"""``--strategy``'s help (``%%`` is argparse's percent sign)."""


class UsageError(Exception):
    """An option on the command line is invalid (printed as is; exit 2)."""


def exit_code(status: Status | str) -> int:
    """The exit code of a status: optimal/feasible 0, infeasible 3, no solution 4, rejected
    by the verifier 6."""
    s = Status(status)
    if s.has_solution:
        return EXIT_OK
    if s is Status.REJECTED:
        return EXIT_REJECTED
    return EXIT_INFEASIBLE if s is Status.INFEASIBLE else EXIT_NO_SOLUTION


# ----------------------------------------------------------------------------- solve options
def add_solve_options(
    parser: argparse.ArgumentParser,
    *,
    diagnose_default: float | None = 60.0,
    mip_gap_default: float = 1e-4,
    mip_gap_help: str | None = None,
    each: str = "each solve",
    write_model: bool = False,
    verbose: bool = False,
    diagnose: bool = True,
    progress: bool = False,
    progress_help: str | None = None,
) -> None:
    """Declare the solver settings; ``each`` names what they apply to ("each solve", "the run").

    ``diagnose_default`` is the default of ``--diagnose-time-limit`` (the flag is left out,
    keeping the default, with ``diagnose=False``: for commands that never diagnose).
    """
    g = parser.add_argument_group("solver settings")
    g.add_argument("--time-limit", type=float, metavar="SECONDS", help=f"time limit of {each} (default: none)")
    g.add_argument("--mip-gap", type=float, default=mip_gap_default, metavar="REL",
                   help=f"{mip_gap_help or f'relative optimality gap of {each}'} (default {mip_gap_default:g})")
    g.add_argument("--threads", type=int, metavar="N", help="solver threads (default: HiGHS's choice)")
    g.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    g.add_argument("--strategy", default="auto", metavar="|".join(STRATEGIES), help=STRATEGY_HELP)
    if diagnose:
        g.add_argument("--diagnose-time-limit", type=float, default=diagnose_default, metavar="SECONDS",
                       help="time limit of the elastic re-solve that explains an infeasible instance "
                       f"(default {'none' if diagnose_default is None else f'{diagnose_default:g}'})")
    else:
        parser.set_defaults(diagnose_time_limit=diagnose_default)
    if write_model:
        g.add_argument("--write-model", metavar="FILE.mps", help="write the built model (MPS or LP by extension)")
    if verbose:
        g.add_argument("--verbose", action="store_true", help="show the HiGHS log")
    if progress:
        when = progress_help or f"at most every {PROGRESS_EVERY_S:g} s while HiGHS searches"
        g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help=f"print a progress line to stderr {when}: "
                       "seconds, best plan's cost, best bound and their gap (default: on when stderr is a terminal, "
                       "unless --quiet or --verbose)")


def solve_options(args: argparse.Namespace) -> SolveOptions:
    """The validated :class:`SolveOptions` of the command line (:class:`UsageError` if out of range)."""
    try:
        return SolveOptions(time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads, seed=args.seed,
                            write_model=getattr(args, "write_model", None), verbose=getattr(args, "verbose", False),
                            diagnose_time_limit=args.diagnose_time_limit, verify=bool(getattr(args, "verify", False)),
                            strategy=getattr(args, "strategy", "auto"))
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None


PROGRESS_EVERY_S = 5.0
"""Seconds between two progress lines (``optimizer.solver.progress.REPORT_EVERY_S``)."""


def progress_printer(args: argparse.Namespace, currency: str = "USD") -> Callable[[dict[str, float | None]], None] | None:
    """The function that prints ``dcplan solve``'s progress lines to stderr, or None when
    they are not wanted: ``--progress`` / ``--no-progress``, else only when stderr is a
    terminal and neither ``--quiet`` nor ``--verbose`` is given."""
    wanted = getattr(args, "progress", None)
    if wanted is None:
        wanted = sys.stderr.isatty() and not getattr(args, "quiet", False) and not getattr(args, "verbose", False)
    if not wanted:
        return None

    def show(point: dict[str, float | None]) -> None:
        print(progress_line(point, currency), file=sys.stderr, flush=True)

    return show


def progress_line(point: dict[str, float | None], currency: str = "USD") -> str:
    """``progress   12 s  plan 13.656 M USD  bound 13.601 M USD  gap 0.40 %`` (``n/a`` while
    there is no plan or bound)."""
    from optimizer.results.format import money, pct

    gap = point.get("gap")
    return (f"progress {point.get('seconds') or 0.0:7.0f} s  plan {money(point.get('incumbent'), currency, decimals=3)}  "
            f"bound {money(point.get('bound'), currency, decimals=3)}  gap {'n/a' if gap is None else pct(100 * gap, 2)}")


# ----------------------------------------------------------------------------- parser
class Formatter(argparse.HelpFormatter):
    """Shows ``--force KIND=ID`` (not ``[KIND=ID]``): its value is optional only so that a
    bare ``--force`` gets a clear message instead of argparse's."""

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if isinstance(action, _DecisionAction):
            return str(action.metavar or default_metavar)
        return super()._format_args(action, default_metavar)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`Formatter`; sub-command parsers inherit the class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)


# ----------------------------------------------------------------------------- decisions
class _DecisionAction(argparse.Action):
    """``--force KIND=ID`` / ``--forbid KIND=ID``, repeatable; the value is checked at once,
    so a bare ``--force`` or ``--force FILE`` is reported as such (not as a missing FILE)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        text = values if isinstance(values, str) else None
        try:
            if text is None:
                raise ValueError(f"{option_string} needs KIND=ID ({KINDS_HELP})")
            Decisions.parse([text])
        except ValueError as exc:
            raise argparse.ArgumentError(self, self._message(text, str(exc))) from None
        items = list(getattr(namespace, self.dest, None) or [])
        items.append(text)
        setattr(namespace, self.dest, items)

    def _message(self, text: str | None, problem: str) -> str:
        if self.dest != "force":
            return problem
        if text is None:
            return FORCE_SPLIT
        if "=" not in text:
            return f"'{text}' is not KIND=ID: {FORCE_SPLIT}"
        return f"{problem}; {FORCE_SPLIT}"


class _NoForceAction(argparse.Action):
    """``--force`` on a command that imposes no decisions: its old meaning was "replace the output"."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        raise argparse.ArgumentError(self, f"{parser.prog} imposes no decisions, so it has no --force "
                                     "(--force KIND=ID imposes a decision in solve, sweep, marginal and explain); "
                                     "--overwrite replaces an existing output")


def add_decision_options(parser: argparse.ArgumentParser, what: str = "force a choice") -> None:
    """Declare ``--force KIND=ID`` and ``--forbid KIND=ID`` (repeatable)."""
    g = parser.add_argument_group("decisions")
    g.add_argument("--force", action=_DecisionAction, nargs="?", default=None, metavar="KIND=ID",
                   help=f"{what} ({KINDS_HELP}; repeatable). Does not replace the output: that is --overwrite")
    g.add_argument("--forbid", action=_DecisionAction, nargs="?", default=None, metavar="KIND=ID",
                   help="forbid a choice (same kinds as --force; repeatable)")


def decisions(args: argparse.Namespace) -> Decisions | None:
    """The imposed decisions (None if there are none)."""
    force: list[str] = getattr(args, "force", None) or []
    forbid: list[str] = getattr(args, "forbid", None) or []
    if not force and not forbid:
        return None
    try:
        return Decisions.parse(force, forbid)
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None


# ----------------------------------------------------------------------------- risk
def add_risk_option(parser: argparse.ArgumentParser,
                    help: str = "minimise (1-WEIGHT) expected cost + WEIGHT CVaR_ALPHA") -> None:
    """Declare ``--risk cvar:ALPHA:WEIGHT``."""
    parser.add_argument("--risk", metavar="cvar:ALPHA:WEIGHT", help=help)


def risk(args: argparse.Namespace) -> Risk | None:
    """The risk measure of ``--risk`` (None without it)."""
    if not getattr(args, "risk", None):
        return None
    try:
        return Risk.parse(args.risk)
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None


# ----------------------------------------------------------------------------- overrides
def add_override_options(parser: argparse.ArgumentParser) -> None:
    """Declare ``--set`` and ``--variant``: what-if changes to the instance before solving."""
    g = parser.add_argument_group("instance changes")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="change a field by its path, e.g. regions[shanghai].demand_pflops*=1.5 (repeatable)")
    g.add_argument("--variant", metavar="NAME[,NAME]", help="apply the instance's named override sets, in order")


def load_with_overrides(args: argparse.Namespace, decisions: Decisions | None = None) -> Instance:
    """Load ``args.file`` and apply ``--variant`` then ``--set``; with ``decisions``, check that
    every ``--force``/``--forbid`` id exists in the result (InstanceError if anything is invalid)."""
    from optimizer.instance.load import load_instance
    from optimizer.instance.overrides import apply_overrides, apply_variants

    inst = load_instance(args.file)
    if getattr(args, "variant", None):
        inst = apply_variants(inst, [v.strip() for v in args.variant.split(",") if v.strip()])
    if getattr(args, "overrides", None):
        inst = apply_overrides(inst, args.overrides)
    if decisions is not None:
        decisions.check(inst)
    return inst


# ----------------------------------------------------------------------------- output
def add_output_options(
    parser: argparse.ArgumentParser,
    *,
    out_help: str | None,
    what: str = "--out DIR",
    metavar: str = "DIR",
    required: bool = False,
    formats: Sequence[str] = (),
    format_help: str = "",
    decisions: bool = False,
) -> None:
    """Declare ``--out`` (unless ``out_help`` is None: the output is positional), ``--overwrite``
    (replace ``what`` if it exists) and ``--format`` (if ``formats``). Without ``decisions`` the
    command also gets a hidden ``--force`` that explains the flag split."""
    g = parser.add_argument_group("output")
    if out_help is not None:
        g.add_argument("--out", required=required, metavar=metavar, help=out_help)
    if formats:
        g.add_argument("--format", choices=tuple(formats), default=formats[0], help=format_help)
    g.add_argument("--overwrite", action="store_true", help=f"replace {what} if it exists")
    if not decisions:
        g.add_argument("--force", action=_NoForceAction, nargs="?", help=argparse.SUPPRESS)


def check_output(out: str | Path | None, overwrite: bool, kind: Kind = "folder") -> None:
    """Refuse, before any work, an output that exists (without ``--overwrite``), is of the
    other kind, or cannot be written (:func:`optimizer.files.check_output`; exit 5)."""
    if out is not None:
        files_check_output(out, overwrite=overwrite, kind=kind)
