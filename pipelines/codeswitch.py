"""Build a code-switched text from replacements in a matrix sentence: new text, spans, markers.

Shared by ALM and dictionary code-switching (parallel stage) and EntityCS (wiki stage)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Replacement:
    start: int  # char offsets in the matrix text (end exclusive)
    end: int
    text: str  # what goes there
    lang: str  # language of `text`


def marker(lang: str, inner: str) -> str:
    """`inner` wrapped in language markers: `<xxx_Scrp>inner</xxx_Scrp>`."""
    return f"<{lang}>{inner}</{lang}>"


def apply_replacements(text: str, matrix_lang: str, reps: list[Replacement]) -> dict:
    """text / spans / marked_text / source_marked_text / langs for non-overlapping replacements.

    spans are char offsets in the new text; text[start:end] is the inserted phrase and `original`
    what stood there. Markers: see `marker`.
    """
    reps = sorted(reps, key=lambda r: r.start)
    out, marked, source_marked, spans = [], [], [], []
    pos = length = 0
    for r in reps:
        if r.start < pos or r.end <= r.start:
            raise ValueError(f"replacements overlap or are empty at chars {r.start}-{r.end}")
        keep = text[pos : r.start]
        out.append(keep)
        marked.append(keep)
        source_marked.append(keep)
        length += len(keep)
        original = text[r.start : r.end]
        spans.append({"start": length, "end": length + len(r.text), "lang": r.lang, "original": original})
        out.append(r.text)
        marked.append(marker(r.lang, r.text))
        source_marked.append(marker(matrix_lang, original))
        length += len(r.text)
        pos = r.end
    tail = text[pos:]
    return {
        "text": "".join(out) + tail,
        "spans": spans,
        "marked_text": "".join(marked) + tail,
        "source_marked_text": "".join(source_marked) + tail,
        "langs": sorted({matrix_lang, *(r.lang for r in reps)}),
    }
