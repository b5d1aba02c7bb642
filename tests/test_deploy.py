"""Prefect deployments and the Prefect server the CLI talks to (issue 14 item 5, issue 12 item 7):

- `xlcorpus serve` registers build_corpus as a deployment on a running server, and a run triggered
  through the API (as the UI's "Run" button does) builds the config;
- the CLI's temporary server dies with the CLI, even when the CLI is killed with SIGKILL;
- a server that cannot start, or a PREFECT_API_URL that does not answer, is one line on stderr.

Every wait has a deadline, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(extra)
    return env


def _config(tmp_path: Path, n_docs: int = 10) -> Path:
    from tests.mono_corpus import make_corpus

    crawl = make_corpus(tmp_path / "crawl", n_docs=n_docs, mirror=False)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"out": str(tmp_path / "out"), "stages": ["mono"], "mono": {"inputs": crawl},
                                    "orchestration": {"report": False}}))
    return path


def _servers_of(owner: int) -> list[psutil.Process]:
    """Live (not zombie) temporary-server processes whose owner is `owner`."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if "flows.prefect_server" in cmd and str(owner) in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p)
    return found


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def test_cli_build_talks_to_its_one_server_and_logs_progress(tmp_path):
    """Progress lines are logged from a watcher thread; they must go to the CLI's server. (Prefect's
    settings live in context variables, which a plain thread does not see: Prefect's log worker would
    then start a second, unmanaged server of its own — and say so — when it sends them.)"""
    cfg = _config(tmp_path, n_docs=60)
    data = yaml.safe_load(cfg.read_text())
    data["orchestration"]["progress_log_seconds"] = 0.1
    cfg.write_text(yaml.safe_dump(data))
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "build", "--config", str(cfg)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Prefect: temporary server on") == 1
    assert "Starting temporary server" not in proc.stderr, proc.stderr  # Prefect's own server never started
    progress = [ln for ln in proc.stderr.splitlines() if "Task run 'mono' - [mono] " in ln and " files (" in ln]
    assert progress and "records/s" in progress[0], proc.stderr
    assert "[mono] done in" in proc.stderr and "docs " in proc.stderr.split("[mono] done in", 1)[1]


def test_temporary_server_does_not_outlive_a_killed_cli(tmp_path):
    cfg = _config(tmp_path, n_docs=200)
    cli = subprocess.Popen([sys.executable, "-m", "flows.cli", "build", "--config", str(cfg)], cwd=ROOT,
                           env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server_pid = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server_pid is None:
            line = cli.stderr.readline()
            if not line:
                break
            if line.startswith("Prefect: temporary server on"):
                server_pid = int(line.split("(pid ", 1)[1].split(")", 1)[0])
        assert server_pid is not None, "the CLI never said it started a temporary server"
        assert psutil.Process(server_pid).is_running()
        cli.send_signal(signal.SIGKILL)  # no cleanup runs in the CLI
        cli.wait(timeout=30)
        assert _wait_gone(server_pid, 15), "the temporary Prefect server outlived the killed CLI"
    finally:
        if cli.poll() is None:
            cli.kill()
        for p in _servers_of(cli.pid):
            p.kill()


def test_server_that_cannot_start_is_one_line(tmp_path):
    cfg = _config(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "build", "--config", str(cfg)], cwd=ROOT,
                            env=_env(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 2, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    assert "did not answer within 1 s" in errors[0] and "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in errors[0]
    assert not _servers_of(proc.pid)  # the half-started server was stopped


def test_unreachable_user_server_is_one_line(tmp_path):
    from flows.prefect_server import free_port

    cfg = _config(tmp_path)
    url = f"http://127.0.0.1:{free_port()}/api"
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "build", "--config", str(cfg)], cwd=ROOT,
                          env=_env(PREFECT_API_URL=url), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"PREFECT_API_URL={url} does not answer" in " ".join(proc.stderr.split())


def test_serve_registers_a_deployment_that_runs_the_build(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.prefect_server import TemporaryServer

    cfg = _config(tmp_path)
    server = TemporaryServer().start(timeout=120)  # stands in for a persistent `prefect server start`
    serve = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--config", str(cfg), "--name", "test",
                              "--set", "mono.min_chars_after_dedup=20"],
                             cwd=ROOT, env=_env(PREFECT_API_URL=server.api_url),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            deadline = time.monotonic() + 120
            deployment = None
            with get_client(sync_client=True) as client:
                while deployment is None and time.monotonic() < deadline and serve.poll() is None:
                    try:
                        deployment = client.read_deployment_by_name("build_corpus/test")
                    except Exception:  # noqa: BLE001 — ObjectNotFound until serve has registered it
                        time.sleep(1)
            assert deployment is not None, f"no deployment registered; serve said: {_output(serve)}"
            assert deployment.parameters == {"config_path": str(cfg.resolve()),
                                             "overrides": {"mono.min_chars_after_dedup": 20}}
            run = run_deployment("build_corpus/test", timeout=240)
        assert run.state is not None and run.state.is_completed(), (run.state, _output(serve))
        assert run.parameters == deployment.parameters
        assert (tmp_path / "out" / "_stages" / "mono.json").is_file()  # the build ran and committed
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
        server.stop()


def _output(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        return "(still running)"
    return proc.stdout.read() if proc.stdout else ""
