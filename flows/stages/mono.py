"""Stage `mono`: WARC/WET/JSONL/Parquet → documents/ (Parquet per language) + rejects/mono/."""

from __future__ import annotations

import posixpath

from flows.config import Config, ConfigError
from flows.stage_runner import Product, StageReport, expand_inputs, fingerprint_file, run_beam, run_stage
from schemas.documents import DOCUMENTS, REJECTS

STAGE = "mono"
DOCUMENTS_DIR = "documents"
REJECTS_DIR = "rejects/mono"


def enabled(cfg: Config) -> bool:
    return bool(cfg.mono.inputs)


def make_params(cfg: Config, files: list[str], staging_root: str):
    """pipelines.mono.params.MonoParams from the config (plain values for the Beam workers)."""
    from pipelines.mono.params import LidParams, MonoParams
    from pipelines.quality import QualityFilters

    m = cfg.mono
    neardup = None
    if cfg.neardup.enabled:
        try:
            import pipelines.neardup.transform  # noqa: F401
        except ModuleNotFoundError as e:
            raise ConfigError("neardup.enabled is true but pipelines.neardup is not installed; "
                              "set neardup.enabled: false") from e
        neardup = cfg.neardup.to_params()
    return MonoParams(
        files=tuple(files),
        out_documents=posixpath.join(staging_root, DOCUMENTS_DIR),
        out_rejects=posixpath.join(staging_root, REJECTS_DIR),
        lid=LidParams(model_path=m.lid_model_path, threshold=m.lid_threshold, thresholds=dict(m.lid_thresholds),
                      languages=tuple(m.languages), per_line=m.lid_per_line),
        quality=QualityFilters(**m.quality.model_dump()),
        html_main_content=m.html_main_content,
        text_field=m.text_field,
        dedup_docs=m.dedup_docs,
        dedup_lines=m.dedup_lines,
        min_chars_after_dedup=m.min_chars_after_dedup,
        min_words_after_dedup=m.min_words_after_dedup,
        target_shard_bytes=int(m.target_shard_mb * (1 << 20)),
        batch_size=m.batch_size,
        dedup_partitions=m.dedup_partitions,
        neardup=neardup,
    )


def check_inputs(cfg: Config) -> list[str]:
    """Expanded input files; ConfigError for a pattern matching nothing, an unknown format or a bad
    LID model — caught here, before any worker starts."""
    from pipelines.lid import LanguageIdentifier, LidModelError
    from pipelines.mono.read_docs import UnknownFormatError, detect_format

    files = expand_inputs(cfg.mono.inputs, "mono.inputs")
    for f in files:
        try:
            detect_format(f)
        except UnknownFormatError as e:
            raise ConfigError(f"mono.inputs: {e}") from e
    try:
        LanguageIdentifier(cfg.mono.lid_model_path)
    except LidModelError as e:
        raise ConfigError(f"mono.lid_model_path: {e}") from e
    return files


def run(cfg: Config, force: bool = False, log_fn=None) -> StageReport:
    files = check_inputs(cfg)
    fingerprints = {f: fingerprint_file(f) for f in files}
    section = {"mono": cfg.mono.model_dump(mode="json"), "neardup": cfg.neardup.model_dump(mode="json")}

    def body(staging_root: str) -> dict[str, int]:
        from pipelines.mono.build import build_mono

        params = make_params(cfg, files, staging_root)
        return run_beam(cfg, STAGE, lambda p: build_mono(p, params))

    return run_stage(cfg, STAGE, section, fingerprints,
                     [Product(DOCUMENTS_DIR, DOCUMENTS), Product(REJECTS_DIR, REJECTS)], body,
                     force=force, log_fn=log_fn)


# ------------------------------------------------------------------------------------------ summary


def language_stats(documents_dir: str) -> dict[str, dict]:
    """Per language: kept docs, mean LID score, near-dup clusters with more than one member."""
    from pipelines.shards import iter_shard_batches
    from schemas.manifest import list_shards

    stats: dict[str, dict] = {}
    columns = ["lang", "lang_score", "dup_cluster_id", "dup_cluster_size"]
    for t in (b.to_pydict() for rel in list_shards(documents_dir)
              for b in iter_shard_batches(posixpath.join(documents_dir, rel), columns)):
        for lang, score, cid, size in zip(t["lang"], t["lang_score"], t["dup_cluster_id"], t["dup_cluster_size"],
                                          strict=True):
            s = stats.setdefault(lang, {"kept": 0, "score": 0.0, "clusters": set()})
            s["kept"] += 1
            s["score"] += score
            if size and size > 1:
                s["clusters"].add(cid)
    return stats


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
    stats = language_stats(posixpath.join(cfg.out, DOCUMENTS_DIR))
    by_lang, before = drops_by_lang(counters)
    table = Table(title="mono: documents per language", show_lines=True)
    for col, just in (("language", "left"), ("kept", "right"), ("mean LID score", "right"),
                      ("near-dup clusters", "right"), ("dropped by reason", "left")):
        table.add_column(col, justify=just, no_wrap=col.startswith(("language", "dropped")))
    for lang in sorted(set(stats) | set(by_lang)):
        s = stats.get(lang, {"kept": 0, "score": 0.0, "clusters": set()})
        mean = f"{s['score'] / s['kept']:.3f}" if s["kept"] else "-"
        table.add_row(lang, str(s["kept"]), mean, str(len(s["clusters"])), _fmt(by_lang.get(lang, {})))
    table.add_row("(before LID)", "", "", "", _fmt(before), style="dim")
    agnostic = {r: counters[f"docs.dropped.{r}"] for r in LANGUAGE_AGNOSTIC if counters.get(f"docs.dropped.{r}")}
    if agnostic:
        table.add_row("(all languages)", "", "", "", _fmt(agnostic), style="dim")
    read, kept = counters.get("docs.read", 0), counters.get("docs.kept", 0)
    table.add_row("total", str(kept), "", "", f"{read - kept} of {read} read", style="bold")
    lines_read = counters.get("lines.read", 0)
    lines_dup = counters.get("lines.dropped.duplicate", 0)
    rate = f"{100 * lines_dup / lines_read:.1f}%" if lines_read else "-"
    skipped = sum(v for k, v in counters.items() if k.startswith("warc.skipped."))
    table.caption = (
        f"dedup: {lines_dup} of {lines_read} lines removed ({rate}); "
        f"{counters.get('docs.dropped.exact_duplicate', 0)} exact and "
        f"{counters.get('docs.dropped.near_duplicate', 0)} near-duplicate documents removed; "
        f"{skipped} non-document WARC records skipped"
    )
    return table
