"""Stage `tokenizer`: SentencePiece trained on an exponentially smoothed multilingual sample.

Reads whichever text products exist (documents, pairs, code-switched samples), draws the sample
with a Beam pipeline (pipelines.tokenizer.sample: per-shard sample files in the staging area, so
nothing corpus-sized runs on the driver), trains SentencePiece on those files streamed in order,
single-threaded by default (byte-identical spm.model for the same input + config), and writes
OUT/tokenizer/: spm.model, spm.vocab, sample_stats.json and hf/ (a Hugging Face fast tokenizer with
the same ids).
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile

from flows.config import Config, ConfigError
from flows.stage_runner import Product, StageReport, exists, fingerprint_product, run_beam, run_stage
from schemas.manifest import MANIFEST_NAME

STAGE = "tokenizer"
PRODUCT = "tokenizer"
UPSTREAM_STAGES = ("mono", "wiki", "parallel")
STATS_FORMAT = 2  # 2: hash-threshold draw by a Beam pipeline; languages[*] gained "target"
SAMPLE_DIR = "_sample"  # under the stage's staging area; removed when the stage commits


def source_dirs(cfg: Config) -> dict[str, str]:
    """rel → full path of every configured source product that exists (has a manifest)."""
    out = {}
    for rel in cfg.tokenizer.sources:
        d = posixpath.join(cfg.out, rel)
        if exists(posixpath.join(d, MANIFEST_NAME)):
            out[rel] = d
    return out


def upstream_enabled(cfg: Config) -> bool:
    import importlib

    return any(
        s in cfg.stages and importlib.import_module(f"flows.stages.{s}").enabled(cfg) for s in UPSTREAM_STAGES
    )


def enabled(cfg: Config) -> bool:
    """Something to train on: a source product on disk, or an enabled stage that will write one."""
    return bool(source_dirs(cfg)) or upstream_enabled(cfg)


def _put(local: str, uri: str) -> None:
    """Copy a local file to a local path or remote URI (the staging root may be gs:// / s3://)."""
    from pipelines.shards import filesystem

    fs, p = filesystem(uri)
    fs.create_dir(posixpath.dirname(p), recursive=True)
    with open(local, "rb") as src, fs.open_output_stream(p) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def sample_settings(cfg: Config):
    from pipelines.tokenizer.sample import SampleSettings

    t = cfg.tokenizer
    return SampleSettings(total=t.sample_sentences, alpha=t.alpha, seed=cfg.seed,
                          allowed=frozenset(cfg.languages) if cfg.languages else None, max_chars=t.max_sentence_chars)


def build(cfg: Config, sources: dict[str, str], out_dir: str, work: str, sample_dir: str,
          staging: str = "") -> dict[str, int]:
    """Sample (a Beam pipeline writing sample_dir), train, export; writes the product files under
    out_dir. Returns counters. staging: the run's staging folder (live progress of the sample; "" = none)."""
    from pipelines.tokenizer.hf import save_hf
    from pipelines.tokenizer.proto import scrub_paths
    from pipelines.tokenizer.sample import DrawSample, SampleReader, describe, list_sample_files
    from pipelines.tokenizer.sources import shard_paths
    from pipelines.tokenizer.train import (
        MASK,
        TrainError,
        TrainSettings,
        marker_symbols,
        tokenizer_info,
        train_spm,
    )

    t = cfg.tokenizer
    s = sample_settings(cfg)
    shards = [p for rel in sorted(sources) for p in shard_paths(sources[rel])]
    plan = None
    if staging:  # both passes over every shard are marked done: the live progress of the sample
        from flows.progress import ProgressPlan, progress_dir
        from pipelines.tokenizer.sample import progress_units

        plan = ProgressPlan(progress_dir(staging), dict.fromkeys(progress_units(shards), 1), "shard passes")
    counters = run_beam(cfg, STAGE, lambda p: p | "Sample" >> DrawSample(
        shards, sample_dir, s, plan.directory if plan else ""), progress=plan)
    sample = describe(counters, list_sample_files(sample_dir), s)
    if not sample.languages:
        raise ConfigError(f"tokenizer: no usable sentence in the tokenizer's input products "
                          f"(sources: {', '.join(sorted(sources))})")
    marker_langs = sorted(s.allowed) if s.allowed else sample.seen_languages
    symbols = [MASK] + marker_symbols(marker_langs) + [x for x in t.extra_symbols if x != MASK]
    settings = TrainSettings(
        model_type=t.model_type, vocab_size=t.vocab_size, character_coverage=t.character_coverage,
        byte_fallback=t.byte_fallback, normalization=t.normalization, max_sentence_chars=t.max_sentence_chars,
        hard_vocab_limit=t.hard_vocab_limit, num_threads=t.num_threads,
    )
    prefix = os.path.join(work, "spm")
    lines = SampleReader(sample.files)  # streamed from the files the pipeline wrote, in order
    try:
        train_spm(lines, prefix, symbols, settings, os.path.join(work, "train.log"))
    except TrainError as e:
        raise ConfigError(f"tokenizer: {e}") from e
    if lines.lines != sample.lines:
        raise ConfigError(f"tokenizer: the sample files under {sample_dir} hold {lines.lines} lines, the pipeline "
                          f"counted {sample.lines}: something else wrote there; rerun with --force")
    with open(prefix + ".model", "rb") as f:
        model = scrub_paths(f.read())  # no machine paths inside: same bytes wherever it runs
    with open(prefix + ".model", "wb") as f:
        f.write(model)
    hf_local = os.path.join(work, "hf")
    save_hf(model, t.model_type, hf_local)
    info = tokenizer_info(model)
    stats = {
        "format": STATS_FORMAT, "alpha": t.alpha, "seed": cfg.seed,
        "sample_sentences": t.sample_sentences, "sample_lines": sample.lines, "sample_sha256": lines.sha256,
        "sources": {rel: fingerprint_product(d) for rel, d in sorted(sources.items())},
        "languages": sample.languages,
        "tokenizer": {**info, "model_type": t.model_type, "symbols": symbols},
    }
    stats_path = os.path.join(work, "sample_stats.json")
    with open(stats_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(stats, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    _put(prefix + ".model", posixpath.join(out_dir, "spm.model"))
    _put(prefix + ".vocab", posixpath.join(out_dir, "spm.vocab"))
    _put(stats_path, posixpath.join(out_dir, "sample_stats.json"))
    for name in sorted(os.listdir(hf_local)):
        _put(os.path.join(hf_local, name), posixpath.join(out_dir, "hf", name))
    # Per-language facts are in sample_stats.json; the stage's counters keep the totals.
    counters = {k: v for k, v in counters.items() if not k.startswith(("sample[", "markers["))}
    counters["sample.lines"] = sample.lines
    counters["vocab.size"] = info["vocab_size"]
    counters["vocab.markers"] = len(info["markers"])
    return counters


def run(cfg: Config, force: bool = False, log_fn=None) -> StageReport:
    sources = source_dirs(cfg)
    if not sources:
        raise ConfigError(
            f"tokenizer: none of {', '.join(cfg.tokenizer.sources)} exists under {cfg.out}: "
            "run the mono / wiki / parallel stages first (or set tokenizer.sources)"
        )
    fingerprints = {rel: fingerprint_product(d) for rel, d in sources.items()}

    def body(staging: str) -> dict[str, int]:
        with tempfile.TemporaryDirectory(prefix="xlcorpus-tokenizer-") as work:
            return build(cfg, sources, posixpath.join(staging, PRODUCT), work, posixpath.join(staging, SAMPLE_DIR),
                         staging)

    return run_stage(cfg, STAGE, cfg.tokenizer, fingerprints, [Product(PRODUCT, None)], body, force=force,
                     log_fn=log_fn)


def read_stats(cfg: Config) -> dict | None:
    from pipelines.shards import filesystem

    fs, p = filesystem(posixpath.join(cfg.out, PRODUCT, "sample_stats.json"))
    try:
        with fs.open_input_stream(p) as f:
            return json.loads(f.read().decode())
    except (FileNotFoundError, OSError):
        return None


def summarize(cfg: Config, result: dict):
    from rich.table import Table

    stats = read_stats(cfg)
    if stats is None:
        return None
    tok = stats["tokenizer"]
    table = Table(title=f"tokenizer: {tok['model_type']} vocab {tok['vocab_size']}, α={stats['alpha']}, "
                        f"{stats['sample_lines']} sampled lines")
    for col in ("language", "available", "target", "sampled", "distinct", "p raw", "p smoothed"):
        table.add_column(col, justify="left" if col == "language" else "right")
    for lang, s in stats["languages"].items():
        table.add_row(lang, str(s["available"]), str(s.get("target", "-")), str(s["sampled"]), str(s["distinct"]),
                      f"{s['p_raw']:.3f}", f"{s['p_smoothed']:.3f}")
    return table
