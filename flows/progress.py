"""Live progress of a running stage: units done / total, records/s and ETA, from the completion
records the workers write (pipelines/progress.py), polled by the driver while the pipeline runs.

    plan = files_plan(staging, files)                 # what the stage will count
    run_beam(cfg, stage, build, progress=plan)        # starts a ProgressWatcher around the run

The watcher sends each snapshot to
- the log of the stage (a Prefect task's logger in a flow run): one line at most every
  `orchestration.progress_log_seconds` (10 s by default), so a long stage shows it is alive;
- the CLI's progress bars (`progress_display`), one bar per running stage, when the CLI runs in a
  terminal. Stages running at the same time each get their own bar.

ETA comes from the fraction done, weighted by the units' sizes when known (input bytes), so one
large file among small ones does not make the estimate jump.
"""

from __future__ import annotations

import contextvars
import logging
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from pipelines.progress import ProgressRecords, read_progress

log = logging.getLogger("xlcorpus")

PROGRESS_DIR = "_progress"
DEFAULT_LOG_SECONDS = 10.0


def progress_dir(staging: str) -> str:
    """Where a stage's workers write their completion records: inside the run's staging folder, so
    they go away with it and two runs never mix."""
    return posixpath.join(staging, PROGRESS_DIR)


@dataclass
class ProgressPlan:
    """What a stage counts: its input units (unit → weight, e.g. bytes) and where their records land."""

    directory: str
    units: dict[str, int]
    label: str = "files"


def _size(path: str) -> int:
    if "://" in path:
        return 1  # an object store lookup per file is not worth an ETA weight
    try:
        return max(1, os.path.getsize(path))
    except OSError:
        return 1


def files_plan(staging: str, files: list[str], label: str = "files") -> ProgressPlan:
    """A plan whose units are the given input files, weighted by their size."""
    return ProgressPlan(progress_dir(staging), {f: _size(f) for f in files}, label)


@dataclass
class Snapshot:
    stage: str
    label: str
    done: int  # units (or sub-units) finished
    total: int
    records: int
    fraction: float  # 0..1, weighted
    elapsed: float  # seconds since the stage's pipeline started
    finished: bool = False  # the pipeline finished successfully
    closed: bool = False  # the last snapshot of this run (finished or failed)

    @property
    def rate(self) -> float:
        return self.records / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.finished:
            return 0.0
        if self.fraction <= 0:
            return None
        return self.elapsed * (1 - self.fraction) / self.fraction

    def eta_text(self) -> str:
        eta = self.eta_seconds
        if eta is None:
            return "ETA unknown"
        return "ETA " + _clock(eta)

    def line(self) -> str:
        return (f"[{self.stage}] {self.done}/{self.total} {self.label} ({self.fraction:.0%}), "
                f"{self.records:,} records, {self.rate:,.0f} records/s, {self.eta_text()}")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def snapshot(stage: str, plan: ProgressPlan, recs: ProgressRecords, elapsed: float) -> Snapshot:
    """Units done / total and the weighted fraction, from the records read so far."""
    subs_done: dict[str, int] = {}
    records = 0
    for _unit, (n, parent) in recs.done.items():
        records += n
        if parent:
            subs_done[parent] = subs_done.get(parent, 0) + 1
    done = total = 0
    weighted = 0.0
    for unit, weight in plan.units.items():
        if unit in recs.planned:  # read as sub-units: count those
            n_sub = max(1, recs.planned[unit])
            got = min(subs_done.get(unit, 0), n_sub)
            total += n_sub
            done += got
            weighted += weight * got / n_sub
        else:
            total += 1
            if unit in recs.done:
                done += 1
                weighted += weight
    all_weight = sum(plan.units.values()) or 1
    return Snapshot(stage, plan.label, done, total, records, min(1.0, weighted / all_weight), elapsed)


Sink = Callable[[Snapshot], None]


class LogSink:
    """Logs a snapshot at most every `every` seconds (the first after `every` seconds)."""

    def __init__(self, log_fn: Callable[[str], None], every: float = DEFAULT_LOG_SECONDS):
        self.log_fn, self.every = log_fn, every
        self._last = time.monotonic()

    def __call__(self, snap: Snapshot) -> None:
        now = time.monotonic()
        if snap.closed or now - self._last < self.every:
            return  # the stage's "done" line says the rest
        self._last = now
        self.log_fn(snap.line())


class ProgressWatcher:
    """A thread that polls a plan's folder and feeds snapshots to sinks until stopped."""

    def __init__(self, stage: str, plan: ProgressPlan, sinks: list[Sink], poll_seconds: float | None = None):
        self.stage, self.plan, self.sinks = stage, plan, sinks
        # Listing an object store costs a request: poll it less often than a local folder.
        self.poll = poll_seconds if poll_seconds is not None else (10.0 if "://" in plan.directory else 0.5)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._poll_error: str | None = None
        self.last: Snapshot | None = None

    def _snap(self, finished: bool = False) -> Snapshot:
        try:
            recs = read_progress(self.plan.directory)
        except Exception as e:  # progress is for the eyes only: never fail a stage over it, but say so once
            if self._poll_error is None:
                self._poll_error = f"{type(e).__name__}: {e}"
                log.warning("[%s] cannot read progress records in %s: %s", self.stage, self.plan.directory,
                            self._poll_error)
            recs = ProgressRecords({}, {})
        snap = snapshot(self.stage, self.plan, recs, time.monotonic() - self._t0)
        snap.finished = finished
        self.last = snap
        return snap

    def _emit(self, snap: Snapshot) -> None:
        for sink in self.sinks:
            sink(snap)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            self._emit(self._snap())

    def start(self) -> ProgressWatcher:
        self._t0 = time.monotonic()
        self._emit(self._snap())
        # The thread runs in a copy of this context: Prefect's settings (the API URL of the CLI's server)
        # and the task run the log lines belong to live in context variables, which threads do not inherit.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._loop,), name=f"progress-{self.stage}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, finished: bool) -> Snapshot:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        snap = self._snap(finished=finished)
        snap.closed = True
        if finished:  # every unit is through: show a full bar even if a record was never written
            snap.done, snap.fraction = snap.total, 1.0
        self._emit(snap)
        return snap


# --- who gets the snapshots: the stage's logger (set per stage task) and the CLI's display ---------


@dataclass
class Reporter:
    log_fn: Callable[[str], None]
    log_every: float = DEFAULT_LOG_SECONDS
    extra_sinks: list[Sink] = field(default_factory=list)


_REPORTER: ContextVar[Reporter | None] = ContextVar("xlcorpus_progress_reporter", default=None)


@contextmanager
def reporting(log_fn: Callable[[str], None], log_every: float = DEFAULT_LOG_SECONDS,
              extra_sinks: list[Sink] | None = None) -> Iterator[Reporter]:
    """Within this block (one stage), progress lines go to log_fn at most every log_every seconds."""
    reporter = Reporter(log_fn, log_every, list(extra_sinks or []))
    token = _REPORTER.set(reporter)
    try:
        yield reporter
    finally:
        _REPORTER.reset(token)


def sinks_for_stage() -> list[Sink]:
    reporter = _REPORTER.get() or Reporter(log.info)
    sinks: list[Sink] = [LogSink(reporter.log_fn, reporter.log_every), *reporter.extra_sinks]
    display = _DISPLAY
    if display is not None:
        sinks.append(display.update)
    return sinks


@contextmanager
def watch(stage: str, plan: ProgressPlan | None) -> Iterator[ProgressWatcher | None]:
    """Show the progress of `plan` while the block runs (nothing when plan is None)."""
    if plan is None:
        yield None
        return
    watcher = ProgressWatcher(stage, plan, sinks_for_stage()).start()
    ok = False
    try:
        yield watcher
        ok = True
    finally:
        watcher.stop(finished=ok)


class ProgressDisplay:
    """rich progress bars on the CLI's console, one per running data stage.

    The bars are live only while at least one stage is being watched: between waves of stages (and
    while the trainer shows its own bar) nothing is live, so two live displays never fight.
    Prefect's console log handlers write to the stream they were given at start-up; while the bars
    are live they are pointed at rich's redirected stream, so log lines print above the bars.
    """

    def __init__(self, console):
        self.console = console
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._active: set[str] = set()
        self._saved: list = []
        self._lock = threading.Lock()

    def _start(self) -> None:
        import sys

        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description:<9}"), BarColumn(), TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[eta]}"), TimeElapsedColumn(),
            console=self.console, redirect_stdout=True, redirect_stderr=True,
        )
        self._progress.start()
        self._tasks = {}
        self._saved = [(h, h.console.file) for h in _prefect_console_handlers()]
        for h, _ in self._saved:
            h.console.file = sys.stderr  # rich's proxy while the bars are live

    def _stop(self) -> None:
        for h, f in self._saved:
            h.console.file = f
        self._saved = []
        if self._progress is not None:
            self._progress.stop()
        self._progress = None

    def update(self, snap: Snapshot) -> None:
        fields = {"counts": f"{snap.done}/{snap.total} {snap.label}", "rate": f"{snap.rate:,.0f} rec/s",
                  "eta": "done" if snap.finished else "failed" if snap.closed else snap.eta_text()}
        with self._lock:
            if snap.stage not in self._active and snap.closed:
                return  # already closed
            if self._progress is None:
                self._start()
            self._active.add(snap.stage)
            if snap.stage not in self._tasks:
                self._tasks[snap.stage] = self._progress.add_task(snap.stage, total=1.0, **fields)
            self._progress.update(self._tasks[snap.stage], completed=snap.fraction, **fields)
            if snap.closed:
                self._active.discard(snap.stage)
                if not self._active:
                    self._stop()

    def close(self) -> None:
        with self._lock:
            self._active.clear()
            self._stop()


_DISPLAY: ProgressDisplay | None = None


@contextmanager
def progress_display(console) -> Iterator[ProgressDisplay | None]:
    """Progress bars on `console` while the block runs, when it is a terminal (else log lines only)."""
    global _DISPLAY
    if not console.is_terminal or _DISPLAY is not None:
        yield None
        return
    display = ProgressDisplay(console)
    _DISPLAY = display
    try:
        yield display
    finally:
        _DISPLAY = None
        display.close()


def _prefect_console_handlers() -> list:
    try:
        from prefect.logging.handlers import PrefectConsoleHandler
    except ImportError:
        return []
    found = []
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", ""):
        for h in logging.getLogger(name).handlers:
            if isinstance(h, PrefectConsoleHandler) and h not in found:
                found.append(h)
    return found
