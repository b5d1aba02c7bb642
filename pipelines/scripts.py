"""Unicode script of text (ISO 15924), by code point ranges.

Used to complete language codes (`eng` → `eng_Latn`), to pick character shingles / per-character
word tokens for scripts written without spaces, and for per-script word splitting.
"""

from __future__ import annotations

import bisect
from collections import Counter

import numpy as np

from pipelines.codepoints import CodepointTable, codepoints

# (first code point, last code point, script). Sorted, non-overlapping. Letters and marks only
# matter: digits, punctuation and symbols are "Zyyy" (common) and never vote.
_RANGES: list[tuple[int, int, str]] = sorted(
    [
        (0x0041, 0x005A, "Latn"), (0x0061, 0x007A, "Latn"), (0x00AA, 0x00AA, "Latn"), (0x00BA, 0x00BA, "Latn"),
        (0x00C0, 0x00D6, "Latn"), (0x00D8, 0x00F6, "Latn"), (0x00F8, 0x024F, "Latn"), (0x0250, 0x02AF, "Latn"),
        (0x1E00, 0x1EFF, "Latn"), (0x2C60, 0x2C7F, "Latn"), (0xA720, 0xA7FF, "Latn"), (0xFF21, 0xFF3A, "Latn"),
        (0xFF41, 0xFF5A, "Latn"),
        (0x0370, 0x03FF, "Grek"), (0x1F00, 0x1FFF, "Grek"),
        (0x0400, 0x052F, "Cyrl"), (0x1C80, 0x1C8F, "Cyrl"), (0x2DE0, 0x2DFF, "Cyrl"), (0xA640, 0xA69F, "Cyrl"),
        (0x0530, 0x058F, "Armn"),
        (0x0590, 0x05FF, "Hebr"),
        (0x0600, 0x06FF, "Arab"), (0x0750, 0x077F, "Arab"), (0x08A0, 0x08FF, "Arab"), (0xFB50, 0xFDFF, "Arab"),
        (0xFE70, 0xFEFF, "Arab"),
        (0x0700, 0x074F, "Syrc"), (0x0780, 0x07BF, "Thaa"),
        (0x0900, 0x097F, "Deva"), (0xA8E0, 0xA8FF, "Deva"),
        (0x0980, 0x09FF, "Beng"), (0x0A00, 0x0A7F, "Guru"), (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"),
        (0x0B80, 0x0BFF, "Taml"), (0x0C00, 0x0C7F, "Telu"), (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"),
        (0x0D80, 0x0DFF, "Sinh"),
        (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"), (0x1000, 0x109F, "Mymr"),
        (0x10A0, 0x10FF, "Geor"), (0x1C90, 0x1CBF, "Geor"),
        (0x1100, 0x11FF, "Hang"), (0x3130, 0x318F, "Hang"), (0xA960, 0xA97F, "Hang"), (0xAC00, 0xD7AF, "Hang"),
        (0x1200, 0x139F, "Ethi"), (0x13A0, 0x13FF, "Cher"), (0x1780, 0x17FF, "Khmr"), (0x1800, 0x18AF, "Mong"),
        (0x3040, 0x309F, "Hira"), (0x30A0, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"), (0xFF66, 0xFF9D, "Kana"),
        (0x2E80, 0x2FDF, "Hani"), (0x3005, 0x3007, "Hani"), (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"),
        (0xF900, 0xFAFF, "Hani"), (0x20000, 0x2FA1F, "Hani"),
    ]
)
_STARTS = [r[0] for r in _RANGES]

# Scripts written without spaces between words: word n-grams / whitespace tokens make no sense there.
UNSPACED_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Jpan", "Thai", "Khmr", "Laoo", "Mymr", "Tibt"})


def char_script(ch: str) -> str:
    """Script of one character; "Zyyy" for common/unknown (digits, punctuation, spaces, symbols)."""
    cp = ord(ch)
    i = bisect.bisect_right(_STARTS, cp) - 1
    if i >= 0 and _RANGES[i][0] <= cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    return "Zyyy"


_SCRIPT_END = 0x2FA20  # past the last range above: every higher code point is "Zyyy"
_NO_VOTE = 254
_SCRIPT_NAMES: list[str] = []  # table value → script, in order of first sight (per process)


def _script_index(cp: int) -> int:
    """Script of a letter as an index into _SCRIPT_NAMES; _NO_VOTE for anything that is no letter."""
    ch = chr(cp)
    if ch.isalpha() or (ch.isalnum() and not ch.isdigit()):
        script = char_script(ch)
        if script != "Zyyy":
            if script not in _SCRIPT_NAMES:
                _SCRIPT_NAMES.append(script)
            return _SCRIPT_NAMES.index(script)
    return _NO_VOTE


_TABLE = CodepointTable(_script_index, _SCRIPT_END)  # code point → script index: one array lookup per text


def script_counts_batch(texts: list[str], limit: int = 4000) -> list[Counter]:
    """script_counts of many texts with one table lookup + bincount over all their samples."""
    samples = [t[:limit] for t in texts]
    doc = np.repeat(np.arange(len(samples)), [len(x) for x in samples])
    idx = _TABLE(np.minimum(codepoints("".join(samples)), _SCRIPT_END - 1)).astype(np.int64)  # last entry: no letter
    voting = idx != _NO_VOTE
    k = len(_SCRIPT_NAMES)
    counts = np.bincount(doc[voting] * k + idx[voting], minlength=len(samples) * k).reshape(len(samples), k)
    return [Counter({_SCRIPT_NAMES[j]: int(row[j]) for j in np.flatnonzero(row).tolist()}) for row in counts]


def script_counts(text: str, limit: int = 4000) -> Counter:
    """Letters per script over the first `limit` characters (a sample is enough to find the dominant one)."""
    idx = _TABLE(np.minimum(codepoints(text[:limit]), _SCRIPT_END - 1))  # the last table entry is no letter
    counts = np.bincount(idx, minlength=256)[: len(_SCRIPT_NAMES)]
    return Counter({_SCRIPT_NAMES[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()})


def dominant_from_counts(c: Counter) -> str:
    """Most frequent script; kana(+kanji) → "Jpan", Hangul with Hanja → "Kore"; ties alphabetical."""
    if not c:
        return "Zyyy"
    kana = c.get("Hira", 0) + c.get("Kana", 0)
    if kana and kana + c.get("Hani", 0) >= max(c.values()) and kana >= 0.1 * sum(c.values()):
        return "Jpan"
    best = max(sorted(c), key=lambda s: c[s])
    if best == "Hang" and c.get("Hani", 0):
        return "Kore"
    return best


def dominant_script(text: str, limit: int = 4000) -> str:
    """Dominant script of a text's letters ("Zyyy" when it has none). Deterministic."""
    return dominant_from_counts(script_counts(text, limit))


def is_unspaced(script: str) -> bool:
    return script in UNSPACED_SCRIPTS
