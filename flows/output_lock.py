"""One writer per stage output: an exclusive lock file per stage, `OUT/_locks/<stage>.lock`.

Why per stage and not per OUT: one flow run runs mono, wiki and parallel concurrently, each in its own
task; a lock per stage lets them write side by side while two *runs* can never write the same stage.
The lock holds its holder (run id, host, pid, start time, last heartbeat) so a refused run can say who
is writing. Every run writes only under its own staging folder `OUT/_staging/<stage>/<run id>/`, so
even a lock taken over by mistake cannot make one run delete another's files.

A lock is *stale*, and taken over with a warning, when its holder is gone: on the same host, its pid
is not running (or runs a process started after the lock, i.e. a reused pid); on another host, its
heartbeat (refreshed by a thread of the holder) is older than `output.lock_stale_minutes`.

Atomicity by filesystem — what is guaranteed:

* local paths (and NFS v3+): `O_CREAT | O_EXCL` creation, so exactly one of two racing runs wins.
* gs://: object creation with `if_generation_match=0` (google-cloud-storage, installed with
  apache-beam[gcp]), heartbeats and release conditional on the generation: exactly one winner.
* other Beam filesystems (s3://, ...): create-if-absent is not available through Beam's FileSystems,
  so the lock is advisory: it is checked, written, and read back, which catches runs started
  seconds apart but not two runs started within the same moment. A warning says so at acquisition.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from flows.errors import OutputLocked

log = logging.getLogger("xlcorpus")

LOCK_DIR = "_locks"
HEARTBEAT_SECONDS = 30.0
_MAX_ATTEMPTS = 5  # create / take-over rounds before giving up (each round loses only to a live run)


def new_run_id() -> str:
    """Sortable and unique: UTC time, host-independent random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    stage: str
    host: str
    pid: int
    started_at: float  # epoch seconds
    heartbeat_at: float

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        age = max(0.0, time.time() - self.heartbeat_at)
        return (f"run {self.run_id} on host {self.host}, pid {self.pid}, started {started}, "
                f"last heartbeat {age:.0f}s ago")

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LockHolder | None:
        try:
            raw = json.loads(data)
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__})
        except (ValueError, KeyError, TypeError):
            return None  # half-written or foreign file


def _process_started_after(pid: int, t: float) -> bool:
    import psutil

    try:
        return psutil.Process(pid).create_time() > t + 1.0
    except psutil.Error:
        return False


def holder_is_gone(holder: LockHolder, stale_after_s: float, now: float | None = None) -> str | None:
    """Why the holder is gone (a reason to take the lock over), or None while it may be alive."""
    now = time.time() if now is None else now
    if holder.host == socket.gethostname():
        try:
            os.kill(holder.pid, 0)
        except ProcessLookupError:
            return f"its process {holder.pid} is not running"
        except PermissionError:
            pass  # alive, another user's process
        if _process_started_after(holder.pid, holder.started_at):
            return f"pid {holder.pid} now belongs to a process started after the lock"
        return None
    if now - holder.heartbeat_at > stale_after_s:
        return f"no heartbeat for {now - holder.heartbeat_at:.0f}s (more than {stale_after_s:.0f}s)"
    return None


# --- lock stores: create-if-absent, read, conditional replace/delete ------------------------------


class LocalStore:
    """A lock file on a local (or NFS) path. Token: the holder's run id inside the file."""

    atomic = True

    def __init__(self, path: str):
        self.path = path

    def create(self, data: bytes) -> bool:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return True

    def read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def age(self) -> float:
        try:
            return time.time() - os.path.getmtime(self.path)
        except FileNotFoundError:
            return 0.0

    def replace(self, expected: bytes, data: bytes) -> bool:
        if self.read() != expected:
            return False
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.path)
        return True

    def delete(self, expected: bytes) -> bool:
        """Remove the lock if it still holds `expected`. A rename first makes the removal atomic
        against a concurrent taker: only one rename of the same file can succeed."""
        tomb = f"{self.path}.{uuid.uuid4().hex[:8]}.gone"
        try:
            os.rename(self.path, tomb)
        except FileNotFoundError:
            return False
        with open(tomb, "rb") as f:
            moved = f.read()
        if moved != expected:  # someone replaced it in between: put theirs back
            try:
                os.link(tomb, self.path)
            except FileExistsError:
                pass
            os.remove(tomb)
            return False
        os.remove(tomb)
        return True


class GcsStore:
    """A lock object on gs:// with generation preconditions (google-cloud-storage)."""

    atomic = True

    def __init__(self, path: str):
        from google.cloud import storage

        bucket, _, name = path[len("gs://"):].partition("/")
        self.blob = storage.Client().bucket(bucket).blob(name)
        self.generation: int | None = None

    def _write(self, data: bytes, if_generation_match: int) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        try:
            self.blob.upload_from_string(data, if_generation_match=if_generation_match)
        except PreconditionFailed:
            return False
        self.generation = self.blob.generation
        return True

    def create(self, data: bytes) -> bool:
        return self._write(data, 0)

    def read(self) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            data = self.blob.download_as_bytes()
        except NotFound:
            return None
        self.generation = self.blob.generation
        return data

    def age(self) -> float:
        self.blob.reload()
        return time.time() - self.blob.updated.timestamp()

    def replace(self, expected: bytes, data: bytes) -> bool:
        if self.read() != expected:
            return False
        return self._write(data, self.generation)

    def delete(self, expected: bytes) -> bool:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        if self.read() != expected:
            return False
        try:
            self.blob.delete(if_generation_match=self.generation)
        except (PreconditionFailed, NotFound):
            return False
        return True


class AdvisoryStore:
    """Any other Beam filesystem: check, write, read back. Not atomic (see the module doc)."""

    atomic = False

    def __init__(self, path: str):
        self.path = path

    def create(self, data: bytes) -> bool:
        from apache_beam.io.filesystems import FileSystems

        if FileSystems.exists(self.path):
            return False
        with FileSystems.create(self.path) as f:
            f.write(data)
        return self.read() == data

    def read(self) -> bytes | None:
        from apache_beam.io.filesystems import FileSystems

        if not FileSystems.exists(self.path):
            return None
        with FileSystems.open(self.path, compression_type="uncompressed") as f:
            return f.read()

    def age(self) -> float:
        from apache_beam.io.filesystems import FileSystems

        return time.time() - FileSystems.last_updated(self.path)

    def replace(self, expected: bytes, data: bytes) -> bool:
        from apache_beam.io.filesystems import FileSystems

        if self.read() != expected:
            return False
        with FileSystems.create(self.path) as f:
            f.write(data)
        return True

    def delete(self, expected: bytes) -> bool:
        from apache_beam.io.filesystems import FileSystems

        if self.read() != expected:
            return False
        FileSystems.delete([self.path])
        return True


def store_for(path: str):
    if "://" not in path:
        return LocalStore(path)
    if path.startswith("gs://"):
        try:
            return GcsStore(path)
        except ImportError:
            log.warning("gs:// lock without google-cloud-storage (pip install -e '.[dataflow]'): advisory only")
    return AdvisoryStore(path)


# --- the lock -------------------------------------------------------------------------------------


def lock_path(out: str, stage: str) -> str:
    return posixpath.join(out, LOCK_DIR, f"{stage}.lock")


class StageLock:
    """Exclusive lock of one stage of one OUT, held by one run; a context manager.

    Raises OutputLocked (one line: holder, what to do) when a live run holds it.
    """

    def __init__(self, out: str, stage: str, run_id: str, stale_after_s: float,
                 heartbeat_s: float = HEARTBEAT_SECONDS, say=None):
        self.path = lock_path(out, stage)
        self.stage, self.run_id = stage, run_id
        self.stale_after_s, self.heartbeat_s = stale_after_s, heartbeat_s
        self.say = say or log.warning
        self.store = store_for(self.path)
        now = time.time()
        self.holder = LockHolder(run_id, stage, socket.gethostname(), os.getpid(), now, now)
        self._data = self.holder.to_bytes()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost_to: LockHolder | None = None

    def acquire(self) -> StageLock:
        if not self.store.atomic:
            self.say(f"[{self.stage}] {self.path}: this filesystem cannot create a file only if it is absent; "
                     "the lock is advisory (two runs started at the same moment can both pass)")
        for _ in range(_MAX_ATTEMPTS):
            if self.store.create(self._data):
                self._start_heartbeat()
                return self
            current = self.store.read()
            if current is None:
                continue  # released between our create and read: try again
            other = LockHolder.from_bytes(current)
            if other is None:
                # Unreadable: a holder that died while writing it (old), or one writing it right now.
                if self.store.age() < 60:
                    time.sleep(0.2)
                    continue
                why = "it is unreadable and more than a minute old"
                desc = "an unreadable lock"
            else:
                why = holder_is_gone(other, self.stale_after_s)
                desc = other.describe()
                if why is None:
                    raise OutputLocked(
                        f"{self.path}: stage {self.stage} of this output is being written by another {desc}; "
                        "wait for it to finish or choose another `out` (delete the lock file only if that run "
                        "is gone)")
            self.say(f"[{self.stage}] taking over the stale lock {self.path} of {desc}: {why}")
            self.store.delete(current)  # fails harmlessly when another run took it over first
        raise OutputLocked(f"{self.path}: could not take the lock of stage {self.stage} after {_MAX_ATTEMPTS} "
                           "attempts (other runs keep taking it); retry when they are done")

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(self.heartbeat_s):
                fresh = LockHolder(**{**asdict(self.holder), "heartbeat_at": time.time()})
                data = fresh.to_bytes()
                try:
                    ok = self.store.replace(self._data, data)
                except OSError as e:  # a flaky network filesystem: the next beat retries
                    log.warning("[%s] lock heartbeat failed: %s", self.stage, e)
                    continue
                if not ok:
                    self.lost_to = LockHolder.from_bytes(self.store.read() or b"")
                    return
                self._data = data

        self._thread = threading.Thread(target=beat, name=f"lock-heartbeat-{self.stage}", daemon=True)
        self._thread.start()

    def check_held(self) -> None:
        """Raise OutputLocked unless this run still holds the lock (called before committing)."""
        current = self.store.read()
        if current != self._data and self.lost_to is None:
            self.lost_to = LockHolder.from_bytes(current or b"")
        if self.lost_to is not None or current != self._data:
            other = self.lost_to.describe() if self.lost_to else "nobody (the lock file was removed)"
            raise OutputLocked(f"{self.path}: this run lost the lock of stage {self.stage} to {other}; "
                               "its outputs were not committed")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.store.delete(self._data)
        except OSError as e:  # e.g. the output went read-only meanwhile: the next run takes it over
            log.warning("[%s] could not remove %s: %s", self.stage, self.path, e)

    def __enter__(self) -> StageLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
