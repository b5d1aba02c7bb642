"""Stage `wiki`: Wikipedia XML dump + Wikidata JSON dump → entity_sentences → EntityCS samples.

Products: OUT/entity_sentences/<lang>/, OUT/codeswitch/entitycs/<switched-to lang>/, OUT/rejects/wiki/
(partition = reason) and, with wiki.export_release, OUT/exports/entitycs/<code>.jsonl.
"""

from __future__ import annotations

import posixpath

from flows.config import Config, ConfigError
from flows.errors import InputError, caused_by
from flows.stage_runner import (
    Product,
    StageReport,
    exists,
    expand_inputs,
    fingerprint_files,
    run_beam,
    run_stage,
    total_size,
)

STAGE = "wiki"


def enabled(cfg: Config) -> bool:
    return bool(cfg.wiki.wikipedia.inputs or cfg.wiki.wikidata.inputs)


def target_languages(cfg: Config) -> list[str] | None:
    """wiki.target_languages, else the training set `languages`, else None (every label language)."""
    langs = cfg.wiki.target_languages or cfg.languages
    return sorted(set(langs)) if langs else None


def _dumps(cfg: Config) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(dump, multistream index or "") pairs and the merged siteinfo namespaces; checks every dump."""
    from pipelines.wiki.dump import DumpError, index_path_for, read_siteinfo

    w = cfg.wiki
    files = [f for f in expand_inputs(w.wikipedia.inputs, "wiki.wikipedia.inputs") if "-index" not in f]
    pairs, namespaces = [], {}
    for f in files:
        try:
            info = read_siteinfo(f)
        except DumpError as e:
            raise InputError(str(e)) from e
        if info.dbname and info.dbname != w.wikidata.sitelink_wiki:
            raise ConfigError(
                f"{f} is a dump of {info.dbname} but wiki.wikidata.sitelink_wiki is {w.wikidata.sitelink_wiki!r}: "
                f"set it to {info.dbname!r} so article titles can be matched to Wikidata sitelinks"
            )
        namespaces.update(info.namespaces)
        index = index_path_for(f) if w.wikipedia.multistream == "auto" else ""
        pairs.append((f, index if index and exists(index) else ""))
    return pairs, namespaces


def run(cfg: Config, force: bool = False, log_fn=None) -> StageReport:
    from pipelines.wiki.dump import DumpError
    from pipelines.wiki.pipeline import (
        CODESWITCH_DIR,
        ENTITY_SENTENCES_DIR,
        EXPORT_DIR,
        REJECTS_DIR,
        WikiParams,
    )
    from pipelines.wiki.sentences import FilterOptions
    from pipelines.wiki.titles import namespaces_from_siteinfo
    from pipelines.wiki.wikidata import check_wikidata
    from pipelines.wiki.wikitext import CleanOptions
    from schemas.codeswitch import CODESWITCH
    from schemas.documents import REJECTS
    from schemas.wiki import ENTITY_SENTENCES

    w = cfg.wiki
    if not w.wikipedia.inputs or not w.wikidata.inputs:
        missing = "wiki.wikipedia.inputs" if not w.wikipedia.inputs else "wiki.wikidata.inputs"
        raise ConfigError(f"stage wiki needs both a Wikipedia dump and a Wikidata dump: set {missing}")
    dumps, namespaces = _dumps(cfg)
    wikidata = expand_inputs(w.wikidata.inputs, "wiki.wikidata.inputs")
    for f in wikidata:
        try:
            check_wikidata(f, w.wikidata.sitelink_wiki)
        except DumpError as e:
            raise InputError(str(e)) from e
    files = [d for d, _ in dumps] + [i for _, i in dumps if i] + wikidata
    fingerprints = fingerprint_files(files)
    params = WikiParams(
        dumps=dumps,
        wikidata=wikidata,
        source_lang=w.wikipedia.source_lang,
        sitelink_wiki=w.wikidata.sitelink_wiki,
        use_aliases=w.wikidata.use_aliases,
        targets=target_languages(cfg),
        max_languages=w.max_languages,
        seed=cfg.seed,
        clean=CleanOptions(namespaces_from_siteinfo(namespaces), w.wikipedia.file_captions, w.wikipedia.section_links),
        filters=FilterOptions(**w.filters.model_dump()),
        reject_filtered_sentences=w.reject_filtered_sentences,
        target_shard_bytes=w.target_shard_mb * 1024 * 1024,
        wikidata_split_bytes=w.wikidata.split_mb * 1024 * 1024,
    )
    products = [Product(ENTITY_SENTENCES_DIR, ENTITY_SENTENCES, ("sentences.kept",)),
                Product(CODESWITCH_DIR, CODESWITCH, ("cs_samples.*",)),
                Product(REJECTS_DIR, REJECTS, rejects_counters(w.reject_filtered_sentences))]
    if w.export_release:
        products.append(Product(EXPORT_DIR, None))
    facts: dict = {"source_lang": params.source_lang, "target_languages": params.targets,
                   "multistream": {d: bool(i) for d, i in dumps}}

    def body(staging: str) -> dict[str, int]:
        counters = _run_pipeline(cfg, params, staging)
        if w.export_release:
            from pipelines.wiki.export import export_release

            facts["export"] = export_release(posixpath.join(staging, CODESWITCH_DIR),
                                             posixpath.join(staging, EXPORT_DIR), w.release_codes)
        return counters

    return run_stage(cfg, STAGE, w, fingerprints, products, body, force=force, extra=lambda _s: facts,
                     log_fn=log_fn, input_bytes=total_size(files))


def rejects_counters(reject_filtered_sentences: bool) -> tuple[str, ...]:
    """The drops that write a rejects/wiki row (pages of other namespaces and items without a
    sitelink are only counted)."""
    rows = ("pages.dropped.bad_redirect", "pages.dropped.parse_error", "pages.dropped.no_text",
            "wikidata_lines.dropped.malformed", "dump_parts.dropped.*")
    return rows + (("sentences.dropped.*",) if reject_filtered_sentences else ())


UNREADABLE = "unreadable_dump"


def _run_pipeline(cfg: Config, params, staging: str) -> dict[str, int]:
    """run_beam; an unreadable dump found mid-run becomes one InputError.

    Workers record a DumpError as a rejects row (reason unreadable_dump, see
    pipelines/wiki/transforms.py) on every runner; a DumpError raised elsewhere in a worker reaches
    this process as an object only with the in-process runner, so the exception chain is checked too.
    """
    import dataclasses

    from flows.progress import files_plan, progress_dir
    from pipelines.wiki.dump import DumpError
    from pipelines.wiki.pipeline import REJECTS_DIR, build

    # readers mark each dump file / stream / Wikidata split done there: the live progress of the stage
    params = dataclasses.replace(params, progress_dir=progress_dir(staging))
    plan = files_plan(staging, [d for d, _ in params.dumps] + params.wikidata, label="dump parts")
    try:
        counters = run_beam(cfg, STAGE, lambda p: build(p, params, staging), progress=plan)
    except Exception as e:
        err = caused_by(e, DumpError)
        if err is not None:
            raise InputError(str(err)) from e
        raise
    if counters.get(f"dump_parts.dropped.{UNREADABLE}"):
        raise InputError(_unreadable_message(posixpath.join(staging, REJECTS_DIR, UNREADABLE)))
    return counters


def _unreadable_message(reason_dir: str) -> str:
    """One line from the unreadable_dump rejects rows: the first one's detail, and how many more."""
    from pipelines.shards import records

    rows = sorted(records(reason_dir), key=lambda r: (r["source"] or "", r["detail"] or ""))
    first = rows[0]["detail"]
    others = sorted({r["source"] for r in rows[1:]} - {rows[0]["source"]})
    more = f" (and {len(rows) - 1} more unreadable parts" + (f", in {', '.join(others)}" if others else "") + ")"
    return first + (more if len(rows) > 1 else "")


def summarize(cfg: Config, result: dict):
    from rich.table import Table

    c = result.get("counters", {})
    if not c:
        return None
    t = Table(title="wiki", show_header=True)
    t.add_column("what")
    t.add_column("count", justify="right")

    def row(label: str, key: str) -> None:
        if key in c:
            t.add_row(label, f"{c[key]:,}")

    row("pages read", "pages.read")
    row("  articles", "pages.articles")
    row("  redirects", "pages.redirects")
    for k in sorted(k for k in c if k.startswith("pages.dropped.")):
        row(f"  dropped: {k.rsplit('.', 1)[-1]}", k)
    row("wikidata lines read", "wikidata_lines.read")
    row("  entities with sitelink", "wikidata_lines.kept")
    for k in sorted(k for k in c if k.startswith("wikidata_lines.dropped.")):
        row(f"  dropped: {k.rsplit('.', 1)[-1]}", k)
    row("sentences read", "sentences.read")
    row("  kept", "sentences.kept")
    for k in sorted(k for k in c if k.startswith("sentences.dropped.")):
        row(f"  dropped: {k.rsplit('.', 1)[-1]}", k)
    row("distinct link titles", "titles.distinct")
    row("  via redirect", "titles.redirected")
    row("  resolved to a QID", "titles.with_qid")
    row("anchors in kept sentences", "anchors.total")
    row("  with a QID", "anchors.with_qid")
    row("sentences code-switched", "cs_sentences.kept")
    for k in sorted(k for k in c if k.startswith("cs_sentences.dropped.")):
        row(f"  not switched: {k.rsplit('.', 1)[-1]}", k)
    for k in sorted(k for k in c if k.startswith("cs_samples.")):
        row(f"  samples {k.split('.', 1)[1]}", k)
    return t
