"""Sentence splitting benchmark (pipelines.sentences), on the demo sentences of 12 languages.

Printed relations, all measured in this run on the same paragraphs:

1. split_sentences (ICU BreakIterator + abbreviation / anchor / closing-mark / Thai rules) against
   ICU's bare BreakIterator loop: the cost of the project's rules on top;
2. both against a one-regex splitter (split after . ! ? 。！？ and whitespace), the cheapest thing
   that could be called a splitter (and wrong in most languages): how much the right answer costs.

    python benchmarks/sentences.py [--quick]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.demo.crawl_text import SENTENCES  # noqa: E402
from pipelines.sentences import _iterator, icu_locale, split_sentences  # noqa: E402

_NAIVE = re.compile(r"(?<=[.!?。！？])\s*")


def paragraphs(copies: int) -> list[tuple[str, str]]:
    """(language, paragraph of 4 sentences) for every language, `copies` times."""
    out = []
    for c in range(copies):
        for lang, sents in SENTENCES.items():
            sep = "" if lang in ("zho", "jpn") else " "
            for k in range(0, len(sents), 4):
                out.append((lang, sep.join(sents[k:k + 4]) + f" {c}."))
    return out


def timed(fn, paras) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = sum(fn(text, lang) for lang, text in paras)
    return time.perf_counter() - t0, n


def ours(text: str, lang: str) -> int:
    return len(split_sentences(text, lang))


def bare_icu(text: str, lang: str) -> int:
    bi = _iterator(icu_locale(lang))
    bi.setText(text)
    return sum(1 for _ in bi)


def naive(text: str, lang: str) -> int:
    return sum(1 for s in _NAIVE.split(text) if s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer paragraphs (a second or two)")
    args = ap.parse_args()
    paras = paragraphs(50 if args.quick else 400)
    chars = sum(len(t) for _, t in paras)
    for fn in (ours, bare_icu, naive):  # warm-up: iterators, tables
        timed(fn, paras[:50])
    t_ours, n_ours = timed(ours, paras)
    t_icu, n_icu = timed(bare_icu, paras)
    t_naive, n_naive = timed(naive, paras)
    print(f"{len(paras):,} paragraphs, {chars / 1e6:.1f} M characters, 12 languages")
    print(f"split_sentences: {chars / t_ours / 1e6:.2f} M chars/s, {n_ours:,} sentences")
    print(f"bare ICU BreakIterator: {n_icu:,} sentences; one-regex splitter: {n_naive:,} sentences")
    print(f"split_sentences / bare ICU time: {t_ours / t_icu:.1f}x  (cost of the rules on top)")
    print(f"split_sentences / one-regex time: {t_ours / t_naive:.1f}x;  bare ICU / one-regex: {t_icu / t_naive:.1f}x")


if __name__ == "__main__":
    main()
