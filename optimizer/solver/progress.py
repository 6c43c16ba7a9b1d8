"""Progress of a running solve: HiGHS's callbacks, a history, and signals that stop the search.

:class:`Progress` is fed by HiGHS's MIP callbacks (``cbMipImprovingSolution`` for every new
incumbent, ``cbMipInterrupt`` while the search runs) and keeps a history of points
``{"seconds", "incumbent", "bound", "gap"}``: seconds since HiGHS started, the best plan's
cost and the best proven bound so far (unscaled, in the objective's currency; None while
there is none) and their relative gap (:func:`relative_gap`). A point is recorded for
every new incumbent, for a better bound at most every :func:`record_interval` seconds, and
at the end of the run (:meth:`Progress.finish`). Times increase strictly; the incumbent
only improves and the bound only tightens (a bound proven once stays proven), so for a
minimisation the incumbent never rises and the bound never falls.

A caller may pass ``report``: while :meth:`Progress.reporting` runs (around the solve), a
thread calls it with the latest state every :data:`REPORT_EVERY_S` seconds (the
``dcplan solve`` progress line). A thread, because HiGHS calls back rarely before the root
LP is solved (capb-5000: twice in its first 30 s) and releases the GIL while it runs.

:func:`ctrl_c_stops_search` is where the callbacks are subscribed: Ctrl-C or SIGTERM
stops the search at the next callback and keeps the incumbent.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ProgressPoint = dict[str, float | None]
"""One point of the history: ``seconds``, ``incumbent``, ``bound``, ``gap``."""

REPORT_EVERY_S = 5.0
"""Seconds between two calls of the ``report`` function of a :class:`Progress`."""


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """The relative gap of a plan's cost and a bound: |objective - bound| / max(1, |objective|)
    (None without both)."""
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(1.0, abs(objective))


def record_interval(seconds: float) -> float:
    """Least time between two recorded points that only improve the bound: 1 s, then 1 % of
    the time elapsed (a ten-hour solve keeps about 700 points)."""
    return max(1.0, seconds / 100.0)


class Progress:
    """The history of one HiGHS run (see the module docstring). ``scale`` is the factor the
    objective was multiplied by inside HiGHS; ``minimize`` its sense.

    A search of several HiGHS runs (``fix-and-optimize``, :mod:`optimizer.solver.strategy`)
    sets ``wall_clock`` (seconds since :meth:`reporting` began, not HiGHS's run time),
    sets ``paused`` while a run whose bound is not a bound of the whole model goes on (its
    callbacks are then ignored) and records what such runs proved with :meth:`note`."""

    def __init__(self, scale: float = 1.0, report: Callable[[ProgressPoint], None] | None = None, *,
                 minimize: bool = True) -> None:
        self.scale = scale
        self.report = report
        self.minimize = minimize
        self.history: list[ProgressPoint] = []
        self._incumbent: float | None = None
        self._bound: float | None = None
        self._t0 = time.perf_counter()
        self._last_record = -math.inf
        self.paused = False
        self.wall_clock = False

    # -- state
    def _value(self, x: Any) -> float | None:
        x = float(x)
        return x / self.scale if math.isfinite(x) else None

    def _better(self, new: float | None, old: float | None, *, bound: bool) -> bool:
        if new is None:
            return False
        if old is None:
            return True
        return (new > old) if (bound == self.minimize) else (new < old)

    def point(self, seconds: float) -> ProgressPoint:
        """The state now: the best incumbent and bound so far, their gap."""
        return {"seconds": round(seconds, 3), "incumbent": self._incumbent, "bound": self._bound,
                "gap": relative_gap(self._incumbent, self._bound)}

    def elapsed(self) -> float:
        """Seconds since :meth:`reporting` began (or since the history was made)."""
        return time.perf_counter() - self._t0

    def _seconds(self, data: Any) -> float:
        if self.wall_clock:
            return time.perf_counter() - self._t0
        t = float(getattr(data, "running_time", 0.0) or 0.0)
        return t if t > 0 else time.perf_counter() - self._t0

    def _record(self, seconds: float) -> None:
        seconds = round(seconds, 3)
        if self.history and self._last_record >= seconds:  # same instant: the later state wins
            self.history[-1] = self.point(self._last_record)
        else:
            self.history.append(self.point(seconds))
            self._last_record = seconds

    # -- callbacks
    def observe(self, data: Any, *, incumbent: float | None = None) -> None:
        """A MIP callback's output (``event.data_out``); ``incumbent`` is the objective of a
        new incumbent (``cbMipImprovingSolution``), in HiGHS's units. Ignored while ``paused``."""
        if self.paused:
            return
        t = self._seconds(data)
        new = self._value(incumbent if incumbent is not None else data.mip_primal_bound)
        improved = self._better(new, self._incumbent, bound=False)
        if improved:
            self._incumbent = new
        b = self._value(data.mip_dual_bound)
        tightened = self._better(b, self._bound, bound=True)
        if tightened:
            self._bound = b
        if improved or (tightened and t - self._last_record >= record_interval(t)):
            self._record(t)

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Restart the clock; while the block runs (the solve), call ``report`` with the
        latest state every :data:`REPORT_EVERY_S` seconds from a background thread."""
        self._t0 = time.perf_counter()
        if self.report is None:
            yield
            return
        report = self.report
        done = threading.Event()

        def beat() -> None:
            while not done.wait(REPORT_EVERY_S):
                try:
                    report(self.point(time.perf_counter() - self._t0))
                except Exception:  # noqa: BLE001 - a failing report (closed stderr) must not stop the solve
                    return

        ticker = threading.Thread(target=beat, name="dcplan-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()

    def finish(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        """The end of the run: HiGHS's final incumbent and bound (unscaled; infinite: none),
        recorded as the last point."""
        self.note(seconds, incumbent, bound)

    def note(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        """A plan of the whole model and a bound proven at ``seconds`` (unscaled; None or
        infinite: none), kept if better and recorded as a point."""
        incumbent = incumbent if incumbent is not None and math.isfinite(incumbent) else None
        bound = bound if bound is not None and math.isfinite(bound) else None
        if self._better(incumbent, self._incumbent, bound=False):
            self._incumbent = incumbent
        if self._better(bound, self._bound, bound=True):
            self._bound = bound
        self._record(max(seconds, self._last_record))


class Deadline:
    """A wall-clock time at which the callbacks stop HiGHS. HiGHS checks its own
    ``time_limit`` rarely in parts of a large search (synth-L: a 120 s stage ran 194 s, a
    300 s solve 436 s); the simplex, IPM and MIP callbacks come every few iterations, so
    checking the clock there keeps a run within its limit except inside presolve, which
    calls back nothing. :attr:`hit` tells that the deadline, not the user, stopped the run."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.seconds: float | None = None
        self.hit = False

    def start(self, seconds: float | None) -> None:
        """Arm the deadline ``seconds`` from now (None: no deadline)."""
        self.at = None if seconds is None else time.perf_counter() + float(seconds)
        self.seconds = None if seconds is None else float(seconds)
        self.hit = False

    def overrun(self, after_s: float, share: float) -> bool:
        """Whether more than ``after_s`` plus ``share`` of the armed seconds have passed since
        the deadline (a run that should have stopped and has not)."""
        if self.at is None or self.seconds is None:
            return False
        return time.perf_counter() > self.at + after_s + share * self.seconds

    def passed(self) -> bool:
        """Whether the deadline has passed (and so stops the run)."""
        if not self.hit and self.at is not None and time.perf_counter() >= self.at:
            self.hit = True
        return self.hit


@contextmanager
def ctrl_c_stops_search(h: Any, progress: Progress | None = None,
                        deadline: Deadline | None = None) -> Iterator[list[str]]:
    """While HiGHS runs, Ctrl-C (SIGINT) or SIGTERM (what batch schedulers and container
    stops send) asks it to stop at the next callback and keep its incumbent, instead of
    raising inside the solver and losing the plan. The list it yields holds the name of
    the signal that stopped the search (empty if none did); a second signal gives up at
    once (KeyboardInterrupt). With ``progress``, the same callbacks feed it (and a new
    incumbent is recorded from ``cbMipImprovingSolution``); with ``deadline``, they stop the
    search once it has passed (:class:`Deadline`)."""
    flag: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        if progress is None and deadline is None:
            yield flag
            return
        with _subscribed(h, flag, progress, deadline):
            yield flag
        return

    def on_signal(sig: int, _frame: Any) -> None:
        if flag:  # a second signal: give up at once
            raise KeyboardInterrupt
        flag.append("Ctrl-C" if sig == signal.SIGINT else signal.Signals(sig).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _subscribed(h, flag, progress, deadline):
            yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _subscribed(h: Any, flag: list[str], progress: Progress | None, deadline: Deadline | None) -> Iterator[None]:
    """The interrupt callbacks (and with ``progress`` the incumbent callback), subscribed
    while the block runs."""

    # the flag is written on every call, False included: HiGHS keeps the callback's input
    # between runs, so an interrupt once asked for would stop every later run at its first
    # callback (a stage after a run the deadline stopped)
    def stop(event: Any) -> None:
        event.interrupt(bool(flag) or (deadline is not None and deadline.passed()))

    def mip_stop(event: Any) -> None:
        if progress is not None:
            progress.observe(event.data_out)
        event.interrupt(bool(flag) or (deadline is not None and deadline.passed()))

    def improved(event: Any) -> None:
        assert progress is not None
        progress.observe(event.data_out, incumbent=event.data_out.objective_function_value)

    subscribed = [(h.cbMipInterrupt, mip_stop), (h.cbSimplexInterrupt, stop), (h.cbIpmInterrupt, stop)]
    if progress is not None:
        subscribed.append((h.cbMipImprovingSolution, improved))
    for ev, fn in subscribed:
        ev.subscribe(fn)
    try:
        yield
    finally:
        for ev, fn in subscribed:
            ev.unsubscribe(fn)
