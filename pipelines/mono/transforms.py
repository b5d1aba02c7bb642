"""ReadWarc, Normalize, IdentifyLanguage, QualitySignals: per-document steps of the mono pipeline.

Each step is a plain function (unit-tested without Beam) wrapped by a thin DoFn. Every composite
returns ``(kept, rejects)``; every dropped document increments ``docs.dropped.<reason>`` and becomes a
rejects row naming its file, offset and reason. Per-language drops are also counted as
``by_lang.<lang>.<reason>`` (no ``.read``, so they are outside reconciliation) for the summary table.
"""

from __future__ import annotations

import posixpath

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from pipelines.counters import REJECTS_TAG, drop, inc
from pipelines.ids import stable_id
from pipelines.lid import LanguageIdentifier
from pipelines.mono.params import LidParams
from pipelines.mono.read_docs import read_file
from pipelines.mono.read_warc import RawDoc, ReadError, Skipped
from pipelines.normalize import normalize_text, split_lines
from pipelines.quality import QualityFilters, quality_reason, quality_signals


def _sample(doc: dict) -> str:
    return doc.get("text", "")[:200]


def doc_reject(stage: str, step: str, reason: str, doc: dict, detail: str | None = None) -> dict:
    """Count a dropped document (also by language when it has one) and return its rejects row."""
    if doc.get("lang"):
        inc(stage, f"by_lang.{doc['lang']}.{reason}")
    return drop(stage, "docs", step, reason, source=doc["source"], offset=doc.get("source_offset"),
                record_id=doc.get("doc_id"), detail=detail, sample=_sample(doc))


# -------------------------------------------------------------------------------------------- read


class _ReadFileFn(beam.DoFn):
    def __init__(self, stage: str, main_content: bool, text_field: str):
        self.stage, self.main_content, self.text_field = stage, main_content, text_field

    def process(self, path: str):
        for item in read_file(path, self.main_content, self.text_field):
            if isinstance(item, Skipped):
                inc(self.stage, f"warc.skipped.{item.rec_type}")
                continue
            inc(self.stage, "docs.read")
            if isinstance(item, ReadError):
                yield TaggedOutput(REJECTS_TAG, drop(
                    self.stage, "docs", "ReadWarc", item.reason, source=item.source, offset=item.offset,
                    detail=item.detail + (f" (url {item.url})" if item.url else ""), sample=item.sample))
            else:
                yield item


class ReadWarc(beam.PTransform):
    """File paths → RawDoc per record (WARC responses, WET conversions, JSONL lines, Parquet rows).

    Files are spread over workers by a reshuffle; each file is read as a stream by one worker.
    """

    def __init__(self, stage: str, main_content: bool = False, text_field: str = "text", label: str | None = None):
        super().__init__(label)
        self.stage, self.main_content, self.text_field = stage, main_content, text_field

    def expand(self, paths):
        out = (
            paths
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadRecords" >> beam.ParDo(_ReadFileFn(self.stage, self.main_content, self.text_field))
            .with_outputs(REJECTS_TAG, main="docs")
        )
        return out.docs, out[REJECTS_TAG]


# --------------------------------------------------------------------------------------- normalize


def make_doc_id(raw: RawDoc, text: str) -> str:
    """Stable id from the file name (not its directory, so moving inputs keeps ids), position and text."""
    return stable_id(posixpath.basename(raw.source.replace("\\", "/")), raw.offset, raw.record_id or "", text)


def normalize_doc(raw: RawDoc) -> dict | None:
    """The document record after normalization; None when no text is left."""
    text = normalize_text(raw.text)
    if not text:
        return None
    return {"doc_id": make_doc_id(raw, text), "source": raw.source, "source_offset": raw.offset,
            "url": raw.url, "date": raw.date, "text": text}


class _NormalizeFn(beam.DoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, raw: RawDoc):
        doc = normalize_doc(raw)
        if doc is None:
            yield TaggedOutput(REJECTS_TAG, drop(
                self.stage, "docs", "Normalize", "empty_text", source=raw.source, offset=raw.offset,
                detail="no text left after extraction and normalization" + (f" (url {raw.url})" if raw.url else ""),
                sample=raw.text[:200] or None))
            return
        yield doc


class Normalize(beam.PTransform):
    """RawDoc → document dict with normalized text and a stable doc_id."""

    def __init__(self, stage: str, label: str | None = None):
        super().__init__(label)
        self.stage = stage

    def expand(self, raws):
        out = raws | "NormalizeText" >> beam.ParDo(_NormalizeFn(self.stage)).with_outputs(REJECTS_TAG, main="docs")
        return out.docs, out[REJECTS_TAG]


# ------------------------------------------------------------------------------------------- LID


def lid_reason(lang: str, score: float, params: LidParams) -> str | None:
    """Drop reason for a document's LID result, or None to keep it."""
    if score < params.threshold_for(lang):
        return "lid_below_threshold"
    if params.languages and lang not in params.languages:
        return "lang_not_wanted"
    return None


def line_lang_frac(lid: LanguageIdentifier, text: str, lang: str) -> float:
    """Fraction of non-empty lines whose own label is the document's language."""
    lines = [ln for ln in split_lines(text) if ln]
    if not lines:
        return 0.0
    labels = lid.predict_lines(lines)
    return sum(1 for code, _ in labels if code == lang) / len(lines)


class _IdentifyFn(beam.DoFn):
    def __init__(self, stage: str, params: LidParams):
        self.stage, self.params = stage, params
        self.lid: LanguageIdentifier | None = None

    def setup(self):
        self.lid = LanguageIdentifier(self.params.model_path)  # once per worker

    def process(self, doc: dict):
        lang, score = self.lid.predict(doc["text"])
        doc = {**doc, "lang": lang, "lang_score": score}
        reason = lid_reason(lang, score, self.params)
        if reason is not None:
            detail = f"{lang} {score:.3f}" + (f" < {self.params.threshold_for(lang)}" if reason == "lid_below_threshold"
                                              else " not in mono.languages")
            yield TaggedOutput(REJECTS_TAG, doc_reject(self.stage, "IdentifyLanguage", reason, doc, detail))
            return
        doc["line_lang_frac"] = line_lang_frac(self.lid, doc["text"], lang) if self.params.per_line else None
        yield doc


class IdentifyLanguage(beam.PTransform):
    """fastText LID: doc-level lang (xxx_Scrp) + score; per-language thresholds and allow-list."""

    def __init__(self, stage: str, params: LidParams, label: str | None = None):
        super().__init__(label)
        self.stage, self.params = stage, params

    def expand(self, docs):
        out = docs | "Predict" >> beam.ParDo(_IdentifyFn(self.stage, self.params)).with_outputs(REJECTS_TAG, main="docs")
        return out.docs, out[REJECTS_TAG]


# --------------------------------------------------------------------------------------- quality


def apply_quality(doc: dict, filters: QualityFilters) -> tuple[dict, str | None]:
    """The document with its signal columns, and the drop reason (None = keep)."""
    sig = quality_signals(doc["text"])
    return {**doc, **sig.as_dict()}, quality_reason(sig, doc["lang"], filters)


class _QualityFn(beam.DoFn):
    def __init__(self, stage: str, filters: QualityFilters):
        self.stage, self.filters = stage, filters

    def process(self, doc: dict):
        doc, reason = apply_quality(doc, self.filters)
        if reason is not None:
            yield TaggedOutput(REJECTS_TAG, doc_reject(self.stage, "QualitySignals", reason, doc, _signal_detail(doc)))
            return
        yield doc


def _signal_detail(doc: dict) -> str:
    return (f"chars={doc['n_chars']} words={doc['n_words']} symbol={doc['symbol_ratio']:.2f} "
            f"digit={doc['digit_ratio']:.2f} dup_lines={doc['dup_line_frac']:.2f} "
            f"mean_word_len={doc['mean_word_len']:.1f}")


class QualitySignals(beam.PTransform):
    """Adds the signal columns (pipelines.quality) and drops documents failing a configured filter."""

    def __init__(self, stage: str, filters: QualityFilters, label: str | None = None):
        super().__init__(label)
        self.stage, self.filters = stage, filters

    def expand(self, docs):
        out = docs | "Signals" >> beam.ParDo(_QualityFn(self.stage, self.filters)).with_outputs(REJECTS_TAG, main="docs")
        return out.docs, out[REJECTS_TAG]
