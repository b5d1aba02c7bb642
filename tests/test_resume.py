"""Fault tolerance and rerun semantics of flows.stage_runner with real Beam stages.

A run is SIGKILLed in the middle of a stage (after its first shard is written to staging): nothing of
that stage may be visible as done; the rerun skips the finished stage, finishes the rest, and the
final shards and manifests are byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pytest

from flows.build_corpus import forced_stages
from flows.config import ConfigError, load_config
from flows.stage_runner import Product, fingerprint_product, marker_path, read_marker, run_beam, run_stage
from pipelines.shards import WriteShards, records
from schemas.manifest import validate

ITEMS = pa.schema(
    [pa.field("rid", pa.string(), nullable=False), pa.field("lang", pa.string(), nullable=False),
     pa.field("text", pa.string(), nullable=False)],
    metadata={b"xlcorpus.schema": b"items", b"xlcorpus.schema_version": b"1"},
)
LANGS = ("deu_Latn", "eng_Latn", "fra_Latn")


def _first(cfg, n: int = 120, force: bool = False):
    """Stage `first`: n items in three languages, several shards each."""

    def body(staging: str) -> dict[str, int]:
        rows = [{"rid": f"i{i:04d}", "lang": LANGS[i % 3], "text": f"item {i} " * (1 + i % 7)} for i in range(n)]
        out = os.path.join(staging, "first")
        run_beam(cfg, "first", lambda p: p | beam.Create(rows)
                 | WriteShards(out, ITEMS, lambda r: r["lang"], "rid", target_shard_bytes=400))
        return {"items.read": n, "items.kept": n}

    return run_stage(cfg, "first", {"n": n}, {}, [Product("first", ITEMS)], body, force=force)


def _pace(written: dict) -> dict:
    # Only the killed run sets XL_TEST_PACE: it leaves time to kill between two shard writes.
    time.sleep(float(os.environ.get("XL_TEST_PACE", "0")))
    return written


def _second(cfg, upper: bool = True, force: bool = False):
    """Stage `second`: reads `first`'s product, drops one language, writes many shards."""
    src = os.path.join(cfg.out, "first")

    def body(staging: str) -> dict[str, int]:
        rows = records(src)
        kept = [{**r, "text": r["text"].upper() if upper else r["text"]} for r in rows if r["lang"] != "fra_Latn"]
        out = os.path.join(staging, "second")
        run_beam(cfg, "second", lambda p: p | beam.Create(kept)
                 | WriteShards(out, ITEMS, lambda r: r["lang"], "rid", target_shard_bytes=300)
                 | beam.Map(_pace))
        return {"items.read": len(rows), "items.kept": len(kept), "items.dropped.lang": len(rows) - len(kept)}

    return run_stage(cfg, "second", {"upper": upper}, {"first": fingerprint_product(src)},
                     [Product("second", ITEMS)], body, force=force)


def main(out: str, code: str | None = None) -> None:
    """Entry point of the subprocess runs: both stages, in order.

    `code` pins the code version to the test process's, so a source file edited between the killed run
    and the rerun (a real invalidation, tested elsewhere) cannot change what this test is about.
    """
    import flows.stage_runner as sr

    if code:
        sr._CODE_VERSION = code
    cfg = load_config(None, {"out": out})
    for report in (_first(cfg), _second(cfg)):
        print(f"{report.stage} skipped={report.skipped}", flush=True)


def _mono_cfg(out: str, crawl: str):
    # neardup off keeps the test short; its determinism is tested with the neardup pipeline itself.
    return load_config(None, {"out": out, "mono": {"inputs": [crawl + "/*.warc.gz"], "target_shard_mb": 0.002},
                              "neardup": {"enabled": False}})


def mono_main(out: str, crawl: str, code: str) -> None:
    """Subprocess entry: the real mono stage; XL_TEST_PACE slows every shard write (timing only)."""
    import flows.stage_runner as sr
    import pipelines.shards as shards
    from flows.stages import mono

    sr._CODE_VERSION = code
    real_write = shards.write_shard

    def paced(*args, **kwargs):
        written = real_write(*args, **kwargs)
        time.sleep(float(os.environ.get("XL_TEST_PACE", "0")))
        return written

    shards.write_shard = paced
    print(f"mono skipped={mono.run(_mono_cfg(out, crawl)).skipped}", flush=True)


def _run(out: Path, pace: float = 0.0, entry: str = "main", *args: str) -> subprocess.Popen:
    here = str(Path(__file__).resolve().parent)
    from flows.stage_runner import code_version

    # the subprocess pins every stage to the version this process computes for the stage it checks
    pinned = code_version("mono" if entry == "mono_main" else "first")
    call_args = ", ".join(repr(a) for a in (str(out), *args, pinned))
    code = f"import sys; sys.path.insert(0, {here!r}); import test_resume; test_resume.{entry}({call_args})"
    env = {**os.environ, "XL_TEST_PACE": str(pace)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_killed_mid_stage_leaves_nothing_done_and_resumes_identically(tmp_path, capsys):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _run(killed, 1.0)
    staging = killed / "_staging" / "second"
    _kill_when_shard_appears(proc, staging)

    # `first` finished and is marked; `second` was mid-way: shards in staging, nothing visible as done.
    assert read_marker(load_config(None, {"out": str(killed)}), "first") is not None
    assert not (killed / "_stages" / "second.json").exists()
    assert not (killed / "second").exists()
    assert list(staging.rglob("*.parquet"))

    capsys.readouterr()
    main(str(killed))  # the rerun (in this process: same code version)
    assert capsys.readouterr().out.split() == ["first", "skipped=True", "second", "skipped=False"]
    assert not (killed / "_staging").exists() or not any((killed / "_staging").iterdir())

    main(str(clean))  # the uninterrupted run, in this process (same code version)
    for product in ("first", "second"):
        validate(str(killed / product))
        assert _files(killed / product) == _files(clean / product)  # shards + manifest, byte for byte
    assert len(_files(clean / "second")) > 3


def _kill_when_shard_appears(proc: subprocess.Popen, staging: Path) -> None:
    deadline = time.time() + 90
    while not list(staging.rglob("*.parquet")):
        assert proc.poll() is None, f"run ended before it could be killed: {proc.communicate()}"
        assert time.time() < deadline, f"no shard appeared under {staging}"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole session: Beam may have started helpers
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_mono_stage_killed_mid_run_resumes_byte_identical(tmp_path):
    from flows.demo.crawl import make_section
    from flows.stages import mono

    make_section(tmp_path / "data")
    crawl = str(next((tmp_path / "data").rglob("*.warc.gz")).parent)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _run(killed, 0.3, "mono_main", crawl)
    _kill_when_shard_appears(proc, killed / "_staging" / "mono")
    assert not (killed / "_stages" / "mono.json").exists()
    assert not (killed / "documents").exists() and not (killed / "rejects").exists()

    cfg = _mono_cfg(str(killed), crawl)
    assert not mono.run(cfg).skipped  # resumes: reruns the unfinished stage from its inputs
    assert not (killed / "_staging" / "mono").exists()
    assert mono.run(cfg).skipped
    assert not mono.run(_mono_cfg(str(clean), crawl)).skipped  # the uninterrupted run
    for product in ("documents", "rejects/mono"):
        validate(str(killed / product))
        assert _files(killed / product) == _files(clean / product)
    assert len(_files(clean / "documents")) > 5


def test_skip_rerun_on_change_and_force(tmp_path):
    cfg = load_config(None, {"out": str(tmp_path / "out")})
    first, second = _first(cfg), _second(cfg)
    assert not first.skipped and not second.skipped
    key2 = read_marker(cfg, "second")["key"]

    # Unchanged config and inputs: both skipped, outputs untouched.
    before = _files(tmp_path / "out" / "second")
    assert _first(cfg).skipped and _second(cfg).skipped
    assert _files(tmp_path / "out" / "second") == before

    # A changed config section reruns that stage (new key, new outputs).
    changed = _second(cfg, upper=False)
    assert not changed.skipped and read_marker(cfg, "second")["key"] != key2
    assert _files(tmp_path / "out" / "second") != before

    # Upstream outputs changed → its manifest changed → the downstream stage reruns.
    assert _second(cfg, upper=False).skipped
    assert not _first(cfg, n=90).skipped
    assert not _second(cfg, upper=False).skipped
    assert records(str(tmp_path / "out" / "second")) and len(records(str(tmp_path / "out" / "second"))) == 60

    # force reruns an up-to-date stage and leaves the same bytes (deterministic output).
    now = _files(tmp_path / "out" / "second")
    forced = _second(cfg, upper=False, force=True)
    assert not forced.skipped and _files(tmp_path / "out" / "second") == now


def test_missing_product_dir_reruns_even_with_marker(tmp_path):
    import shutil

    cfg = load_config(None, {"out": str(tmp_path / "out")})
    _first(cfg)
    shutil.rmtree(tmp_path / "out" / "first")  # someone deleted the product; the marker is stale
    assert not _first(cfg).skipped
    validate(str(tmp_path / "out" / "first"))


def test_force_propagates_to_every_later_stage():
    stages = ["mono", "wiki", "parallel", "tokenizer", "encode", "train"]
    assert forced_stages(stages, []) == dict.fromkeys(stages, False)
    assert forced_stages(stages, ["parallel"]) == {
        "mono": False, "wiki": False, "parallel": True, "tokenizer": True, "encode": True, "train": True}
    assert all(forced_stages(stages, ["all"]).values())
    assert forced_stages(["mono", "tokenizer"], ["wiki"]) == {"mono": False, "tokenizer": False}
    with pytest.raises(ConfigError, match="unknown stage"):
        forced_stages(stages, ["tokenise"])


def test_marker_is_written_last(tmp_path, monkeypatch):
    """A failure while committing (after the body ran) must leave the stage unmarked."""
    import flows.stage_runner as sr

    cfg = load_config(None, {"out": str(tmp_path / "out")})
    real_move = sr._move_tree

    def failing_move(src, dst):
        real_move(src, dst)
        raise OSError("disk full while committing")

    monkeypatch.setattr(sr, "_move_tree", failing_move)
    with pytest.raises(OSError):
        _first(cfg)
    assert not os.path.exists(marker_path(cfg, "first"))
    monkeypatch.setattr(sr, "_move_tree", real_move)
    assert not _first(cfg).skipped


def test_opaque_product_is_committed_skipped_and_must_exist(tmp_path):
    """A Product without a schema (a tokenizer model, a checkpoint) is moved into place as is, gets no
    manifest, and its directory (not a manifest) decides whether the stage is up to date; a body that
    writes no directory for a product fails the commit instead of marking the stage done."""
    import shutil

    from schemas.manifest import ManifestError

    cfg = load_config(None, {"out": str(tmp_path / "out")})

    def body(staging: str) -> dict[str, int]:
        os.makedirs(os.path.join(staging, "model"))
        Path(staging, "model", "weights.bin").write_bytes(b"\x00\x01")
        return {"steps.read": 2, "steps.kept": 2}

    first = run_stage(cfg, "opaque", {}, {}, [Product("model", None)], body)
    assert not first.skipped and first.manifests == {}
    assert sorted(p.name for p in (tmp_path / "out" / "model").iterdir()) == ["weights.bin"]
    again = run_stage(cfg, "opaque", {}, {}, [Product("model", None)], body)
    assert again.skipped and again.counters == {"steps.read": 2, "steps.kept": 2}
    shutil.rmtree(tmp_path / "out" / "model")
    assert not run_stage(cfg, "opaque", {}, {}, [Product("model", None)], body).skipped

    with pytest.raises(ManifestError, match="produced no missing/"):
        run_stage(cfg, "nothing", {}, {}, [Product("missing", None)], lambda staging: {})
    assert read_marker(cfg, "nothing") is None
