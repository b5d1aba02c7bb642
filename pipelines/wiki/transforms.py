"""The wiki stage's composite PTransforms. Per-element logic lives in the plain modules; these wrap it.

Counters (namespace "wiki", see schemas.manifest): pages.*, sentences.*, wikidata_lines.*,
cs_sentences.* reconcile (read = kept + Σ dropped); pages.articles/redirects, titles.*, anchors.*
and cs_samples.<lang> are facts for the summary.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam import pvalue

from pipelines.counters import drop, inc
from pipelines.ids import stable_id
from pipelines.progress import counted, planned, unit_of
from pipelines.shuffle import CountedCoGroupByKey, CountedDistinct
from pipelines.wiki.codeswitch import LinkedAnchor, make_entitycs
from pipelines.wiki.dump import DumpError, Page, file_size, iter_stream_ranges, read_pages, read_stream_pages
from pipelines.wiki.langs import project_labels
from pipelines.wiki.sentences import FilterOptions, filter_reason, split_sentences
from pipelines.wiki.wikidata import (
    DEFAULT_SPLIT_BYTES,
    MalformedLine,
    Split,
    is_framing,
    parse_entity_line,
    plan_splits,
    read_split,
)
from pipelines.wiki.wikitext import CleanOptions, clean_wikitext

STAGE = "wiki"
REJECTS = "rejects"


# --- ReadWikipediaDump ----------------------------------------------------------------------------------

def _stream_ranges(path: str, index: str):
    for start, end in iter_stream_ranges(index, file_size(path), path):
        yield path, start, end


class _ReadOrReject(beam.DoFn):
    """Run one dump reader (a whole file, an index, or one bz2 stream: a `dump_parts` unit).

    A DumpError becomes one rejects row (reason `unreadable_dump`, source = the file at fault) instead
    of a worker crash: exceptions from other worker processes reach the driver only as text, a row
    reaches it on every runner, and flows/stages/wiki.py turns it into one error line.
    """

    def __init__(self, read, progress_dir: str = "", plan: bool = False):
        self.read = read
        self.progress_dir, self.plan = progress_dir, plan  # live progress (pipelines/progress.py)

    def process(self, args: tuple):
        inc(STAGE, "dump_parts.read")
        try:
            if self.plan:  # a dump read as many streams: say how many, for the driver's total
                yield from planned(self.progress_dir, str(args[0]), self.read(*args))
            else:
                unit, parent = unit_of(args)
                yield from counted(self.progress_dir, unit, self.read(*args), parent)
        except DumpError as e:
            yield pvalue.TaggedOutput(REJECTS, drop(STAGE, "dump_parts", "ReadWikipediaDump", "unreadable_dump",
                                                    source=e.path or str(args[0]), detail=str(e)))
            return
        inc(STAGE, "dump_parts.kept")


class _ClassifyPages(beam.DoFn):
    """Namespace-0 pages → articles (cleaned paragraphs) or redirects; other namespaces are counted."""

    def __init__(self, clean: CleanOptions):
        self.clean = clean

    def process(self, page: Page):
        inc(STAGE, "pages.read")
        if page.ns != 0:
            inc(STAGE, "pages.dropped.namespace")  # templates, files, categories…: not articles
            return
        where = {"source": page.source, "offset": page.offset, "record_id": page.title}
        if page.redirect is not None:
            if not page.redirect:
                yield pvalue.TaggedOutput(REJECTS, drop(STAGE, "pages", "ReadWikipediaDump", "bad_redirect",
                                                        sample=page.text, **where))
                return
            inc(STAGE, "pages.kept")
            inc(STAGE, "pages.redirects")
            yield pvalue.TaggedOutput("redirects", (page.title, page.redirect))
            return
        try:
            paragraphs = clean_wikitext(page.text, self.clean)
        except Exception as e:  # a page mwparserfromhell cannot handle: reject it, keep going
            yield pvalue.TaggedOutput(REJECTS, drop(STAGE, "pages", "ReadWikipediaDump", "parse_error",
                                                    detail=f"{type(e).__name__}: {e}", sample=page.text, **where))
            return
        if not paragraphs:
            yield pvalue.TaggedOutput(REJECTS, drop(STAGE, "pages", "ReadWikipediaDump", "no_text",
                                                    sample=page.text, **where))
            return
        inc(STAGE, "pages.kept")
        inc(STAGE, "pages.articles")
        yield {"title": page.title, "paragraphs": [(p.text, p.anchors) for p in paragraphs]}


class ReadWikipediaDump(beam.PTransform):
    """MediaWiki XML dumps → {"articles": {title, paragraphs}, "redirects": (title, target), "rejects"}.

    dumps: (path, multistream index path or ""). With an index, every bz2 stream is one work item
    (read in parallel after a Reshuffle); without, one reader per file, whose pages are then
    reshuffled so that the (expensive) wikitext cleaning spreads over all workers.
    """

    def __init__(self, dumps: list[tuple[str, str]], clean: CleanOptions, progress_dir: str = ""):
        super().__init__()
        self.dumps = sorted(dumps)
        self.clean = clean
        self.progress_dir = progress_dir

    def expand(self, pbegin):
        single = [p for p, idx in self.dumps if not idx]
        multi = [(p, idx) for p, idx in self.dumps if idx]
        parts, unreadable = [], []
        if single:
            files = (
                pbegin
                | "DumpFiles" >> beam.Create([(p,) for p in single])
                | "ReadFile" >> beam.ParDo(_ReadOrReject(read_pages, self.progress_dir)).with_outputs(REJECTS, main="pages")
            )
            parts.append(files.pages | "SpreadPages" >> beam.Reshuffle())
            unreadable.append(files[REJECTS])
        if multi:
            ranges = (
                pbegin
                | "MultistreamDumps" >> beam.Create(multi)
                | "StreamRanges" >> beam.ParDo(_ReadOrReject(_stream_ranges, self.progress_dir, plan=True)).with_outputs(REJECTS, main="ranges")
            )
            streams = (
                ranges.ranges
                | "SpreadStreams" >> beam.Reshuffle()
                | "ReadStream" >> beam.ParDo(_ReadOrReject(read_stream_pages, self.progress_dir)).with_outputs(REJECTS, main="pages")
            )
            parts.append(streams.pages)
            unreadable += [ranges[REJECTS], streams[REJECTS]]
        pages = parts[0] if len(parts) == 1 else tuple(parts) | "AllPages" >> beam.Flatten()
        out = pages | "ClassifyPages" >> beam.ParDo(_ClassifyPages(self.clean)).with_outputs(
            "redirects", REJECTS, main="articles"
        )
        rejects = (out[REJECTS], *unreadable) | "DumpRejects" >> beam.Flatten()
        return {"articles": out.articles, "redirects": out.redirects, "rejects": rejects}


# --- SplitSentences / FilterSentences -------------------------------------------------------------------

def article_sentences(article: dict, lang: str) -> list[dict]:
    """entity_sentences records (qid still unknown) of one cleaned article."""
    out = []
    for p_idx, (text, anchors) in enumerate(article["paragraphs"]):
        for s_idx, s in enumerate(split_sentences(text, anchors, lang)):
            out.append({
                "sent_id": stable_id("wiki", lang, article["title"], p_idx, s_idx),
                "lang": lang,
                "title": article["title"],
                "text": s.text,
                "anchors": [{"start": a, "end": b, "title": t, "qid": None} for a, b, t in s.anchors],
            })
    return out


class SplitSentences(beam.PTransform):
    """Articles → sentences, never splitting inside an anchor."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def expand(self, articles):
        lang = self.lang

        def split(article: dict):
            sentences = article_sentences(article, lang)
            inc(STAGE, "sentences.read", len(sentences))
            return sentences

        return articles | "Split" >> beam.FlatMap(split)


class _Filter(beam.DoFn):
    def __init__(self, opts: FilterOptions, reject_rows: bool):
        self.opts, self.reject_rows = opts, reject_rows

    def process(self, s: dict):
        reason = filter_reason(s["text"], [(a["start"], a["end"], a["title"]) for a in s["anchors"]], self.opts)
        if reason is None:
            inc(STAGE, "sentences.kept")
            yield s
            return
        row = drop(STAGE, "sentences", "FilterSentences", reason, source=s["title"], record_id=s["sent_id"],
                   sample=s["text"])
        if self.reject_rows:
            yield pvalue.TaggedOutput(REJECTS, row)


class FilterSentences(beam.PTransform):
    """The EntityCS filters, each counted as sentences.dropped.<reason> (rows in rejects if asked)."""

    def __init__(self, opts: FilterOptions, reject_rows: bool = True):
        super().__init__()
        self.opts, self.reject_rows = opts, reject_rows

    def expand(self, sentences):
        out = sentences | "Filter" >> beam.ParDo(_Filter(self.opts, self.reject_rows)).with_outputs(
            REJECTS, main="kept")
        return {"kept": out.kept, "rejects": out[REJECTS]}


# --- ReadWikidataDump -----------------------------------------------------------------------------------

def _plan_splits(path: str, split_bytes: int, progress_dir: str) -> list[Split]:
    return planned(progress_dir, path, plan_splits(path, split_bytes))  # the total for live progress


class _ReadWikidata(beam.DoFn):
    def __init__(self, sitelink_wiki: str, use_aliases: bool, targets: list[str] | None, progress_dir: str = ""):
        self.sitelink_wiki, self.use_aliases = sitelink_wiki, use_aliases
        self.targets = set(targets) if targets is not None else None
        self.progress_dir = progress_dir

    def process(self, split: Split):
        lines = counted(self.progress_dir, f"{split.path}@{split.start}", read_split(split), split.path)
        for offset, where, line in lines:
            if is_framing(line):
                continue
            inc(STAGE, "wikidata_lines.read")
            try:
                entity = parse_entity_line(line, self.sitelink_wiki, self.use_aliases)
            except MalformedLine as e:
                yield pvalue.TaggedOutput(REJECTS, drop(STAGE, "wikidata_lines", "ReadWikidataDump", "malformed",
                                                        source=split.path, offset=offset, record_id=where or None,
                                                        detail=str(e), sample=line.decode("utf-8", "replace")))
                continue
            if entity.sitelink is None:
                # most items have no article on the configured wiki: counted, not a rejects row
                inc(STAGE, "wikidata_lines.dropped.no_sitelink")
                continue
            labels = project_labels(entity.labels)
            if self.targets is not None:
                labels = {k: v for k, v in labels.items() if k in self.targets}
            inc(STAGE, "wikidata_lines.kept")
            yield entity.sitelink, (entity.qid, labels)


class ReadWikidataDump(beam.PTransform):
    """Wikidata JSON dumps → {"entities": (sitelink title, (qid, {project code: label})), "rejects"}.

    Read by many workers: byte ranges of plain files and of multi-stream bz2 dumps, one task per
    .gz or single-stream .bz2 file (pipelines.wiki.wikidata.plan_splits, planned on the workers).
    """

    def __init__(self, files: list[str], sitelink_wiki: str, use_aliases: bool, targets: list[str] | None,
                 split_bytes: int = DEFAULT_SPLIT_BYTES, progress_dir: str = ""):
        super().__init__()
        self.files = sorted(files)
        self.args = (sitelink_wiki, use_aliases, targets, progress_dir)
        self.split_bytes = split_bytes
        self.progress_dir = progress_dir

    def expand(self, pbegin):
        out = (
            pbegin
            | "WikidataFiles" >> beam.Create(self.files)
            | "PlanSplits" >> beam.FlatMap(_plan_splits, self.split_bytes, self.progress_dir)
            | "SpreadSplits" >> beam.Reshuffle()
            | "ReadEntities" >> beam.ParDo(_ReadWikidata(*self.args)).with_outputs(REJECTS, main="entities")
        )
        return {"entities": out.entities, "rejects": out[REJECTS]}


# --- ResolveEntities --------------------------------------------------------------------------------------

def _follow_redirect(item):
    title, grouped = item
    if not list(grouped["want"]):
        return
    targets = sorted(set(grouped["redirect"]))
    inc(STAGE, "titles.distinct")
    if targets:
        inc(STAGE, "titles.redirected")
    yield (targets[0] if targets else title), title  # one hop, as MediaWiki follows redirects


def _attach_entity(item):
    _target, grouped = item
    wanted = sorted(set(grouped["want"]))
    if not wanted:
        return
    entities = sorted(grouped["entity"], key=lambda e: e[0])
    entity = entities[0] if entities else None  # a sitelink names one item; min QID if a dump disagrees
    if entity is not None:
        inc(STAGE, "titles.with_qid", len(wanted))
    for title in wanted:
        yield title, entity


def _occurrences_by_sentence(item):
    _title, grouped = item
    resolved = list(grouped["entity"])
    entity = resolved[0] if resolved else None
    for sent_id, idx in grouped["occ"]:
        yield sent_id, (idx, entity)


def _assemble(item):
    _sent_id, grouped = item
    sentences = list(grouped["sentence"])
    if not sentences:
        return
    s = dict(sentences[0])
    by_idx = {idx: entity for idx, entity in grouped["anchor"]}
    anchors, linked = [], []
    for idx, a in enumerate(s["anchors"]):
        entity = by_idx.get(idx)
        qid, labels = entity if entity is not None else (None, {})
        anchors.append({**a, "qid": qid})
        linked.append(LinkedAnchor(a["start"], a["end"], a["title"], qid, dict(labels)))
    inc(STAGE, "anchors.total", len(anchors))
    inc(STAGE, "anchors.with_qid", sum(1 for a in anchors if a["qid"]))
    s["anchors"] = anchors
    yield {"sentence": s, "linked": linked}


class ResolveEntities(beam.PTransform):
    """Anchor title → redirect target → QID → labels, as shuffle joins (CoGroupByKey), no side inputs.

    1. distinct anchor titles ⋈ redirects (title → target)      → (target, title)
    2. targets ⋈ Wikidata entities by sitelink title          → (title, (qid, labels) | None)
    3. anchor occurrences ⋈ resolved titles                    → (sent_id, (anchor index, entity))
    4. sentences ⋈ their resolved anchors by sent_id            → {"sentence", "linked"}
    """

    def expand(self, inputs):
        sentences, redirects, entities = inputs
        occ = sentences | "AnchorOccurrences" >> beam.FlatMap(
            lambda s: [(a["title"], (s["sent_id"], i)) for i, a in enumerate(s["anchors"])]
        )
        titles = occ | "Titles" >> beam.Keys() | "DistinctTitles" >> CountedDistinct(STAGE, "titles")
        targets = (
            {"want": titles | "KeyTitles" >> beam.Map(lambda t: (t, t)), "redirect": redirects}
            | "JoinRedirects" >> CountedCoGroupByKey(STAGE, "redirects")
            | "FollowRedirect" >> beam.FlatMap(_follow_redirect)
        )
        resolved = (
            {"want": targets, "entity": entities}
            | "JoinSitelinks" >> CountedCoGroupByKey(STAGE, "sitelinks")
            | "AttachEntity" >> beam.FlatMap(_attach_entity)
        )
        per_sentence = (
            {"occ": occ, "entity": resolved}
            | "JoinOccurrences" >> CountedCoGroupByKey(STAGE, "occurrences")
            | "BySentence" >> beam.FlatMap(_occurrences_by_sentence)
        )
        # The one join that carries text: a sentence meets its resolved anchors (one sentence per key,
        # so no key is hot); the EntityCS samples are built from both.
        return (
            {"sentence": sentences | "KeySentences" >> beam.Map(lambda s: (s["sent_id"], s)), "anchor": per_sentence}
            | "JoinSentences" >> CountedCoGroupByKey(STAGE, "sentences")
            | "Assemble" >> beam.FlatMap(_assemble)
        )


# --- MakeEntityCodeSwitch ---------------------------------------------------------------------------------

class _CodeSwitch(beam.DoFn):
    def __init__(self, source_lang: str, targets: list[str] | None, max_languages: int, seed: int):
        self.source_lang, self.max_languages, self.seed = source_lang, max_languages, seed
        self.targets = set(targets) if targets is not None else None

    def process(self, joined: dict):
        inc(STAGE, "cs_sentences.read")
        s = joined["sentence"]
        records, reason = make_entitycs(s["sent_id"], s["text"], joined["linked"], self.source_lang,
                                        self.targets, self.max_languages, self.seed)
        if reason is not None:
            inc(STAGE, f"cs_sentences.dropped.{reason}")  # derived records: counted, no rejects row
            return
        inc(STAGE, "cs_sentences.kept")
        for r in records:
            inc(STAGE, f"cs_samples.{r['spans'][0]['lang']}")
            yield r


class MakeEntityCodeSwitch(beam.PTransform):
    """Resolved sentences → CODESWITCH records (kind entitycs), up to N languages per sentence."""

    def __init__(self, source_lang: str, targets: list[str] | None, max_languages: int, seed: int):
        super().__init__()
        self.args = (source_lang, targets, max_languages, seed)

    def expand(self, joined):
        return joined | "Switch" >> beam.ParDo(_CodeSwitch(*self.args))
