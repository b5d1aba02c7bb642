"""EntityCS samples: switch every linked entity of an English sentence to its Wikidata label.

Per sentence: candidate languages = ∩ over its entities that have a QID of their label languages,
∩ the target languages, minus the source language; up to N of them are sampled with a generator
seeded by (seed, sentence id), so reruns pick the same languages. In each sample every entity with a
QID is replaced by its label in that language; `spans` give each switched entity's characters in the
plain text, `marked_text` wraps them in `<xxx_Scrp>…</xxx_Scrp>`, and `source_marked_text` is the
source sentence with the same entities wrapped in source-language markers.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from pipelines.codeswitch import Replacement, apply_replacements, marker
from pipelines.ids import stable_hash64, stable_id


@dataclass
class LinkedAnchor:
    start: int
    end: int
    title: str
    qid: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # project code → label


def candidate_languages(anchors: list[LinkedAnchor], targets: set[str] | None, source_lang: str) -> list[str]:
    """Languages every entity (with a QID) has a label in, ∩ targets (None = any), minus the source."""
    label_sets = [set(a.labels) for a in anchors if a.qid]
    if not label_sets:
        return []
    common = set.intersection(*label_sets)
    if targets is not None:
        common &= targets
    common.discard(source_lang)
    return sorted(common)


def sample_languages(sent_id: str, candidates: list[str], n: int, seed: int) -> list[str]:
    """Up to n of the (sorted) candidates, the same for the same (seed, sentence id); sorted."""
    if len(candidates) <= n:
        return list(candidates)
    rng = random.Random(stable_hash64(f"{seed}\x00{sent_id}"))
    return sorted(rng.sample(sorted(candidates), n))


def switch_sentence(text: str, anchors: list[LinkedAnchor], lang: str, source_lang: str) -> dict:
    """One switched sentence: text, spans [start, end, lang, original], marked_text, source_marked_text, langs."""
    reps = [Replacement(a.start, a.end, a.labels[lang], lang) for a in anchors if a.qid]
    return apply_replacements(text, source_lang, reps)


def make_entitycs(
    sent_id: str,
    text: str,
    anchors: list[LinkedAnchor],
    source_lang: str,
    targets: set[str] | None,
    max_languages: int,
    seed: int,
) -> tuple[list[dict], str | None]:
    """CODESWITCH records (kind entitycs) for one sentence, or ([], reason) when there are none."""
    if not any(a.qid for a in anchors):
        return [], "no_entity"
    langs = sample_languages(sent_id, candidate_languages(anchors, targets, source_lang), max_languages, seed)
    if not langs:
        return [], "no_common_language"
    records = []
    for lang in langs:
        s = switch_sentence(text, anchors, lang, source_lang)
        records.append({
            "cs_id": stable_id("entitycs", sent_id, lang),
            "parent_id": sent_id,
            "kind": "entitycs",
            "matrix_lang": source_lang,
            **s,
        })
    return records, None


def release_line(record: dict, code) -> str:
    """One EntityCS release-format JSON line {id, language, en_sentence, cs_sentence}.

    code: project code → the code used in the `language` field and the markers (see langs.release_code).
    The two sentences are rebuilt from text + spans, so markers are exact whatever the code style.
    """
    text, spans = record["text"], sorted(record["spans"], key=lambda s: s["start"])
    src = code(record["matrix_lang"])
    cs_parts, en_parts, pos = [], [], 0
    lang = None
    for s in spans:
        lang = s["lang"]
        between = text[pos : s["start"]]
        cs_parts += [between, marker(code(lang), text[s["start"] : s["end"]])]
        en_parts += [between, marker(src, s["original"])]
        pos = s["end"]
    cs_parts.append(text[pos:])
    en_parts.append(text[pos:])
    if lang is None:
        lang = next(x for x in record["langs"] if x != record["matrix_lang"])
    return json.dumps(
        {"id": record["cs_id"], "language": code(lang), "en_sentence": "".join(en_parts),
         "cs_sentence": "".join(cs_parts)},
        ensure_ascii=False,
    )
