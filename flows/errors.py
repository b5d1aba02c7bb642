"""Errors a user can cause; the CLI prints them as one line and exits with code 2.

Errors are recognised by their class, never by their message text: `caused_by` walks an exception's
chain (`__cause__` / `__context__`, which is how Beam's in-process runner wraps worker exceptions)
for instances of a class. Worker errors that cannot travel as objects (multi-process or remote
workers send text) are carried as data instead: the worker writes a rejects row with a reason the
stage checks (see flows/stages/wiki.py), and I/O failures are re-checked on the driver
(flows/stage_runner.py probes the output location).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from flows.config import ConfigError
from schemas.manifest import ManifestError


class InputError(ValueError):
    """An input file that cannot be read as what the config says it is."""


class OutputLocked(RuntimeError):
    """Another run holds the lock of a stage's output (the message names the holder)."""


class OutputIOError(RuntimeError):
    """Reading or writing a path failed for a reason the user can fix (disk full, read-only, permission)."""


# errno → (what it means, what to do). Only these are user-fixable; other OSErrors stay bugs / transient.
IO_ADVICE: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free space there or point `out` at a bigger disk"),
    errno.EDQUOT: ("disk quota exceeded", "free space or raise the quota, or point `out` elsewhere"),
    errno.EROFS: ("read-only file system", "choose a writable `out` (or remount it read-write)"),
    errno.EACCES: ("permission denied", "fix the permissions or choose another path"),
    errno.EPERM: ("operation not permitted", "fix the permissions or choose another path"),
}


def exception_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """exc, then its causes/contexts, each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def caused_by(exc: BaseException, classes: type[BaseException] | tuple[type[BaseException], ...]):
    """The first exception in exc's chain that is an instance of `classes`, else None."""
    return next((e for e in exception_chain(exc) if isinstance(e, classes)), None)


def user_fixable_os_error(exc: BaseException) -> OSError | None:
    """An OSError with a user-fixable errno anywhere in exc's chain."""
    return next((e for e in exception_chain(exc) if isinstance(e, OSError) and e.errno in IO_ADVICE), None)


def io_error_message(err: OSError, path: str | None = None, doing: str = "writing the stage's outputs") -> str:
    """One line: the path, what failed while doing what, what to do."""
    what, todo = IO_ADVICE[err.errno]
    where = err.filename or path or "?"
    return f"{where}: {what} ({errno.errorcode[err.errno]}) while {doing}; {todo}"


def user_errors() -> tuple[type[BaseException], ...]:
    from pipelines.runners import RunnerOptionsError

    return (ConfigError, ManifestError, InputError, OutputLocked, OutputIOError, RunnerOptionsError,
            FileNotFoundError)
