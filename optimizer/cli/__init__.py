"""The ``dcplan`` command (also ``python -m optimizer``).

Each module of :data:`COMMANDS` adds its sub-commands with ``register(subparsers)`` and
sets ``handler=function(args) -> exit code`` on their parsers; the shared options, the
exit codes and the one status → exit-code mapping are in :mod:`optimizer.cli._common`.
Building the parser imports no solver, pandas or plotting code: the handlers import what
they need.

Exit codes: 0 plan found (optimal or feasible) or command done, 2 invalid input or option,
3 infeasible, 4 no solution within the limits, 5 the output exists (use --overwrite), is
being written by another run or cannot be written, 6 the plan was rejected by the independent
verifier (--verify), 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM) before a plan was found. Ctrl-C or SIGTERM during a solve stops the search and
keeps the best plan found, which is printed and written as usual.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import ModuleType

from optimizer._version import __version__
from optimizer.cli import instances, plan, report, uncertainty, whatif
from optimizer.cli._common import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT, FLAGS_EPILOG, Parser, UsageError
from optimizer.files import OutputError, guard_output
from optimizer.instance.errors import InstanceError

COMMANDS: tuple[ModuleType, ...] = (plan, uncertainty, instances, report, whatif)
"""Modules that add sub-commands, in help order."""

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process it ended


def _parser() -> argparse.ArgumentParser:
    """The ``dcplan`` parser with every sub-command."""
    p = Parser(prog="dcplan", description="Plan AI compute where the power is.", epilog=FLAGS_EPILOG)
    p.add_argument("--version", action="version", version=f"dcplan {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``dcplan`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_INPUT)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        kind = getattr(args, "output_kind", None)
        out = getattr(args, "out", None) if kind else None
        with guard_output(out, overwrite=bool(getattr(args, "overwrite", False)), kind=kind or "folder"):
            return int(args.handler(args))
    except Terminated:
        print("terminated (SIGTERM): stopped before a plan was found; nothing was written", file=sys.stderr)
        return EXIT_TERMINATED
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except InstanceError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except OutputError as exc:  # exists, busy, not writable
        print(str(exc), file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM outside a solve (a solve stops its search and keeps its plan instead):
    raised so that temporaries are removed and locks released on the way out."""


def _terminated(_sig: int, _frame: object) -> None:
    raise Terminated


__all__ = ["COMMANDS", "main"]
