"""Run one stage: skip when done, lock the output, stage outputs per run, commit, write manifests.

A stage's *key* is a hash of its config section, its input fingerprints (full-content hashes of files
and model files, or the manifests of the upstream products it reads), the seed and the stage's own
code version (flows/code_version.py). When OUT/_stages/<stage>.json holds the same key and every
product is there, the stage is skipped. Otherwise the run takes the stage's lock
(OUT/_locks/<stage>.lock, flows/output_lock.py), checks the output is writable and has room for it,
writes under OUT/_staging/<stage>/<run id>/ (its own folder: no other run touches it), builds and
reconciles the manifests there, moves the product directories into place and writes the marker last
— a run killed mid-stage leaves nothing marked done. A failed run removes its staging folder; I/O
errors a user can fix (disk full, read-only, permission) become one OutputIOError line.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pyarrow as pa

from flows.config import Config, ConfigError, canonical_json, config_hash
from flows.errors import OutputIOError, io_error_message, user_fixable_os_error
from flows.fingerprints import (  # re-exported: the stages import them from here
    fingerprint_file,
    fingerprint_files,
    fingerprint_model,
    fingerprint_product,
    product_size,
    total_size,
)
from flows.output_lock import StageLock, new_run_id
from schemas.manifest import MANIFEST_NAME, Manifest, ManifestError, build_manifest, reconcile, write_manifest

__all__ = ["fingerprint_file", "fingerprint_files", "fingerprint_model", "fingerprint_product", "product_size",
           "total_size"]

log = logging.getLogger("xlcorpus")

# Tests that compare runs across processes pin the code version here (None: computed per stage).
_CODE_VERSION: str | None = None
_STAGE_VERSIONS: dict[str, str] = {}


def code_version(stage: str) -> str:
    """Package version + a hash of the modules stage `stage` runs (flows/code_version.py), so editing
    one stage's code (or the report, the CLI) does not invalidate the other stages."""
    if _CODE_VERSION is not None:
        return _CODE_VERSION
    if stage not in _STAGE_VERSIONS:
        from importlib.metadata import PackageNotFoundError, version

        from flows.code_version import code_hash

        try:
            v = version("xlcorpus")
        except PackageNotFoundError:
            v = "0+unknown"
        _STAGE_VERSIONS[stage] = f"{v}+{code_hash(f'flows.stages.{stage}')}"
    return _STAGE_VERSIONS[stage]


def expand_inputs(patterns: list[str], what: str) -> list[str]:
    """Expand local globs / Beam filesystem patterns into a sorted file list; error names the pattern."""
    files: list[str] = []
    for pat in patterns:
        if "://" in pat:
            from apache_beam.io.filesystems import FileSystems

            matched = sorted(m.path for r in FileSystems.match([pat]) for m in r.metadata_list)
        else:
            matched = sorted(p for p in glob.glob(pat, recursive=True) if os.path.isfile(p))
        if not matched:
            raise ConfigError(f"{what}: no input file matches {pat!r} (check the path in the config)")
        files += matched
    return sorted(dict.fromkeys(files))


def _read_bytes(path: str) -> bytes:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def exists(path: str) -> bool:
    """Whether a file or directory exists: local path or any Beam filesystem URI (gs://, s3://)."""
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    return os.path.exists(path)


def _write_text(path: str, text: str) -> None:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(path) as f:
            f.write(text.encode())
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _remove_tree(path: str) -> None:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        if FileSystems.exists(path):
            FileSystems.delete([path])
    elif os.path.exists(path):
        shutil.rmtree(path)


def _move_tree(src: str, dst: str) -> None:
    if "://" in src:
        from apache_beam.io.filesystems import FileSystems

        matches = [m.path for m in FileSystems.match([posixpath.join(src, "**")])[0].metadata_list]
        FileSystems.rename(matches, [dst + m[len(src):] for m in matches])
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.replace(src, dst)


@dataclass
class Product:
    """A directory a stage produces. With a schema it holds shards and gets a manifest.json; with
    schema=None it is an opaque directory (a tokenizer model, a checkpoint) that is committed as is.

    rows_from: the counters whose sum its row count must equal (fnmatch patterns, e.g. "docs.kept",
    "cs_samples.*"); recorded in the manifest and checked by `xlcorpus validate`.
    """

    rel_dir: str  # relative to OUT: "documents", "rejects/mono", "codeswitch/alm", "tokenizer"
    schema: pa.Schema | None
    rows_from: tuple[str, ...] = ()


@dataclass
class StageReport:
    stage: str
    key: str
    skipped: bool
    seconds: float
    counters: dict[str, int] = field(default_factory=dict)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def stage_key(cfg: Config, stage: str, section: object, fingerprints: dict[str, str]) -> str:
    return config_hash(
        {"stage": stage, "section": json.loads(canonical_json(section)), "inputs": fingerprints,
         "seed": cfg.seed, "languages": cfg.languages, "code": code_version(stage)}
    )


def marker_path(cfg: Config, stage: str) -> str:
    return posixpath.join(cfg.out, "_stages", f"{stage}.json")


def read_marker(cfg: Config, stage: str) -> dict | None:
    try:
        return json.loads(_read_bytes(marker_path(cfg, stage)))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def staging_root(cfg: Config, stage: str) -> str:
    """OUT/_staging/<stage>: one folder per run id below it."""
    return posixpath.join(cfg.out, "_staging", stage)


# Output bytes a stage may write (staging, then the committed products on the same disk) per byte
# of its input, for the free-space preflight. Generous on purpose: a refused run costs a flag, a
# full disk mid-run costs the run. mono: pass-1 intermediate shards + documents + rejects (WET/JSONL
# text ~1:1 in zstd Parquet); parallel: pairs, alignments, lexicon and two code-switched products;
# encode: uncompressed int32 token ids are ~3× the zstd text they come from.
SPACE_FACTOR = {"mono": 2.0, "wiki": 1.5, "parallel": 4.0, "encode": 3.0}


def _gib(n: float) -> str:
    if n >= 1 << 28:
        return f"{n / (1 << 30):.2f} GiB"
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.0f} KiB"


def check_free_space(cfg: Config, stage: str, staging: str, input_bytes: int | None, say) -> None:
    """Refuse to start when the output disk has less free space than the stage's estimate."""
    if input_bytes is None or not cfg.output.check_free_space or stage not in SPACE_FACTOR:
        return
    if "://" in staging:
        say(f"[{stage}] free space not checked: {cfg.out} is an object store")
        return
    factor = SPACE_FACTOR[stage] * cfg.output.space_margin
    need = int(input_bytes * factor)
    free = shutil.disk_usage(staging).free
    estimate = f"about {_gib(need)} ({factor:g} × its {_gib(input_bytes)} of input)"
    if free < need:
        raise OutputIOError(
            f"{cfg.out}: only {_gib(free)} free, but stage {stage} may write {estimate}; free space, "
            "point `out` at a bigger disk, or set output.check_free_space: false")
    say(f"[{stage}] {_gib(free)} free in {cfg.out}; the stage may write {estimate}")


def _probe_write(directory: str) -> None:
    """Write and remove 64 KiB in `directory`: raises the OSError a full / read-only disk gives."""
    probe = os.path.join(directory, ".xlcorpus-probe")
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * (64 << 10))
            f.flush()
            os.fsync(f.fileno())
    finally:
        if os.path.exists(probe):
            os.remove(probe)


def as_output_io_error(exc: BaseException, staging: str) -> OutputIOError | None:
    """The user-fixable I/O error behind a failed stage, or None (a bug, a data error).

    First the exception chain (in-process workers: the OSError itself travels). Workers in other
    processes send only text, so then the driver re-checks the output location itself: a full or
    unwritable staging folder gives the same errno here.
    """
    err = user_fixable_os_error(exc)
    if err is None and "://" not in staging and os.path.isdir(staging):
        try:
            _probe_write(staging)
        except OSError as probe_err:
            if probe_err.errno in _io_errnos():
                err = probe_err
    if err is None:
        return None
    return OutputIOError(io_error_message(err, staging))


def _io_errnos() -> set[int]:
    from flows.errors import IO_ADVICE

    return set(IO_ADVICE)


def _clean_staging(staging: str, say) -> str:
    """Remove a run's staging folder; '' or a note saying why it could not be removed."""
    try:
        _remove_tree(staging)
        return ""
    except OSError as e:
        say(f"could not remove {staging}: {e}")
        return f"; its staging folder {staging} could not be removed ({e.strerror})"


def _remove_dead_staging(cfg: Config, stage: str, run_id: str, say) -> None:
    """Staging folders of this stage left by killed runs. Called with the stage's lock held, so no
    live run owns them (a run that lost its lock fails before it commits)."""
    root = staging_root(cfg, stage)
    if "://" in root or not os.path.isdir(root):
        return
    for name in sorted(os.listdir(root)):
        if name != run_id:
            say(f"[{stage}] removing the staging folder of an interrupted run: {posixpath.join(root, name)}")
            _remove_tree(posixpath.join(root, name))


@contextmanager
def _user_fixable_io(staging: str, what: str):
    """OSErrors with a user-fixable errno inside the block → one OutputIOError line."""
    try:
        yield
    except OSError as e:
        if e.errno not in _io_errnos():
            raise
        raise OutputIOError(io_error_message(e, staging, what)) from e


def _up_to_date(marker: dict | None, key: str, products: list[Product], final_dirs: dict[str, str]) -> bool:
    return (
        marker is not None
        and marker.get("key") == key
        and all(
            exists(posixpath.join(final_dirs[p.rel_dir], MANIFEST_NAME)) if p.schema is not None
            else exists(final_dirs[p.rel_dir])
            for p in products
        )
    )


def _skipped(cfg: Config, stage: str, key: str, marker: dict, products: list[Product],
             final_dirs: dict[str, str], say) -> StageReport:
    from schemas.manifest import read_manifest

    say(f"[{stage}] up to date (key {key}); skipped")
    manifests = {p.rel_dir: read_manifest(final_dirs[p.rel_dir]) for p in products if p.schema is not None}
    return StageReport(stage, key, True, 0.0, marker.get("counters", {}), manifests, marker.get("extra", {}))


def run_stage(
    cfg: Config,
    stage: str,
    section: object,
    fingerprints: dict[str, str],
    products: list[Product],
    body: Callable[[str], dict[str, int]],
    force: bool = False,
    extra: Callable[[str], dict] | None = None,
    log_fn: Callable[[str], None] | None = None,
    input_bytes: int | None = None,
) -> StageReport:
    """Run `body(staging_root)` unless the stage is already done with the same key.

    body writes each product under ``staging_root/<product.rel_dir>`` and returns the stage's counters.
    extra(staging_root) may return stage-specific facts stored in every manifest's `extra`.
    input_bytes: the size of the stage's inputs, for the free-space preflight (None: not checked).
    """
    say = log_fn or log.info
    key = stage_key(cfg, stage, section, fingerprints)
    final_dirs = {p.rel_dir: posixpath.join(cfg.out, p.rel_dir) for p in products}
    if _DRY_RUN.get() is not None:
        marker = read_marker(cfg, stage)
        up_to_date = marker is not None and marker.get("key") == key
        return _dry_run_stage(stage, key, up_to_date and not force, body, say)
    marker = read_marker(cfg, stage)
    if not force and _up_to_date(marker, key, products, final_dirs):
        return _skipped(cfg, stage, key, marker, products, final_dirs, say)

    run_id = new_run_id()
    staging = posixpath.join(staging_root(cfg, stage), run_id)
    with _user_fixable_io(cfg.out, "taking the stage's lock"):
        lock = StageLock(cfg.out, stage, run_id, cfg.output.lock_stale_minutes * 60, say=say).acquire()
    try:
        marker = read_marker(cfg, stage)  # a run that held the lock until now may have done it
        if not force and _up_to_date(marker, key, products, final_dirs):
            return _skipped(cfg, stage, key, marker, products, final_dirs, say)
        with _user_fixable_io(staging, "creating the staging folder"):
            _remove_dead_staging(cfg, stage, run_id, say)
            if "://" not in staging:
                os.makedirs(staging)
        try:
            return _run_and_commit(cfg, stage, key, fingerprints, products, body, extra, say, lock, staging,
                                   final_dirs, input_bytes)
        except BaseException as e:
            from flows.errors import user_errors

            # A user error already says what to do; otherwise look for the I/O fault behind a failure.
            is_other = isinstance(e, Exception) and not isinstance(e, user_errors())
            io_error = as_output_io_error(e, staging) if is_other else None
            note = _clean_staging(staging, say)
            _remove_empty(staging_root(cfg, stage))
            if io_error is not None:
                raise OutputIOError(f"[{stage}] {io_error}; the run's staging was removed{note}") from e
            raise
    finally:
        lock.release()


def _run_and_commit(cfg: Config, stage: str, key: str, fingerprints: dict[str, str], products: list[Product],
                    body, extra, say, lock: StageLock, staging: str, final_dirs: dict[str, str],
                    input_bytes: int | None) -> StageReport:
    check_free_space(cfg, stage, staging, input_bytes, say)
    t0 = time.perf_counter()
    say(f"[{stage}] running (key {key}, run {lock.run_id})")
    counters = body(staging)
    problems = reconcile(counters)
    if problems:
        raise ManifestError(f"[{stage}] counters do not reconcile: " + "; ".join(problems))
    facts = extra(staging) if extra else {}
    manifests: dict[str, Manifest] = {}
    version = code_version(stage)
    for p in products:
        if p.schema is None:
            continue
        # A shard product with no rows still gets its directory: write_manifest creates it.
        d = posixpath.join(staging, p.rel_dir)
        m = build_manifest(d, p.schema, stage, counters, key, fingerprints, version, facts,
                           rows_counters=list(p.rows_from))
        write_manifest(d, m)
        manifests[p.rel_dir] = m
    lock.check_held()  # never commit over a run that took the lock from us
    # Commit: replace each product directory, then write the marker (last, so a crash re-runs).
    for p in products:
        if not exists(posixpath.join(staging, p.rel_dir)):
            raise ManifestError(f"[{stage}] produced no {p.rel_dir}/ directory (nothing to commit)")
        _remove_tree(final_dirs[p.rel_dir])
        _move_tree(posixpath.join(staging, p.rel_dir), final_dirs[p.rel_dir])
    _remove_tree(staging)
    _remove_empty(staging_root(cfg, stage))
    seconds = time.perf_counter() - t0
    _write_text(
        marker_path(cfg, stage),
        json.dumps({"stage": stage, "key": key, "products": sorted(final_dirs), "counters": counters,
                    "extra": facts}, indent=2, sort_keys=True) + "\n",
    )
    from flows.stage_summary import summary_line  # one line per stage, not one per counter

    say(f"[{stage}] done in {seconds:.1f}s: {summary_line(counters)}")
    return StageReport(stage, key, False, seconds, counters, manifests, facts)


def _remove_empty(directory: str) -> None:
    """Drop an empty local folder (and an empty OUT/_staging above it): no litter after a clean run."""
    for d in (directory, posixpath.dirname(directory)):
        if "://" in d:
            return
        try:
            os.rmdir(d)
        except OSError:
            return


def runner_spec(cfg: Config):
    """pipelines.runners.RunnerSpec from the config's runner section."""
    from pipelines.runners import RunnerSpec

    r = cfg.runner
    spec = RunnerSpec(kind=r.kind, workers=r.workers, extra_args=list(r.extra_args))
    if r.kind == "dataflow":
        for k, v in r.dataflow.model_dump().items():
            setattr(spec, k, v)
    elif r.kind in ("flink", "spark"):
        sec = r.flink if r.kind == "flink" else r.spark
        if r.kind == "flink":
            spec.flink_master = sec.master
        else:
            spec.spark_master_url = sec.master
        spec.job_endpoint = sec.job_endpoint
        spec.environment_type = sec.environment_type
        spec.environment_config = sec.environment_config
        spec.sdk_container_image = sec.sdk_container_image
    return spec


def run_beam(cfg: Config, stage: str, build: Callable[[object], None], progress=None) -> dict[str, int]:
    """Build a Beam pipeline with `build(pipeline)`, run it on the configured runner, return its counters.

    progress: a flows.progress.ProgressPlan (the stage's input units and the folder its workers mark
    them done in); while the job runs, a thread polls that folder and shows files done / total,
    records/s and ETA in the log and the CLI's progress bar — on every runner, since Beam counters are
    not live on all of them. Runner failures that a retry can get past (job not accepted, worker
    lost) are raised as typed flows.retries.TransientRunnerError; everything else as it came.
    """
    import apache_beam as beam

    from flows.progress import watch
    from flows.retries import transient_error
    from pipelines.counters import metrics_by_name
    from pipelines.runners import RunnerOptionsError, pipeline_options

    options = pipeline_options(runner_spec(cfg), job_name=f"xlcorpus-{stage}-{config_hash(cfg)[:8]}")
    try:
        pipeline = beam.Pipeline(options=options)
    except ValueError as e:  # Beam's own option validation (bucket names, project ids, ...)
        raise RunnerOptionsError(f"runner {cfg.runner.kind!r}: Beam rejects the options: {e}") from e
    build(pipeline)
    plan = _DRY_RUN.get()
    if plan is not None:
        plan.record(stage, pipeline, options)
        raise DryRunStop(stage)
    submitted = False
    try:
        with watch(stage, progress):
            result = pipeline.run()  # in-process runners run the whole job here; remote ones submit it
            submitted = True
            state = result.wait_until_finish()
    except Exception as e:
        transient = transient_error(e, submitted, stage)
        if transient is not None:
            raise transient from e
        raise
    _check_final_state(stage, state)
    return metrics_by_name(result, stage)


# --- dry run: build each stage's pipeline, describe it, run nothing, mark nothing done -------------


class DryRunStop(Exception):
    """Raised by run_beam in a dry run once the stage's pipeline is built and described."""


@dataclass
class DryRunPlan:
    graph_dir: str  # local folder for <stage>.graph.json
    graphs: dict[str, dict] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def record(self, stage: str, pipeline, options) -> None:
        from pipelines.runners import pipeline_graph

        graph = pipeline_graph(pipeline, options)
        graph["stage"] = stage
        graph["pipeline_args"] = options.get_all_options(drop_default=True, retain_unknown_options=True)
        os.makedirs(self.graph_dir, exist_ok=True)
        path = os.path.join(self.graph_dir, f"{stage}.graph.json")
        _write_text(path, json.dumps(graph, indent=2, sort_keys=True, default=str) + "\n")
        self.graphs[stage] = graph
        self.files[stage] = path


_DRY_RUN: ContextVar[DryRunPlan | None] = ContextVar("xlcorpus_dry_run", default=None)


@contextmanager
def dry_run(graph_dir: str) -> Iterator[DryRunPlan]:
    """Within this block run_stage only builds pipelines (run_beam describes them, then stops)."""
    plan = DryRunPlan(graph_dir)
    token = _DRY_RUN.set(plan)
    try:
        yield plan
    finally:
        _DRY_RUN.reset(token)


def _dry_run_stage(stage: str, key: str, up_to_date: bool, body: Callable[[str], dict], say) -> StageReport:
    # The body writes into a throwaway folder, never OUT: a dry run must leave nothing behind.
    scratch = tempfile.mkdtemp(prefix=f"xlcorpus-dryrun-{stage}-")
    try:
        body(scratch)
        built = False  # the body finished without building a Beam pipeline
    except DryRunStop:
        built = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say(f"[{stage}] dry run: {'pipeline built' if built else 'no Beam pipeline'}; "
        f"{'up to date, a real run would skip it' if up_to_date else 'a real run would run it'}")
    return StageReport(stage, key, True, 0.0, {}, {}, {"dry_run": True, "pipeline": built, "up_to_date": up_to_date})


# --- helpers of run_beam ---------------------------------------------------------------------------


class JobNotDoneError(RuntimeError):
    """A Beam job that ended without failing but without finishing (cancelled, drained)."""


def _check_final_state(stage: str, state) -> None:
    """A job that ended CANCELLED/DRAINED/UPDATED did not produce the stage's outputs: say so, never
    commit them. (Runners that report no state, as the in-process one after run(), pass.)"""
    from apache_beam.runners.runner import PipelineState

    if state is None or state == PipelineState.DONE:
        return
    if state in (PipelineState.CANCELLED, PipelineState.DRAINED, PipelineState.UPDATED):
        raise JobNotDoneError(f"[{stage}] the Beam job ended in state {state} (cancelled or drained from outside); "
                              "nothing of the stage is committed: run the build again")

