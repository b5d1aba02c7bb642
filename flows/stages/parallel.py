"""Stage `parallel`: parallel corpora → pairs, alignments, lexicon, ALM and dictionary code-switching.

Products (partition = language pair `src-tgt`, rejects by reason): OUT/pairs, OUT/alignments,
OUT/lexicon, OUT/codeswitch/alm, OUT/codeswitch/dict, OUT/rejects/parallel.
"""

from __future__ import annotations

import os
import posixpath

from flows.config import Config, ConfigError
from flows.errors import InputError
from flows.stage_runner import (
    Product,
    StageReport,
    expand_inputs,
    fingerprint_files,
    fingerprint_model,
    run_beam,
    run_stage,
    total_size,
)

STAGE = "parallel"


def enabled(cfg: Config) -> bool:
    return bool(cfg.parallel.inputs)


def input_specs(cfg: Config) -> list:
    """InputSpecs from the config: plain paths/globs (format and pair from the name) or mappings."""
    from pipelines.parallel.readers import ParallelInputError, check_spec, make_spec

    specs = []
    try:
        for entry in cfg.parallel.inputs:
            if isinstance(entry, str):
                specs += [make_spec({"path": f}) for f in expand_inputs([entry], "parallel.inputs")]
                continue
            raw = entry.model_dump(exclude_none=True)
            if raw.get("input_path"):
                for f in expand_inputs([raw["input_path"]], "parallel.inputs"):
                    specs.append(make_spec({**raw, "input_path": f}))
            else:
                specs.append(make_spec(raw))
        for spec in specs:
            check_spec(spec)
    except ParallelInputError as e:
        raise InputError(str(e)) from e
    return specs


def settings(cfg: Config):
    """Plain pipeline settings (pipelines never see pydantic) from the config section."""
    from pipelines.parallel.align import AlignSettings
    from pipelines.parallel.alm import AlmSettings
    from pipelines.parallel.clean import CleanSettings
    from pipelines.parallel.dictcs import DictSettings
    from pipelines.parallel.eflomal_run import EflomalParams
    from pipelines.parallel.pipeline import ParallelSettings
    from pipelines.parallel.priors import PriorsSettings
    from pipelines.parallel.simalign_batched import SimAlignParams

    c = cfg.parallel
    a = c.align
    return ParallelSettings(
        clean=CleanSettings(**c.clean.model_dump()),
        align=AlignSettings(aligner=a.aligner, chunk_size=a.chunk_size, eflomal=EflomalParams(**a.eflomal.model_dump()),
                            simalign=SimAlignParams(**a.simalign.model_dump()),
                            priors=PriorsSettings(**a.priors.model_dump())),
        lexicon_min_count=c.lexicon.min_count,
        alm=AlmSettings(samples=c.alm.samples, max_phrase_words=c.alm.max_phrase_words,
                        max_switch_ratio=c.alm.max_switch_ratio, directions=tuple(c.alm.directions)),
        dict=DictSettings(p=c.dictionary.p, choose=c.dictionary.choose, max_candidates=c.dictionary.max_candidates,
                          samples=c.dictionary.samples),
        make_alm=c.alm.enabled,
        make_dict=c.dictionary.enabled,
        seed=cfg.seed,
        target_shard_bytes=int(c.target_shard_mb * 1024 * 1024),
        max_group=c.hot_key_max_group,
    )


def _check_aligner(cfg: Config) -> None:
    """Fail before the pipeline on an aligner that cannot run (clear message, not a worker traceback)."""
    a = cfg.parallel.align
    if a.aligner == "eflomal":
        from pipelines.parallel.eflomal_run import EflomalSetupError, seed_shim

        try:
            seed_shim()
        except EflomalSetupError as e:
            raise ConfigError(str(e)) from e
        from pipelines.remote_files import exists  # local, gs://, s3://: checked through Beam FileSystems

        if a.eflomal.priors_path and not exists(a.eflomal.priors_path):
            raise ConfigError(f"parallel.align.eflomal.priors_path not found: {a.eflomal.priors_path}")
        if a.eflomal.priors_path:
            from pipelines.parallel.priors import PriorsFileError, check_priors_file
            from pipelines.remote_files import local_copy

            try:
                with open(local_copy(a.eflomal.priors_path), encoding="utf-8") as f:
                    check_priors_file(a.eflomal.priors_path, f)
            except (PriorsFileError, UnicodeDecodeError) as e:
                raise ConfigError(f"parallel.align.eflomal.priors_path: {e}") from e
    else:
        path = a.simalign.model_path
        if not path:
            raise ConfigError("parallel.align.aligner=simalign needs parallel.align.simalign.model_path (a model folder)")
        from pipelines.remote_files import exists  # local, gs://, s3://: checked through Beam FileSystems

        if not exists(posixpath.join(path, "config.json") if "://" in path else os.path.join(path, "config.json")):
            raise ConfigError(f"parallel.align.simalign.model_path {path} is not a model folder (no config.json)")


def run(cfg: Config, force: bool = False, log_fn=None) -> StageReport:
    from pipelines.parallel.pipeline import PRODUCTS, build_parallel, product_names

    specs = input_specs(cfg)
    _check_aligner(cfg)
    s = settings(cfg)
    sources = sorted({f for spec in specs for f in spec.sources})
    fingerprints = fingerprint_files(sources) | model_fingerprints(cfg)
    names = product_names(s)
    products = [Product(PRODUCTS[n][0], PRODUCTS[n][1], ROWS_FROM[n]) for n in names]

    def body(staging: str) -> dict[str, int]:
        import dataclasses

        from flows.progress import files_plan, progress_dir
        from pipelines.parallel.transforms import ALIGN_UNIT, progress_unit

        # the reader marks each input done there, the aligner each chunk: the live progress of the stage
        run_s = dataclasses.replace(s, progress_dir=progress_dir(staging))
        plan = files_plan(staging, [progress_unit(spec) for spec in specs], label="parts")
        # alignment takes most of the stage's time: weigh its chunks (together) at 3× reading the input
        plan.units[ALIGN_UNIT] = 3 * sum(plan.units.values())
        counters = run_beam(cfg, STAGE, lambda p: build_parallel(p, specs, run_s, staging), progress=plan)
        if counters.get(f"pairs.dropped.{LENGTH_MISMATCH}"):  # found while reading: stop before committing
            raise InputError(_mismatch_message(posixpath.join(staging, PRODUCTS["rejects"][0], LENGTH_MISMATCH)))
        return counters

    return run_stage(cfg, STAGE, cfg.parallel, fingerprints, products, body, force=force, log_fn=log_fn,
                     input_bytes=total_size(sources))


# The counters each product's row count must equal (checked by `xlcorpus validate`).
ROWS_FROM = {"pairs": ("pairs.kept",), "alignments": ("align.kept",), "align_priors": ("align_priors.entries.*",),
             "lexicon": ("lexicon.kept",),
             "alm": ("alm.samples",), "dict": ("dict.samples",), "rejects": ("pairs.dropped.*", "align.dropped.*")}


def model_fingerprints(cfg: Config) -> dict[str, str]:
    """The model files this configuration runs, by full content: a changed model reruns the stage."""
    c = cfg.parallel
    out = {}
    if c.clean.lid:
        out["model:lid"] = fingerprint_model(c.clean.lid_model_path)
    if c.align.aligner == "simalign":
        out["model:simalign"] = fingerprint_model(c.align.simalign.model_path)
    elif c.align.eflomal.priors_path:
        out["model:eflomal_priors"] = fingerprint_model(c.align.eflomal.priors_path)
    return out


LENGTH_MISMATCH = "length_mismatch"


def _mismatch_message(reason_dir: str) -> str:
    """One line from the length_mismatch rejects (one row per Moses pair of unequal files)."""
    from pipelines.shards import records

    details = sorted({r["detail"] for r in records(reason_dir)})
    return details[0] + (f" (and {len(details) - 1} more Moses pairs of unequal length)" if len(details) > 1 else "")


def _partitions(cfg: Config, rel: str) -> dict[str, int]:
    from schemas.manifest import ManifestError, read_manifest

    try:
        return read_manifest(posixpath.join(cfg.out, rel)).partitions
    except ManifestError:
        return {}


def summarize(cfg: Config, result: dict):
    """Per language pair: read / kept / dropped by reason, aligned, lexicon entries, ALM / dict samples."""
    from rich.table import Table

    counters = result.get("counters") or {}
    pairs = sorted({k[len("pairs["): k.index("]")] for k in counters if k.startswith("pairs[")})
    aligned, lexicon = _partitions(cfg, "alignments"), _partitions(cfg, "lexicon")
    alm, dict_cs = _partitions(cfg, "codeswitch/alm"), _partitions(cfg, "codeswitch/dict")
    table = Table(title="parallel: pairs, alignments, lexicon, code-switching", show_lines=True)
    for col in ("pair", "read", "kept", "dropped (by reason)", "aligned", "lexicon", "ALM", "dict"):
        table.add_column(col, justify="left" if col in ("pair", "dropped (by reason)") else "right",
                         no_wrap=col in ("pair", "dropped (by reason)"))
    for key in pairs:
        unit = f"pairs[{key}]"
        dropped = {k[len(unit) + len(".dropped."):]: v for k, v in counters.items() if k.startswith(f"{unit}.dropped.")}
        table.add_row(key, str(counters.get(f"{unit}.read", 0)), str(counters.get(f"{unit}.kept", 0)),
                      "\n".join(f"{r}={n}" for r, n in sorted(dropped.items())) or "-", str(aligned.get(key, 0)),
                      str(lexicon.get(key, 0)), str(alm.get(key, 0)), str(dict_cs.get(key, 0)))

    def mean(kind: str) -> str:
        n = counters.get(f"{kind}.samples", 0)
        return f"{counters.get(f'{kind}.switched_ppm', 0) / 1e6 / n:.1%}" if n else "-"

    skipped = counters.get("align.dropped.too_long_for_aligner", 0)
    table.caption = (f"mean switched fraction: ALM {mean('alm')}, dict {mean('dict')}; "
                     f"over the aligner's length limit: {skipped}; aligned with shared priors: "
                     f"{counters.get('align.with_priors', 0)} (pass-1 sample {counters.get('align_priors.sample.kept', 0)})")
    return table
