"""Run one stage: skip when done, stage outputs in a temporary place, commit, write manifests.

A stage's *key* is a hash of its config section, its input fingerprints (files, or the manifests of
the upstream products it reads), the seed and the code version. When OUT/_stages/<stage>.json holds
the same key and every product manifest is there, the stage is skipped. Otherwise it writes under
OUT/_staging/<stage>/, its manifests are built and reconciled there, the product directories are
moved into place, and the marker is written last — a run killed mid-stage leaves nothing marked done.
"""

from __future__ import annotations

import glob
import hashlib
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
from pathlib import Path

import pyarrow as pa

from flows.config import Config, ConfigError, canonical_json, config_hash
from schemas.manifest import MANIFEST_NAME, Manifest, ManifestError, build_manifest, reconcile, write_manifest

log = logging.getLogger("xlcorpus")

_CODE_VERSION: str | None = None


def code_version() -> str:
    """Package version + a hash of the project's source, so a code change invalidates stage keys."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("xlcorpus")
        except PackageNotFoundError:
            v = "0+unknown"
        h = hashlib.sha256()
        root = Path(__file__).resolve().parent.parent
        for pkg in ("schemas", "pipelines", "flows", "xlmodel"):
            for f in sorted((root / pkg).rglob("*.py")):
                h.update(f.relative_to(root).as_posix().encode())
                h.update(f.read_bytes())
        _CODE_VERSION = f"{v}+{h.hexdigest()[:12]}"
    return _CODE_VERSION


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


def fingerprint_file(path: str) -> str:
    """size + hash of the first and last MiB: cheap, and changes when the content is replaced."""
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
        with FileSystems.open(path, compression_type="uncompressed") as f:
            head = f.read(1 << 20)
        tail = b""
    else:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(1 << 20)
            if size > 2 << 20:
                f.seek(size - (1 << 20))
            tail = f.read(1 << 20) if size > 1 << 20 else b""
    return f"{size}:{hashlib.blake2b(head + tail, digest_size=16).hexdigest()}"


def fingerprint_product(product_dir: str) -> str:
    """An upstream product is fingerprinted by its manifest (which holds every shard's sha256)."""
    path = posixpath.join(product_dir, MANIFEST_NAME)
    try:
        data = _read_bytes(path)
    except FileNotFoundError as e:
        raise ConfigError(f"{product_dir} has no manifest: run the stage that produces it first") from e
    return hashlib.blake2b(data, digest_size=16).hexdigest()


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
    schema=None it is an opaque directory (a tokenizer model, a checkpoint) that is committed as is."""

    rel_dir: str  # relative to OUT: "documents", "rejects/mono", "codeswitch/alm", "tokenizer"
    schema: pa.Schema | None


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
         "seed": cfg.seed, "languages": cfg.languages, "code": code_version()}
    )


def marker_path(cfg: Config, stage: str) -> str:
    return posixpath.join(cfg.out, "_stages", f"{stage}.json")


def read_marker(cfg: Config, stage: str) -> dict | None:
    try:
        return json.loads(_read_bytes(marker_path(cfg, stage)))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


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
) -> StageReport:
    """Run `body(staging_root)` unless the stage is already done with the same key.

    body writes each product under ``staging_root/<product.rel_dir>`` and returns the stage's counters.
    extra(staging_root) may return stage-specific facts stored in every manifest's `extra`.
    """
    say = log_fn or log.info
    key = stage_key(cfg, stage, section, fingerprints)
    marker = read_marker(cfg, stage)
    final_dirs = {p.rel_dir: posixpath.join(cfg.out, p.rel_dir) for p in products}
    if _DRY_RUN.get() is not None:
        up_to_date = marker is not None and marker.get("key") == key
        return _dry_run_stage(stage, key, up_to_date and not force, body, say)
    if (
        not force
        and marker is not None
        and marker.get("key") == key
        and all(
            exists(posixpath.join(d, MANIFEST_NAME)) if p.schema is not None else exists(d)
            for p, d in zip(products, final_dirs.values(), strict=True)
        )
    ):
        from schemas.manifest import read_manifest

        say(f"[{stage}] up to date (key {key}); skipped")
        manifests = {p.rel_dir: read_manifest(final_dirs[p.rel_dir]) for p in products if p.schema is not None}
        counters = marker.get("counters", {})
        return StageReport(stage, key, True, 0.0, counters, manifests, marker.get("extra", {}))

    staging = posixpath.join(cfg.out, "_staging", stage)
    _remove_tree(staging)
    t0 = time.perf_counter()
    say(f"[{stage}] running (key {key})")
    counters = body(staging)
    problems = reconcile(counters)
    if problems:
        raise ManifestError(f"[{stage}] counters do not reconcile: " + "; ".join(problems))
    facts = extra(staging) if extra else {}
    manifests: dict[str, Manifest] = {}
    for p in products:
        if p.schema is None:
            continue
        # A shard product with no rows still gets its directory: write_manifest creates it.
        d = posixpath.join(staging, p.rel_dir)
        m = build_manifest(d, p.schema, stage, counters, key, fingerprints, code_version(), facts)
        write_manifest(d, m)
        manifests[p.rel_dir] = m
    # Commit: replace each product directory, then write the marker (last, so a crash re-runs).
    for p in products:
        if not exists(posixpath.join(staging, p.rel_dir)):
            raise ManifestError(f"[{stage}] produced no {p.rel_dir}/ directory (nothing to commit)")
        _remove_tree(final_dirs[p.rel_dir])
        _move_tree(posixpath.join(staging, p.rel_dir), final_dirs[p.rel_dir])
    _remove_tree(staging)
    seconds = time.perf_counter() - t0
    _write_text(
        marker_path(cfg, stage),
        json.dumps({"stage": stage, "key": key, "products": sorted(final_dirs), "counters": counters,
                    "extra": facts}, indent=2, sort_keys=True) + "\n",
    )
    from flows.stage_summary import summary_line  # one line per stage, not one per counter

    say(f"[{stage}] done in {seconds:.1f}s: {summary_line(counters)}")
    return StageReport(stage, key, False, seconds, counters, manifests, facts)


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
