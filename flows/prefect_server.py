"""The Prefect API a build talks to: the user's server when PREFECT_API_URL is set, else a temporary
one that lives exactly as long as the CLI.

Prefect starts a temporary server by itself when no API URL is set, but (Prefect 3.8) with a 20 s
startup limit that a loaded machine misses, a multi-line RuntimeError when it does, and a server
process that keeps running (~200 MB) when the CLI is killed with SIGKILL. So the CLI starts its
own temporary server instead:

- startup limit `PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS` when the user sets it, else
  DEFAULT_STARTUP_TIMEOUT (120 s); a server that does not answer in time (or exits) is stopped and
  reported as one PrefectServerError line saying what to do;
- the server process watches its owner: when the CLI's process is gone (even after SIGKILL, which
  runs no cleanup), the server notices within a second and shuts down — no orphan;
- with PREFECT_API_URL set, that server is used (checked to answer first) and nothing is started.

    python -m flows.prefect_server --port P --owner PID    # the temporary server process itself
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

DEFAULT_STARTUP_TIMEOUT = 120.0
TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
HOW_TO_PERSIST = "run `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"


class PrefectServerError(RuntimeError):
    """The Prefect API cannot be reached or started; the message is one line saying what to do."""


def startup_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_STARTUP_TIMEOUT
    try:
        return float(raw)
    except ValueError as e:
        raise PrefectServerError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from e


def user_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile, if set."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return url or None


def _healthy(api_url: str, timeout: float = 2.0) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def check_reachable(api_url: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _healthy(api_url):
            return
        time.sleep(0.5)
    raise PrefectServerError(f"the Prefect server at PREFECT_API_URL={api_url} does not answer: start it "
                             "(`prefect server start`) or unset PREFECT_API_URL to use a temporary one")


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TemporaryServer:
    """A Prefect API server in a child process that stops when its owner (this process) is gone."""

    def __init__(self, port: int | None = None, ephemeral: bool = True):
        self.port = port or free_port()
        self.ephemeral = ephemeral
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float | None = None) -> TemporaryServer:
        from prefect.settings import get_current_settings

        timeout = startup_timeout() if timeout is None else timeout
        env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True),
               "PREFECT_UI_ENABLED": "0"}
        env.pop("PREFECT_API_URL", None)  # the server itself is not a client of another server
        cmd = [sys.executable, "-m", "flows.prefect_server", "--port", str(self.port), "--owner", str(os.getpid())]
        if not self.ephemeral:
            cmd.append("--services")
        self.process = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectServerError(f"the temporary Prefect server exited with code {self.process.returncode} "
                                         f"({self._last_line()}); or {HOW_TO_PERSIST}")
            if _healthy(self.api_url, timeout=1.0):
                return self
            time.sleep(0.25)
        self.stop()
        raise PrefectServerError(
            f"the temporary Prefect server did not answer within {timeout:.0f} s (a busy machine?): raise "
            f"{TIMEOUT_ENV}, or {HOW_TO_PERSIST}")

    def _last_line(self) -> str:
        self._log.seek(0)
        lines = [ln for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else "no output"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._log.close()


@contextmanager
def prefect_api(say: Callable[[str], None] = print) -> Iterator[str]:
    """The API URL to use for the block: the user's server, or a temporary one (stopped afterwards)."""
    url = user_api_url()
    if url:
        check_reachable(url)
        say(f"Prefect: using the server at {url}")
        yield url
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = TemporaryServer().start()
    assert server.process is not None
    say(f"Prefect: temporary server on {server.api_url} (pid {server.process.pid}); to keep runs, {HOW_TO_PERSIST}")
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                drain_prefect_workers()
    finally:
        server.stop()


def drain_prefect_workers() -> None:
    """Send the logs and events Prefect still buffers, before the server they go to stops."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:  # never started: nothing buffered
            pass
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


# --- the server process ----------------------------------------------------------------------------


def _watch_owner(owner: int) -> None:
    """Shut this server down once its owner process is gone (SIGKILL runs no cleanup in the owner)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != owner:  # re-parented: the owner died
            os.kill(os.getpid(), signal.SIGTERM)  # uvicorn shuts down cleanly on SIGTERM
            time.sleep(10)
            os._exit(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--owner", type=int, required=True, help="pid of the process this server belongs to")
    ap.add_argument("--services", action="store_true", help="run Prefect's background services too")
    args = ap.parse_args(argv)
    if not args.services:
        os.environ["PREFECT__SERVER_EPHEMERAL"] = "1"  # no UI, no background services: starts faster
    os.environ["PREFECT__SERVER_FINAL"] = "1"
    threading.Thread(target=_watch_owner, args=(args.owner,), daemon=True).start()
    import uvicorn

    uvicorn.run("prefect.server.api.server:create_app", factory=True, host="127.0.0.1", port=args.port,
                log_level="error", lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
