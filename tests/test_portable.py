"""The portable-runner contract: every Beam stage, submitted through Beam's job API to SDK workers in
separate processes, writes the same outputs as the in-process run.

This is what a Flink or Spark cluster holds a pipeline to: its DoFns are pickled, shipped and run in
other processes, so state that only exists in the driver process (a module global set before the
run, a file only the driver can see, a lambda over a local object) shows up here as a failure or a
different output. The job service (`local_job_service_main`) runs the job; the worker pool
(`worker_pool_main`) starts one `python` SDK worker process per job — hence the venv's bin/ on PATH.
Each stage runs on the project's `flink` runner kind with `job_endpoint` + `environment_type:
EXTERNAL`. Inputs are tiny; the servers start once for the module; a watchdog stops them (and so
fails the test) if a job hangs, as one does when the pool cannot start a worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

STAGES = ("mono", "wiki", "parallel", "tokenizer", "encode")
JOB_TIMEOUT_S = 240  # one stage on the portable runner; it takes seconds when the machine is idle
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            with socket.create_connection(("localhost", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {START_TIMEOUT_S}s")


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """(job endpoint, worker pool address) of a job service and a worker pool in their own processes."""
    logs = tmp_path_factory.mktemp("portable-logs")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    job_port, pool_port = _free_port(), _free_port()
    procs = []
    for module, args, name in (
        ("apache_beam.runners.portability.local_job_service_main", ["--port", str(job_port)], "job_service"),
        ("apache_beam.runners.worker.worker_pool_main", ["--service_port", str(pool_port)], "worker_pool"),
    ):
        log = open(logs / f"{name}.log", "wb")
        procs.append(subprocess.Popen([sys.executable, "-m", module, *args], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))
    try:
        _wait_for_port(job_port, procs[0], "the Beam job service")
        _wait_for_port(pool_port, procs[1], "the Beam worker pool")
        yield f"localhost:{job_port}", f"localhost:{pool_port}", procs
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)  # the pool's SDK workers are in the same session
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory) -> Path:
    """Small inputs for every Beam stage (the demo's generators, cut down), in one folder both runs read."""
    from flows.demo import crawl, parallel, wiki

    data = tmp_path_factory.mktemp("portable") / "data"
    section: dict = {}
    section.update(crawl.make_section(data))
    section["mono"]["inputs"] = [str(data / "crawl" / "*.warc.wet.gz")]
    section.update(wiki.make_section(data))
    section.update(parallel.make_section(data, n_combined=10))
    section["parallel"]["align"]["eflomal"] = {"n_samplers": 1, "rel_iterations": 0.3}
    section["tokenizer"] = {"vocab_size": 1500, "sample_sentences": 2000, "hard_vocab_limit": False}
    section["encode"] = {"max_tokens": 64}
    path = data / "cfg.yaml"
    path.write_text(yaml.safe_dump(section, allow_unicode=True), encoding="utf-8")
    return path


def _config(demo_config: Path, out: Path, runner: dict):
    from flows.config import load_config

    return load_config(demo_config, {"out": str(out), "stages": list(STAGES), "runner": runner})


def _outputs(out: Path, stage: str) -> dict[str, bytes]:
    """What a stage committed: every manifest (which lists each shard's rows and sha256) and every file
    of its opaque products, by path relative to OUT; plus the counters of its marker."""
    marker = json.loads((out / "_stages" / f"{stage}.json").read_text())
    got = {"_counters": json.dumps(marker["counters"], sort_keys=True).encode()}
    for rel in marker["products"]:
        d = out / rel
        files = [d / "manifest.json"] if (d / "manifest.json").exists() else sorted(p for p in d.rglob("*") if p.is_file())
        for f in files:
            got[f.relative_to(out).as_posix()] = f.read_bytes()
    if stage == "encode":
        got["tokens/sampling.json"] = (out / "tokens" / "sampling.json").read_bytes()
    return got


@pytest.fixture(scope="module")
def outs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("portable-out")
    return {"local": root / "local", "portable": root / "portable"}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_on_portable_runner_matches_in_process(stage, portable, demo_config, outs):
    from flows.build_corpus import stage_module

    job, pool, procs = portable
    local = _config(demo_config, outs["local"], {"kind": "local"})
    remote = _config(demo_config, outs["portable"], {"kind": "flink", "flink": {
        "job_endpoint": job, "environment_type": "EXTERNAL", "environment_config": pool}})
    module = stage_module(stage)
    module.run(local, log_fn=lambda _m: None)
    hung = threading.Event()

    def watchdog() -> None:  # a hanging job keeps the client waiting: stopping the servers ends the wait
        hung.set()
        _stop(procs)

    timer = threading.Timer(JOB_TIMEOUT_S, watchdog)
    timer.start()
    try:
        report = module.run(remote, log_fn=lambda _m: None)
    finally:
        timer.cancel()
    assert not hung.is_set(), f"{stage}: the portable job did not finish within {JOB_TIMEOUT_S}s"
    assert not report.skipped
    want, got = _outputs(outs["local"], stage), _outputs(outs["portable"], stage)
    assert sorted(got) == sorted(want)
    different = [k for k in want if want[k] != got[k]]
    assert not different, f"{stage}: differs from the in-process run: {different}"
    shutil.rmtree(outs["portable"] / "_staging", ignore_errors=True)
