"""Stage `mono`: WARC/WET/JSONL/Parquet → documents/ (Parquet per language) + rejects/mono/."""

from __future__ import annotations

import posixpath

from flows.config import Config, ConfigError
from flows.fingerprints import total_size
from flows.stage_runner import (
    Product,
    StageReport,
    expand_inputs,
    fingerprint_files,
    fingerprint_model,
    run_beam,
    run_stage,
)
from schemas.documents import DOCUMENTS, REJECTS

STAGE = "mono"
DOCUMENTS_DIR = "documents"
REJECTS_DIR = "rejects/mono"
WORK_DIR = "_work"  # chunks and pieces of the two passes; removed with the staging area


def enabled(cfg: Config) -> bool:
    return bool(cfg.mono.inputs)


def make_params(cfg: Config, inputs: list[tuple[str, str]], staging_root: str, progress_dir: str = ""):
    """pipelines.mono.params.MonoParams from the config (plain values for the Beam workers)."""
    from pipelines.lid import merged_thresholds
    from pipelines.mono.params import LidParams, MonoParams
    from pipelines.quality import QualityFilters

    m = cfg.mono
    neardup = None
    if cfg.neardup.enabled:
        neardup = cfg.neardup.to_params()
    return MonoParams(
        inputs=tuple(inputs),
        out_documents=posixpath.join(staging_root, DOCUMENTS_DIR),
        out_rejects=posixpath.join(staging_root, REJECTS_DIR),
        work_dir=posixpath.join(staging_root, WORK_DIR),
        lid=LidParams(model_path=m.lid_model_path, threshold=m.lid_threshold,
                      thresholds=merged_thresholds(m.lid_thresholds_path, dict(m.lid_thresholds)),
                      languages=tuple(m.languages), per_line=m.lid_per_line, split_mixed=m.split_mixed,
                      split_mixed_min_lines=m.split_mixed_min_lines, split_mixed_action=m.split_mixed_action),
        quality=QualityFilters(**m.quality.model_dump()),
        html_main_content=m.html_main_content,
        text_field=m.text_field,
        dedup_docs=m.dedup_docs,
        dedup_lines=m.dedup_lines,
        min_chars_after_dedup=m.min_chars_after_dedup,
        min_words_after_dedup=m.min_words_after_dedup,
        target_shard_bytes=int(m.target_shard_mb * (1 << 20)),
        batch_size=m.batch_size,
        chunk_bytes=int(m.chunk_mb * (1 << 20)),
        dedup_keys_per_range=m.dedup_keys_per_range,
        neardup=neardup,
        max_doc_chars=m.max_doc_chars,
        progress_dir=progress_dir,
    )


def check_inputs(cfg: Config) -> list[tuple[str, str]]:
    """(path, source name) of every input file, sorted by name; ConfigError for a pattern matching
    nothing, an unknown format or a bad LID model — caught here, before any worker starts.

    The source name is the path relative to its pattern's root (the URI as given for remote files), so
    the same crawl in another folder gives the same shards."""
    from pipelines.lid import LanguageIdentifier, LidModelError, LidThresholdsError, merged_thresholds
    from pipelines.mono.read_docs import UnknownFormatError, detect_format

    inputs: dict[str, str] = {}
    for pattern in cfg.mono.inputs:
        for f in expand_inputs([pattern], "mono.inputs"):
            inputs.setdefault(f, source_name(f, pattern))
    for f in inputs:
        try:
            detect_format(f)
        except UnknownFormatError as e:
            raise ConfigError(f"mono.inputs: {e}") from e
    try:
        LanguageIdentifier(cfg.mono.lid_model_path)
    except LidModelError as e:
        raise ConfigError(f"mono.lid_model_path: {e}") from e
    try:
        merged_thresholds(cfg.mono.lid_thresholds_path, dict(cfg.mono.lid_thresholds))
    except LidThresholdsError as e:
        raise ConfigError(f"mono.lid_thresholds_path: {e}") from e
    return sorted(inputs.items(), key=lambda kv: (kv[1], kv[0]))


def source_name(path: str, pattern: str) -> str:
    """What records read from `path` carry as `source` (pipelines.mono.sources.display_source)."""
    from pipelines.mono.sources import SourceOutsidePatternError, display_source

    try:
        return display_source(path, pattern)
    except SourceOutsidePatternError as e:
        raise ConfigError(f"mono.inputs: {e}") from e


def run(cfg: Config, force: bool = False, log_fn=None) -> StageReport:
    inputs = check_inputs(cfg)
    by_path = fingerprint_files([path for path, _ in inputs])  # full content, hashed in parallel
    fingerprints = {source: by_path[path] for path, source in inputs}  # keyed by name: location-free
    fingerprints["model:lid"] = fingerprint_model(cfg.mono.lid_model_path)
    if cfg.mono.lid_thresholds_path:
        fingerprints["file:lid_thresholds"] = fingerprint_model(cfg.mono.lid_thresholds_path)
    section = {"mono": cfg.mono.model_dump(mode="json"), "neardup": cfg.neardup.model_dump(mode="json")}

    def body(staging_root: str) -> dict[str, int]:
        from flows.progress import files_plan
        from pipelines.mono.build import build_mono

        plan = files_plan(staging_root, [path for path, _ in inputs])
        params = make_params(cfg, inputs, staging_root, plan.directory)
        return run_beam(cfg, STAGE, lambda p: build_mono(p, params), progress=plan)

    # Every kept document is a row of documents/, every dropped one a row of rejects/mono/.
    products = [Product(DOCUMENTS_DIR, DOCUMENTS, rows_from=("docs.kept",)),
                Product(REJECTS_DIR, REJECTS, rows_from=("docs.dropped.*",))]
    return run_stage(cfg, STAGE, section, fingerprints, products, body, force=force, log_fn=log_fn,
                     input_bytes=total_size(path for path, _ in inputs))


# ------------------------------------------------------------------------------------------ summary


def language_stats(counters: dict[str, int]) -> dict[str, dict]:
    """Per language, from the stage's counters (never a scan of the documents): kept docs, mean LID
    score, near-dup clusters (kept documents standing for more than one), mean line_lang_frac."""
    stats: dict[str, dict] = {}
    for k, v in counters.items():
        if k.startswith("by_lang.") and k.endswith(".kept"):
            stats.setdefault(k[len("by_lang."):-len(".kept")], {})["kept"] = v
        elif k.startswith("lang_stats."):
            lang, what = k[len("lang_stats."):].rsplit(".", 1)
            stats.setdefault(lang, {})[what] = v
    out = {}
    for lang, s in stats.items():
        kept = s.get("kept", 0)
        n_frac = s.get("line_lang_docs", 0)
        out[lang] = {"kept": kept, "score": s.get("score_milli", 0) / 1000 / kept if kept else None,
                     "clusters": s.get("dup_clusters", 0),
                     "line_lang_frac": s.get("line_lang_frac_milli", 0) / 1000 / n_frac if n_frac else None}
    return out


# Reasons counted without a language by their step (near-dedup): shown in their own row.
LANGUAGE_AGNOSTIC = ("near_duplicate",)


def drops_by_lang(counters: dict[str, int]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """({lang: {reason: n}}, {reason: n} for documents dropped before they had a language)."""
    by_lang: dict[str, dict[str, int]] = {}
    for k, v in counters.items():
        if k.startswith("by_lang.") and not k.endswith(".kept"):
            lang, reason = k[len("by_lang."):].rsplit(".", 1)
            by_lang.setdefault(lang, {})[reason] = v
    before: dict[str, int] = {}
    for k, v in counters.items():
        if k.startswith("docs.dropped."):
            reason = k[len("docs.dropped."):]
            if reason in LANGUAGE_AGNOSTIC:
                continue
            n = v - sum(d.get(reason, 0) for d in by_lang.values())
            if n:
                before[reason] = n
    return by_lang, before


def _fmt(drops: dict[str, int]) -> str:
    return "\n".join(f"{r} {n}" for r, n in sorted(drops.items())) or "-"


def summarize(cfg: Config, result: dict):
    from rich.table import Table

    counters = result.get("counters", {})
    stats = language_stats(counters)
    by_lang, before = drops_by_lang(counters)
    table = Table(title="mono: documents per language", show_lines=True)
    per_line = any(s["line_lang_frac"] is not None for s in stats.values())
    columns = [("language", "left"), ("kept", "right"), ("mean LID score", "right"), ("near-dup clusters", "right")]
    if per_line:
        columns.append(("lines in its language", "right"))
    for col, just in [*columns, ("dropped by reason", "left")]:
        table.add_column(col, justify=just, no_wrap=col.startswith(("language", "dropped")))
    pad = [""] * (len(columns) - 1)
    for lang in sorted(set(stats) | set(by_lang)):
        s = stats.get(lang, {"kept": 0, "score": None, "clusters": 0, "line_lang_frac": None})
        row = [lang, str(s["kept"]), f"{s['score']:.3f}" if s["score"] is not None else "-", str(s["clusters"])]
        if per_line:
            row.append(f"{s['line_lang_frac']:.1%}" if s["line_lang_frac"] is not None else "-")
        table.add_row(*row, _fmt(by_lang.get(lang, {})))
    table.add_row("(before LID)", *pad, _fmt(before), style="dim")
    agnostic = {r: counters[f"docs.dropped.{r}"] for r in LANGUAGE_AGNOSTIC if counters.get(f"docs.dropped.{r}")}
    if agnostic:
        table.add_row("(all languages)", *pad, _fmt(agnostic), style="dim")
    read, kept = counters.get("docs.read", 0), counters.get("docs.kept", 0)
    created = sum(v for k, v in counters.items() if k.startswith("docs.created."))  # split off mixed pages
    table.add_row("total", str(kept), *pad[1:], f"{read + created - kept} of {read} read"
                  + (f" + {created} split off" if created else ""), style="bold")
    lines_read = counters.get("lines.read", 0)
    lines_dup = counters.get("lines.dropped.duplicate", 0)
    rate = f"{100 * lines_dup / lines_read:.1f}%" if lines_read else "-"
    skipped = sum(v for k, v in counters.items() if k.startswith("warc.skipped."))
    table.caption = (
        f"dedup: {lines_dup} of {lines_read} lines removed ({rate}); "
        f"{counters.get('docs.dropped.exact_duplicate', 0)} exact and "
        f"{counters.get('docs.dropped.near_duplicate', 0)} near-duplicate documents removed; "
        f"{skipped} non-document WARC records skipped"
        + _script_caption(counters) + _shuffle_caption(counters)
    )
    return table


def _script_caption(counters: dict[str, int]) -> str:
    fixed = counters.get("lid.script_corrected", 0)
    model = counters.get("lid.script_from_model", 0)
    text = counters.get("lid.script_from_text", 0)
    if not (fixed or model or text):
        return ""
    split = counters.get("docs.created.split_mixed", 0)
    dropped_lines = counters.get("mixed_lines.dropped.foreign_run", 0)
    mixed = (f"; mixed-language pages: {counters.get('mixed.docs_split', 0)}, {split} documents split off, "
             f"{dropped_lines} foreign lines dropped") if "mixed_lines.read" in counters else ""
    return (f"; scripts: {model} from the LID model, {text} from the text, "
            f"{fixed} corrected to the language's own script") + mixed


def _shuffle_caption(counters: dict[str, int]) -> str:
    from pipelines.shuffle_counters import shuffle_bytes

    text = counters.get("input.text_bytes", 0)
    moved = shuffle_bytes(counters)
    if not text:
        return ""
    return f"; shuffles carried {moved / 1e6:.2f} MB for {text / 1e6:.2f} MB of text ({moved / text:.3f}×)"
