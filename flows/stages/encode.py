"""Stage `encode`: every text product → token shards (OUT/tokens/<objective>/…) + sampling.json.

mlm from documents, tlm from pairs, cs from ALM/dictionary code-switched samples, entity from
EntityCS samples; each objective is its own product (manifest per objective dir, empty when it
had no input). sampling.json is derived from the committed manifests after the stage, so it is
rewritten identically on a skipped rerun.
"""

from __future__ import annotations

import hashlib
import posixpath

from flows.config import Config, ConfigError
from flows.stage_runner import (
    Product,
    StageReport,
    exists,
    fingerprint_product,
    product_size,
    run_beam,
    run_stage,
)
from schemas.manifest import MANIFEST_NAME, read_manifest
from schemas.tokens import OBJECTIVES

STAGE = "encode"
UPSTREAM_STAGES = ("mono", "wiki", "parallel", "tokenizer")  # whose outputs it reads (build_corpus DAG)
TOKENS_DIR = "tokens"
REJECTS_DIR = "rejects/encode"
SAMPLING_NAME = "sampling.json"
TOKENIZER_MODEL = "tokenizer/spm.model"


def _read(path: str) -> bytes:
    from pipelines.shards import filesystem

    fs, p = filesystem(path)
    with fs.open_input_stream(p) as f:
        return f.read()


def _write(path: str, text: str) -> None:
    from pipelines.shards import filesystem

    fs, p = filesystem(path)
    fs.create_dir(posixpath.dirname(p), recursive=True)
    with fs.open_output_stream(p) as f:
        f.write(text.encode("utf-8"))


def input_dirs(cfg: Config) -> dict[str, list[str]]:
    """objective → product dirs (relative to OUT) configured for it."""
    e = cfg.encode
    wanted = {"mlm": [e.documents], "tlm": [e.pairs], "cs": list(e.codeswitch), "entity": [e.entity]}
    return {obj: wanted[obj] for obj in OBJECTIVES if obj in e.objectives}


def existing_inputs(cfg: Config) -> dict[str, list[str]]:
    """objective → the configured product dirs that exist (have a manifest); others are skipped."""
    return {
        obj: [rel for rel in rels if exists(posixpath.join(cfg.out, rel, MANIFEST_NAME))]
        for obj, rels in input_dirs(cfg).items()
    }


def enabled(cfg: Config) -> bool:
    from flows.stages import tokenizer

    has_tokenizer = exists(posixpath.join(cfg.out, TOKENIZER_MODEL)) or (
        "tokenizer" in cfg.stages and tokenizer.enabled(cfg))
    has_input = any(existing_inputs(cfg).values()) or tokenizer.upstream_enabled(cfg)
    return has_tokenizer and has_input


def products() -> list[Product]:
    from schemas.documents import REJECTS
    from schemas.tokens import TOKENS

    # rows: <objective>.examples per token product; every dropped record writes a rejects row
    return ([Product(f"{TOKENS_DIR}/{obj}", TOKENS, (f"{obj}.examples",)) for obj in OBJECTIVES]
            + [Product(REJECTS_DIR, REJECTS, ("*.dropped.*",))])


def run(cfg: Config, force: bool = False, log_fn=None) -> StageReport:
    from pipelines.encode.pipeline import EncodeSettings, build_encode
    from pipelines.tokenizer.sources import shard_paths

    model_path = posixpath.join(cfg.out, TOKENIZER_MODEL)
    if not exists(model_path):
        raise ConfigError(f"encode: no tokenizer at {model_path}: run the tokenizer stage first")
    inputs = existing_inputs(cfg)
    if not any(inputs.values()):
        wanted = sorted({rel for rels in input_dirs(cfg).values() for rel in rels})
        raise ConfigError(f"encode: none of {', '.join(wanted)} exists under {cfg.out}: run the stages that "
                          "produce them first (or set encode.objectives)")
    model = _read(model_path)
    fingerprints = {rel: fingerprint_product(posixpath.join(cfg.out, rel)) for rels in inputs.values() for rel in rels}
    fingerprints["tokenizer"] = hashlib.sha256(model).hexdigest()
    e = cfg.encode
    settings = EncodeSettings(
        max_tokens=e.max_tokens, tlm_max_tokens_per_side=e.tlm_max_tokens_per_side,
        languages=frozenset(cfg.languages) if cfg.languages else None, spm_threads=e.spm_threads,
    )
    shards = {obj: [p for rel in rels for p in shard_paths(posixpath.join(cfg.out, rel))]
              for obj, rels in inputs.items()}

    def body(staging: str) -> dict[str, int]:
        from flows.progress import files_plan, progress_dir

        out_root = posixpath.join(staging, TOKENS_DIR)
        # every input shard is marked done when encoded: the live progress of the stage
        plan = files_plan(staging, sorted({p for paths in shards.values() for p in paths}), label="shards")
        counters = run_beam(cfg, STAGE, lambda p: build_encode(
            p, shards, model_path, fingerprints["tokenizer"], out_root, posixpath.join(staging, REJECTS_DIR), settings,
            target_shard_bytes=int(e.target_shard_mb * 1024 * 1024),
            compression=None if e.compression == "none" else e.compression, batch_size=e.batch_size,
            source_root=cfg.out, progress_dir=progress_dir(staging)), progress=plan)
        return counters

    input_bytes = sum(product_size(posixpath.join(cfg.out, rel)) for rels in inputs.values() for rel in rels)
    report = run_stage(cfg, STAGE, cfg.encode, fingerprints, products(), body, force=force, log_fn=log_fn,
                       input_bytes=input_bytes)
    write_sampling(cfg)
    return report


def write_sampling(cfg: Config) -> dict:
    """(Re)write OUT/tokens/sampling.json from the committed token shards; checks them against
    their manifests first (a sampling manifest must never disagree with the files it lists)."""
    from pipelines.encode.sampling import build_sampling, dumps, partition_totals

    root = posixpath.join(cfg.out, TOKENS_DIR)
    totals = {}
    for obj in OBJECTIVES:
        d = posixpath.join(root, obj)
        totals[obj] = partition_totals(d, read_manifest(d), obj)  # manifest + counters + a listing: no shard read
    info = _tokenizer_info(cfg)
    sampling = build_sampling(totals, cfg.encode.alpha, cfg.seed, info)
    _write(posixpath.join(root, SAMPLING_NAME), dumps(sampling))
    return sampling


def _tokenizer_info(cfg: Config) -> dict:
    from pipelines.tokenizer.train import tokenizer_info

    info = tokenizer_info(_read(posixpath.join(cfg.out, TOKENIZER_MODEL)))
    return {**info, "model": "../tokenizer/spm.model", "hf_dir": "../tokenizer/hf"}


def read_sampling(cfg: Config) -> dict | None:
    import json

    path = posixpath.join(cfg.out, TOKENS_DIR, SAMPLING_NAME)
    return json.loads(_read(path)) if exists(path) else None


def summarize(cfg: Config, result: dict):
    from rich.table import Table

    sampling = read_sampling(cfg)
    if sampling is None:
        return None
    table = Table(title=f"encode: token streams (α={sampling['alpha']}, vocab {sampling['tokenizer']['vocab_size']})")
    for col in ("objective", "stream", "examples", "tokens", "p raw", "p smoothed"):
        table.add_column(col, justify="left" if col in ("objective", "stream") else "right")
    for obj, o in sampling["objectives"].items():
        for stream, s in o["streams"].items():
            table.add_row(obj, stream, str(s["examples"]), str(s["tokens"]), f"{s['p_raw']:.3f}",
                          f"{s['p_smoothed']:.3f}")
    return table
