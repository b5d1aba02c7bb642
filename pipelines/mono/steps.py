"""Per-document steps of the mono stage's first pass, as plain functions over batches of documents:
normalize (`normalize_doc`), LID (`identify_batch`), quality signals and filters (`apply_quality`).

pipelines.mono.pass1 calls them on batches of up to `batch_size` documents of one input file: one
fastText call and one signals computation per batch. Which documents share a batch never changes a
result — every decision depends on the document alone — so outputs are the same whatever the batches.
Every dropped document increments ``docs.dropped.<reason>`` and becomes a rejects row naming its file,
offset and reason (`doc_reject`). Per-language drops are also counted as ``by_lang.<lang>.<reason>``
(no ``.read``, so they are outside reconciliation) for the summary table.
"""

from __future__ import annotations

import posixpath
from collections import Counter

from pipelines.counters import drop, inc
from pipelines.ids import stable_id
from pipelines.lid import LanguageIdentifier
from pipelines.mono import mixed
from pipelines.mono.params import LidParams
from pipelines.mono.read_warc import RawDoc
from pipelines.normalize import normalize_text
from pipelines.quality import QualityFilters, quality_reason, quality_signals_batch


def _sample(doc: dict) -> str:
    return doc.get("text", "")[:200]


def doc_reject(stage: str, step: str, reason: str, doc: dict, detail: str | None = None) -> dict:
    """Count a dropped document (also by language when it has one) and return its rejects row."""
    if doc.get("lang"):
        inc(stage, f"by_lang.{doc['lang']}.{reason}")
    return drop(stage, "docs", step, reason, source=doc["source"], offset=doc.get("source_offset"),
                record_id=doc.get("doc_id"), detail=detail, sample=_sample(doc))


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


# ------------------------------------------------------------------------------------------- LID


def lid_reason(lang: str, score: float, params: LidParams) -> str | None:
    """Drop reason for a document's LID result, or None to keep it."""
    if score < params.threshold_for(lang):
        return "lid_below_threshold"
    if params.languages and lang not in params.languages:
        return "lang_not_wanted"
    return None


def line_lang_fracs(lid: LanguageIdentifier, texts: list[str], langs: list[str]) -> list[float]:
    """Per document, the fraction of its non-empty lines whose own label is its language
    (line_lang_frac), with one fastText call over all their lines."""
    return [mixed.line_lang_frac(labels, lang) for labels, lang in zip(label_lines(lid, texts), langs, strict=True)]


def label_lines(lid: LanguageIdentifier, texts: list[str]) -> list[list[tuple[str, float] | None]]:
    """Per document, the label of each line (None for blank lines), with one fastText call."""
    per_doc = [mixed.line_texts(t) for t in texts]
    labels = iter(lid.predict_lines([ln for lines in per_doc for ln in lines]))
    return [mixed.line_labels(t, [next(labels) for _ in lines]) for t, lines in zip(texts, per_doc, strict=True)]


def _lid_detail(lang: str, score: float, reason: str, params: LidParams) -> str:
    return f"{lang} {score:.3f}" + (f" < {params.threshold_for(lang)}"
                                    if reason == "lid_below_threshold" else " not in mono.languages")


def identify_batch(lid: LanguageIdentifier, batch: list[dict], params: LidParams,
                   stage: str) -> tuple[list[dict], list[dict]]:
    """LID of one batch (one fastText call): (kept documents with lang, lang_score and
    line_lang_frac, rejects rows of the dropped ones). Counters go to `stage`, once per batch:
    ``lid.script_from_model`` / ``lid.script_from_text`` / ``lid.script_from_default`` (how each label got
    its script) and ``lid.script_corrected`` (the language's own script, not the text's dominant one).

    With params.split_mixed, runs of lines in another language leave their document
    (pipelines.mono.mixed): as new documents right after their parent (``docs.created.split_mixed``;
    they go through the allow-list like any document) or dropped (``mixed_lines.dropped.foreign_run``).
    """
    kept, rejects = [], []
    preds, how = lid.predict_batch_counted([d["text"] for d in batch])
    for name, n in sorted(how.items()):
        inc(stage, f"lid.{name}", n)
    for doc, (lang, score) in zip(batch, preds, strict=True):
        doc = {**doc, "lang": lang, "lang_score": score}
        reason = lid_reason(lang, score, params)
        if reason is not None:
            rejects.append(doc_reject(stage, "IdentifyLanguage", reason, doc, _lid_detail(lang, score, reason, params)))
            continue
        kept.append(doc)
    if not (params.per_line or params.split_mixed):
        return [{**d, "line_lang_frac": None} for d in kept], rejects
    labels = label_lines(lid, [d["text"] for d in kept])
    if not params.split_mixed:
        return [{**d, "line_lang_frac": mixed.line_lang_frac(lab, d["lang"])}
                for d, lab in zip(kept, labels, strict=True)], rejects
    out: list[dict] = []
    counts: Counter = Counter()

    def confident(lang: str, score: float) -> bool:  # a line label good enough to move the line
        return score >= params.threshold_for(lang)

    for doc, lab in zip(kept, labels, strict=True):
        res = mixed.split_mixed(doc, lab, params.split_mixed_min_lines, params.split_mixed_action, confident)
        counts.update(res.counts)
        out.append(res.main)
        for new in res.split_off:
            counts["docs.created.split_mixed"] += 1
            reason = lid_reason(new["lang"], new["lang_score"], params)
            if reason is not None:
                rejects.append(doc_reject(stage, "SplitMixed", reason, new,
                                          _lid_detail(new["lang"], new["lang_score"], reason, params)))
                continue
            out.append(new)
    for name, n in sorted(counts.items()):
        inc(stage, name, n)
    return out, rejects


# --------------------------------------------------------------------------------------- quality


def apply_quality(docs: list[dict], filters: QualityFilters) -> list[tuple[dict, str | None]]:
    """Each document with its signal columns, and its drop reason (None = keep)."""
    sigs = quality_signals_batch([d["text"] for d in docs])
    return [({**d, **sig.as_dict()}, quality_reason(sig, d["lang"], filters)) for d, sig in zip(docs, sigs, strict=True)]


def signal_detail(doc: dict) -> str:
    return (f"chars={doc['n_chars']} words={doc['n_words']} symbol={doc['symbol_ratio']:.2f} "
            f"digit={doc['digit_ratio']:.2f} dup_lines={doc['dup_line_frac']:.2f} "
            f"mean_word_len={doc['mean_word_len']:.1f}")
