"""One case per fault class of issue 12 (and the faults that already held), end to end where it matters.

Each case asserts what a user gets: the exit code, the one `error:` line (naming the file or field and
what to do) or the reject reason, and that every manifest still reconciles (read = kept + dropped) and
has the rows its stage counted. WARC framing, payload sniffing and giant records are in
tests/test_faults_reader.py; a SIGKILL mid-stage and its byte-identical rerun in tests/test_resume.py.

Faults of the disk (read-only, full) are real: the CLI runs in its own mount namespace on a small
tmpfs (`unshare --mount`), which vanishes with the process. CLI builds in subprocesses use the
session's Prefect test server (PREFECT_API_URL), so no temporary server starts per run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.config import load_config
from flows.errors import OutputLocked
from flows.output_lock import LockHolder, StageLock, lock_path
from flows.stage_runner import Product, fingerprint_files, run_beam, run_stage, stage_key
from pipelines.shards import WriteShards, records
from schemas.manifest import ManifestError, build_manifest, read_manifest, validate, write_manifest

ROOT = Path(__file__).resolve().parent.parent
ITEMS = pa.schema(
    [pa.field("rid", pa.string(), nullable=False), pa.field("lang", pa.string(), nullable=False),
     pa.field("text", pa.string(), nullable=False)],
    metadata={b"xlcorpus.schema": b"items", b"xlcorpus.schema_version": b"1"},
)
runner = CliRunner()


def _one_error(output: str, *needles: str) -> str:
    """Exactly one `error:` line holding every needle (rich may wrap it: compared unwrapped)."""
    lines = [ln for ln in output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, output
    joined = " ".join(output[output.index("error:"):].split())
    for n in needles:
        assert n in joined, output
    return joined


def _all_manifests_hold(out: Path) -> list[str]:
    """validate() every product under OUT (shards, read = kept + dropped, rows = counted rows)."""
    checked = []
    for m in sorted(out.rglob("manifest.json")):
        if "_staging" in m.parts:
            continue
        validate(str(m.parent))
        checked.append(m.parent.relative_to(out).as_posix())
    return checked


# --- a small Beam stage (items in three languages, several shards) --------------------------------

def _items_stage(cfg, n: int = 90, pace: float = 0.0, stage: str = "items"):
    rows = [{"rid": f"i{i:04d}", "lang": ("deu_Latn", "eng_Latn", "fra_Latn")[i % 3], "text": f"item {i} " * 4}
            for i in range(n)]

    def paced(written):
        time.sleep(pace)
        return written

    def body(staging: str) -> dict[str, int]:
        run_beam(cfg, stage, lambda p: p | beam.Create(rows)
                 | WriteShards(os.path.join(staging, "items"), ITEMS, lambda r: r["lang"], "rid", target_shard_bytes=300)
                 | beam.Map(paced))
        return {"items.read": n, "items.kept": n}

    return run_stage(cfg, stage, {"n": n}, {}, [Product("items", ITEMS, ("items.kept",))], body)


def paced_main(out: str) -> None:
    """Subprocess entry: the items stage, slowed down between shard writes."""
    print(f"skipped={_items_stage(load_config(None, {'out': out}), pace=0.5).skipped}", flush=True)


def _wait_for(pred, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while not pred():
        assert proc.poll() is None, f"run ended before {what}: {proc.communicate()}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- 1. one writer per output ------------------------------------------------------------------------

def test_second_run_on_the_same_output_fails_fast_and_nothing_is_corrupted(tmp_path):
    out = tmp_path / "out"
    here = str(Path(__file__).resolve().parent)
    first = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r}); import test_faults; "
                               f"test_faults.paced_main({str(out)!r})"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: list((out / "_staging" / "items").rglob("*.parquet")), first, "its first shard")
        cfg = load_config(None, {"out": str(out)})
        t0 = time.perf_counter()
        with pytest.raises(OutputLocked) as err:
            _items_stage(cfg)
        assert time.perf_counter() - t0 < 10  # fails at the lock, not after running the pipeline
        msg = str(err.value)
        assert f"pid {first.pid}" in msg and socket.gethostname() in msg and "being written by another run" in msg
        assert "\n" not in msg
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr
    assert stdout.split() == ["skipped=False"]
    m = validate(str(out / "items"))  # the first run's output is whole: rows = items.kept
    assert m.rows == m.counters["items.kept"] == 90 and m.rows_counters == ["items.kept"]
    assert not (out / "_staging").exists() and not list((out / "_locks").iterdir())
    assert _items_stage(cfg).skipped  # and the next run trusts it


def test_locked_stage_from_the_cli_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "out"
    docs = out / "documents"
    write_manifest(str(docs), build_manifest(str(docs), ITEMS, "mono", {}, "k", {}, "v"))
    with StageLock(str(out), "tokenizer", "run-of-the-test", stale_after_s=3600):
        res = runner.invoke(app, ["tokenize", "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = _one_error(res.output, "stage tokenizer of this output is being written by another run run-of-the-test",
                      f"pid {os.getpid()}", "wait for it to finish")
    assert str(lock_path(str(out), "tokenizer")) in line
    assert not (out / "tokenizer").exists() and not (out / "_stages").exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("holder,taken_over", [
    ({"host": "this", "pid": "dead", "age": 0}, True),      # same host, process gone
    ({"host": "elsewhere", "pid": 1, "age": 7200}, True),   # other host, heartbeat 2 h old
    ({"host": "elsewhere", "pid": 1, "age": 10}, False),    # other host, fresh heartbeat
    ({"host": "this", "pid": "self", "age": 7200}, False),  # same host, process alive (old heartbeat is fine)
], ids=["dead-pid", "stale-heartbeat", "fresh-heartbeat", "live-pid"])
def test_stale_locks_are_taken_over_with_a_warning_and_live_ones_refuse(tmp_path, holder, taken_over):
    out = str(tmp_path / "out")
    now = time.time()
    pid = {"dead": _dead_pid(), "self": os.getpid()}.get(holder["pid"], holder["pid"])
    host = socket.gethostname() if holder["host"] == "this" else holder["host"]
    started = now if holder["pid"] == "self" else now - holder["age"] - 5  # a live holder started after its process
    old = LockHolder("old-run", "items", host, pid, started, now - holder["age"])
    os.makedirs(os.path.dirname(lock_path(out, "items")))
    Path(lock_path(out, "items")).write_bytes(old.to_bytes())
    said: list[str] = []
    lock = StageLock(out, "items", "new-run", stale_after_s=1800, say=said.append)
    if not taken_over:
        with pytest.raises(OutputLocked, match=f"another run old-run on host {host}, pid {pid}"):
            lock.acquire()
        assert Path(lock_path(out, "items")).read_bytes() == old.to_bytes()  # untouched
        return
    with lock:
        assert LockHolder.from_bytes(Path(lock_path(out, "items")).read_bytes()).run_id == "new-run"
    assert len(said) == 1 and "taking over the stale lock" in said[0] and "old-run" in said[0]
    assert not os.path.exists(lock_path(out, "items"))  # released


def test_a_run_writes_only_its_own_staging_and_removes_dead_runs_staging(tmp_path):
    cfg = load_config(None, {"out": str(tmp_path / "out")})
    dead = tmp_path / "out" / "_staging" / "items" / "20200101T000000-deadbeef"
    (dead / "items").mkdir(parents=True)
    (dead / "items" / "part-00000.parquet").write_bytes(b"half a shard")
    seen = []

    def body(staging: str) -> dict[str, int]:
        seen.append(staging)
        return _items_body(cfg, staging)

    run_stage(cfg, "items", {}, {}, [Product("items", ITEMS, ("items.kept",))], body)
    assert Path(seen[0]).parent == tmp_path / "out" / "_staging" / "items" and Path(seen[0]).name != dead.name
    assert not dead.exists() and not (tmp_path / "out" / "_staging").exists()
    validate(str(tmp_path / "out" / "items"))


def _items_body(cfg, staging: str, n: int = 30) -> dict[str, int]:
    rows = [{"rid": f"r{i}", "lang": "eng_Latn", "text": "x"} for i in range(n)]
    run_beam(cfg, "items", lambda p: p | beam.Create(rows)
             | WriteShards(os.path.join(staging, "items"), ITEMS, lambda r: r["lang"], "rid"))
    return {"items.read": n, "items.kept": n}


def test_a_run_that_lost_its_lock_commits_nothing(tmp_path):
    cfg = load_config(None, {"out": str(tmp_path / "out")})
    thief = LockHolder("thief", "items", "elsewhere", 1, time.time(), time.time())

    def body(staging: str) -> dict[str, int]:
        counters = _items_body(cfg, staging)
        Path(lock_path(cfg.out, "items")).write_bytes(thief.to_bytes())  # taken over meanwhile
        return counters

    with pytest.raises(OutputLocked, match="lost the lock of stage items to run thief"):
        run_stage(cfg, "items", {}, {}, [Product("items", ITEMS)], body)
    assert not (tmp_path / "out" / "items").exists() and not (tmp_path / "out" / "_stages").exists()
    assert Path(lock_path(cfg.out, "items")).read_bytes() == thief.to_bytes()  # the thief's lock stays


def test_validate_checks_rows_against_the_kept_counter(tmp_path):
    out = tmp_path / "out"
    cfg = load_config(None, {"out": str(out)})
    _items_stage(cfg)
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0 and "rows = items.kept" in res.output, res.output
    # A second writer replaced a shard set and rewrote the manifest for what it found: the files and
    # the manifest agree, the counters of the stage do not.
    m = read_manifest(str(out / "items"))
    (out / "items" / m.files[0].path).unlink()
    rewritten = build_manifest(str(out / "items"), ITEMS, "items", m.counters, m.config_hash, {}, m.code_version,
                               rows_counters=m.rows_counters)
    write_manifest(str(out / "items"), rewritten)
    with pytest.raises(ManifestError, match=f"{rewritten.rows} rows but items.kept = 90"):
        validate(str(out / "items"))
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 2
    assert "FAIL" in res.output and "rerun stage items with --force" in res.output
    _one_error(res.output, "1 product directory", "failed validation")


# --- 2. fingerprints and stage keys -----------------------------------------------------------------

def test_same_size_edit_in_the_middle_of_a_large_input_reruns_the_stage(tmp_path):
    big = tmp_path / "big.jsonl"
    line = json.dumps({"text": "a line of a document " * 8}) + "\n"
    big.write_text(line * (3 * (1 << 20) // len(line)))  # ~3 MiB: past any head/tail window
    other = tmp_path / "other.jsonl"
    other.write_text(line)
    cfg = load_config(None, {"out": str(tmp_path / "out")})
    before = fingerprint_files([str(big), str(other)])
    data = bytearray(big.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4] = b"XXXX" if data[mid:mid + 4] != b"XXXX" else b"YYYY"
    big.write_bytes(bytes(data))
    after = fingerprint_files([str(big), str(other)], workers=1)  # serial and pooled agree
    assert os.path.getsize(big) == int(before[str(big)].split(":")[1])
    assert after[str(big)] != before[str(big)] and after[str(other)] == before[str(other)]
    assert stage_key(cfg, "mono", {}, before) != stage_key(cfg, "mono", {}, after)


def _simalign_cfg(tmp_path: Path, model: Path):
    return load_config(None, {"out": str(tmp_path / "out"), "parallel": {
        "align": {"aligner": "simalign", "simalign": {"model_path": str(model)}}, "clean": {"lid": False}}})


def test_model_files_are_in_the_stage_key(tmp_path):
    from flows.stages.parallel import model_fingerprints

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\x01" * 4096)
    cfg = _simalign_cfg(tmp_path, model)
    key = stage_key(cfg, "parallel", cfg.parallel, model_fingerprints(cfg))
    (model / "model.safetensors").write_bytes(b"\x01" * 2048 + b"\x02" + b"\x01" * 2047)  # same size, new weights
    assert stage_key(cfg, "parallel", cfg.parallel, model_fingerprints(cfg)) != key
    priors = tmp_path / "priors.txt"
    priors.write_text("LEX\tHaus\thouse\t5\n")
    eflomal = load_config(None, {"out": str(tmp_path / "out"), "parallel": {"align": {"eflomal": {"priors_path": str(priors)}}}})
    fp = model_fingerprints(eflomal)
    assert set(fp) == {"model:lid", "model:eflomal_priors"} and fp["model:lid"] == "default"
    priors.write_text("LEX\tHaus\thomes\t5\n")
    assert model_fingerprints(eflomal)["model:eflomal_priors"] != fp["model:eflomal_priors"]


def _package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_code_version_covers_what_the_stage_imports_and_nothing_else(tmp_path):
    from flows.code_version import code_hash, stage_modules

    _package(tmp_path, {
        "flows/__init__.py": "", "flows/stages/__init__.py": "", "flows/report/__init__.py": "",
        "flows/stages/mono.py": "from pipelines.mono import build\n\ndef run():\n    from pipelines import lazy\n",
        "flows/report/html.py": "from pipelines.mono import build\n",
        "pipelines/__init__.py": "", "pipelines/lazy.py": "from schemas.manifest import X\n",
        "pipelines/mono/__init__.py": "", "pipelines/mono/build.py": "from .helpers import f\nimport numpy\n",
        "pipelines/mono/helpers.py": "def f(): pass\n", "pipelines/other.py": "",
        "schemas/__init__.py": "", "schemas/manifest.py": "X = 1\n",
    })
    mods = stage_modules("flows.stages.mono", tmp_path)
    assert set(mods) == {"flows.stages.mono", "pipelines", "pipelines.lazy",
                         "pipelines.mono", "pipelines.mono.build", "pipelines.mono.helpers", "schemas",
                         "schemas.manifest"}
    before = code_hash("flows.stages.mono", tmp_path)
    (tmp_path / "flows/report/html.py").write_text("# the report changed\n")
    (tmp_path / "pipelines/other.py").write_text("# not imported by mono\n")
    assert code_hash("flows.stages.mono", tmp_path) == before  # editing the report keeps mono's key
    (tmp_path / "pipelines/mono/helpers.py").write_text("def f(): return 1\n")  # reached by a relative import
    assert code_hash("flows.stages.mono", tmp_path) != before
    # The real tree: no stage reaches the CLI, the report or the demo.
    for stage in ("mono", "wiki", "parallel", "tokenizer", "encode", "train"):
        real = stage_modules(f"flows.stages.{stage}")
        assert f"flows.stages.{stage}" in real and "schemas.manifest" in real
        assert not [m for m in real if m.startswith(("flows.report", "flows.cli", "flows.demo", "flows.commands"))]
    assert "pipelines.wiki.dump" in stage_modules("flows.stages.wiki")
    assert "pipelines.wiki.dump" not in stage_modules("flows.stages.parallel")


# --- 3. config checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("body,needles", [
    ({"mono": {"languages": ["english"]}}, ["mono.languages", "'english' is not a language code"]),
    ({"mono": {"lid_thresholds": {"en": 0.4}}}, ["mono.lid_thresholds", "key 'en'"]),
    ({"mono": {"quality": {"per_lang": {"chinese": {"min_chars": 30}}}}}, ["mono.quality.per_lang", "key 'chinese'"]),
    ({"mono": {"quality": {"per_lang": {"zho_Hani": {"min_char": 30}}}}},
     ["unknown field 'mono.quality.per_lang.zho_Hani.min_char'", "did you mean 'min_chars'"]),
    ({"mono": {"quality": {"per_lang": {"zho_Hani": {"min_chars": "many"}}}}}, ["per_lang.zho_Hani.min_chars"]),
    ({"wiki": {"target_languages": ["german"]}}, ["wiki.target_languages", "'german'"]),
    ({"wiki": {"wikipedia": {"source_lang": "en"}}}, ["wiki.wikipedia.source_lang", "'en'"]),
    ({"parallel": {"inputs": [{"input_path": "x.tsv", "src_lang": "xx", "tgt_lang": "en"}]}},
     ["parallel.inputs.0.src_lang", "'xx' is not an ISO 639-1 or 639-3"]),
], ids=["mono.languages", "lid_thresholds-key", "per_lang-key", "per_lang-unknown-field", "per_lang-value",
        "wiki.target_languages", "wiki.source_lang", "parallel-src_lang"])
def test_every_language_field_and_key_is_checked_with_its_file_position(tmp_path, body, needles):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"out": "out", **body}))
    res = runner.invoke(app, ["build", "--config", str(cfg), "--dry-run"])
    assert res.exit_code == 2, res.output
    line = _one_error(res.output, *needles)
    assert f"{cfg}:" in line and "Traceback" not in res.output  # file:line:column of the bad value
    assert not (tmp_path / "out").exists()


def test_short_codes_where_the_readers_map_them_and_typed_per_lang_load():
    cfg = load_config(None, {"parallel": {"inputs": [{"input_path": "x.tsv", "src_lang": "de", "tgt_lang": "eng_Latn"}]},
                             "mono": {"quality": {"per_lang": {"zho_Hani": {"min_chars": 30, "max_digit_ratio": None}}}}})
    # only the fields a language sets travel to the filters: the rest inherit the global values
    assert cfg.mono.quality.model_dump()["per_lang"] == {"zho_Hani": {"min_chars": 30, "max_digit_ratio": None}}


def test_set_errors_name_the_override_not_the_file(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("out: out\n")
    res = runner.invoke(app, ["build", "--config", str(cfg), "--set", "nosuch=1"])
    line = _one_error(res.output, "--set nosuch=1: unknown field 'nosuch'")
    assert res.exit_code == 2 and str(cfg) not in line
    res = runner.invoke(app, ["build", "--config", str(cfg), "--set", "mono.languages=[eng_Latn, german]"])
    _one_error(res.output, "--set mono.languages=", "'german' is not a language code")


def test_yaml_syntax_error_gives_file_line_column(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("out: out\nmono:\n  inputs: [a.warc.gz\n  languages: [eng_Latn]\n")
    res = runner.invoke(app, ["build", "--config", str(cfg)])
    assert res.exit_code == 2
    _one_error(res.output, f"{cfg}:4:", "not valid YAML")


# --- 4. I/O faults and unreadable dumps, through the CLI --------------------------------------------

def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs `unshare --mount` with tmpfs (root or user namespaces)")


@pytest.fixture(scope="module")
def prefect_env(prefect_harness):
    """Environment for CLI subprocesses: the session's Prefect test server (no server start per run)."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}


@pytest.fixture(scope="module")
def wiki_data(tmp_path_factory) -> Path:
    from flows.demo.wiki import make_section

    data = tmp_path_factory.mktemp("wikidata")
    section = make_section(data)
    (data / "wiki.yaml").write_text(yaml.safe_dump({"out": "out", "stages": ["wiki"], **section}))
    return data


def _wiki_config(wiki_data: Path, tmp_path: Path, out: Path, **wiki) -> Path:
    raw = yaml.safe_load((wiki_data / "wiki.yaml").read_text())
    raw["out"] = str(out)
    for k, v in wiki.items():
        raw["wiki"]["wikipedia"][k] = v
    path = tmp_path / "wiki.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _cli_in_tmpfs(env: dict, out: Path, args: list[str], size: str = "256k", read_only: bool = False):
    """`xlcorpus ARGS` with OUT on a fresh tmpfs of `size`, in a mount namespace of its own; prints the
    files left under OUT after the CLI exits (the tmpfs disappears with the namespace)."""
    out.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    cli = " ".join(f"'{a}'" for a in [sys.executable, "-m", "flows.cli", *args])
    script = (f"mount -t tmpfs -o {opts} tmpfs '{out}' || exit 99; {cli}; rc=$?; "
              f"echo '--- left:'; find '{out}' -type f; exit $rc")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)
    assert proc.returncode != 99, proc.stderr
    left = proc.stdout.split("--- left:")[-1].split()
    return proc, left


@needs_mount
def test_read_only_output_fails_before_anything_runs(prefect_env, wiki_data, tmp_path):
    out = tmp_path / "out"
    cfg = _wiki_config(wiki_data, tmp_path, out)
    proc, left = _cli_in_tmpfs(prefect_env, out, ["build", "--config", str(cfg)], read_only=True)
    assert proc.returncode == 2, proc.stderr
    _one_error(proc.stderr, f"{out}/_locks", "read-only file system (EROFS)", "choose a writable `out`")
    assert left == []


@needs_mount
def test_not_enough_free_space_is_refused_with_the_estimate(prefect_env, wiki_data, tmp_path):
    out = tmp_path / "out"
    cfg = _wiki_config(wiki_data, tmp_path, out)
    proc, left = _cli_in_tmpfs(prefect_env, out, ["build", "--config", str(cfg), "--set", "output.space_margin=1000"])
    assert proc.returncode == 2, proc.stderr
    _one_error(proc.stderr, f"{out}: only", "free, but stage wiki may write about", "1500 × its",
               "output.check_free_space: false")
    assert left == []  # nothing staged, nothing marked done


@needs_mount
@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "worker-processes"])
def test_disk_full_mid_stage_is_one_line_and_the_staging_is_removed(prefect_env, wiki_data, tmp_path, workers):
    """The preflight passes (the estimate fits), then a shard write hits ENOSPC. In-process the OSError
    travels in the exception chain; from worker processes only text comes back, and the driver finds
    the full disk itself."""
    out = tmp_path / "out"
    cfg = _wiki_config(wiki_data, tmp_path, out)
    proc, left = _cli_in_tmpfs(prefect_env, out, ["build", "--config", str(cfg), "--workers", str(workers)],
                               size="64k")
    assert proc.returncode == 2, proc.stderr
    _one_error(proc.stderr, f"{out}/_staging/wiki/", "no space left on the device (ENOSPC)",
               "point `out` at a bigger disk", "the run's staging was removed")
    assert left == []
    if workers == 1:  # (worker processes print their own logs; in process, Beam's element log is quieted)
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("multistream", ["auto", "off"])
def test_truncated_multistream_dump_names_the_dump_file(prefect_env, wiki_data, tmp_path, multistream):
    data = tmp_path / "wiki"
    shutil.copytree(wiki_data / "wiki", data)
    dump = data / "enwiki-demo-pages-articles-multistream.xml.bz2"
    raw = dump.read_bytes()
    dump.write_bytes(raw[: len(raw) * 2 // 3])  # the download stopped two thirds in
    cfg = yaml.safe_load((wiki_data / "wiki.yaml").read_text())
    cfg["wiki"]["wikipedia"] = {"inputs": [str(dump)], "multistream": multistream}
    cfg["wiki"]["wikidata"]["inputs"] = [str(data / "wikidata-demo.json.bz2")]
    cfg["out"] = str(tmp_path / "out")
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "build", "--config", str(path)], capture_output=True,
                          text=True, env=prefect_env, timeout=300, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    line = _one_error(proc.stderr, str(dump), "truncated", "re-download")
    assert "index.txt" not in line  # the dump is at fault, not its index
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "_stages").exists() and not (tmp_path / "out" / "_staging").exists()


# --- 5. faults that already held: quarantined records, every manifest reconciles ------------------------

def test_bad_records_are_quarantined_with_their_reason_and_everything_reconciles(prefect_env, tmp_path):
    """The demo corpus holds a truncated gzip member, undecodable text, non-text payloads (mono), a
    malformed Wikidata line (wiki), malformed TSV lines, broken TMX and bad encodings (parallel)."""
    from flows.demo import crawl, parallel, wiki

    data = tmp_path / "data"
    raw = {"out": str(tmp_path / "out"), "stages": ["mono", "wiki", "parallel"]}
    for demo in (crawl, wiki):
        raw.update(demo.make_section(data))
    raw.update(parallel.make_section(data, n_combined=12))  # the bad lines are all there; fewer good ones
    path = data / "faults.yaml"
    path.write_text(yaml.safe_dump(raw))
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "build", "--config", str(path)], capture_output=True,
                          text=True, env=prefect_env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    checked = _all_manifests_hold(out)
    assert {"documents", "rejects/mono", "entity_sentences", "rejects/wiki", "pairs", "rejects/parallel"} <= set(checked)
    reasons = {stage: {r["reason"] for r in records(str(out / "rejects" / stage))} for stage in ("mono", "wiki", "parallel")}
    assert {"corrupt_record", "undecodable_text", "non_text_content"} <= reasons["mono"]
    assert "malformed" in reasons["wiki"]
    assert {"malformed_line", "malformed_xml", "bad_encoding"} <= reasons["parallel"]
    for rel, unit in (("documents", "docs"), ("pairs", "pairs")):
        c = read_manifest(str(out / rel)).counters
        created = sum(v for k, v in c.items() if k.startswith(f"{unit}.created."))  # split-off documents
        assert c[f"{unit}.read"] + created == c[f"{unit}.kept"] + sum(
            v for k, v in c.items() if k.startswith(f"{unit}.dropped."))
    res = subprocess.run([sys.executable, "-m", "flows.cli", "validate", str(out)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0 and "FAIL" not in res.stdout, res.stdout + res.stderr
    assert "rows = sentences.kept" in res.stdout and "rows = pairs.kept" in res.stdout
