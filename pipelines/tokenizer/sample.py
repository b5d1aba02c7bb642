"""The tokenizer's training sample: sentences drawn per language with smoothed probabilities.

Two streaming passes over the products: count the usable sentences per language, then draw each
language's quota (p_i ∝ n_i^α of the total) with a generator seeded by (seed, language). A
language with fewer sentences than its quota is repeated (whole passes + a seeded partial pass),
which is how smoothing up-weights it. Memory is O(sample size), never O(corpus).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from pipelines.ids import stable_hash64
from pipelines.smoothing import raw_probs, sample_plan, smoothed_probs
from pipelines.tokenizer.sources import iter_sentences


@dataclass
class SampleResult:
    path: str
    languages: dict[str, dict]  # lang → available, sampled, distinct, repeats, p_raw, p_smoothed
    seen_languages: list[str]  # every language any row mentions (markers)
    counters: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    lines: int = 0


def usable(lang: str, sentence: str, allowed: frozenset[str] | None, max_chars: int) -> str | None:
    """None when the sentence can go into the sample, else the drop reason."""
    if allowed is not None and lang not in allowed:
        return "lang_not_in_set"
    if len(sentence) > max_chars:
        return "too_long"
    return None


def count_sentences(
    shards: list[str], allowed: frozenset[str] | None, max_chars: int
) -> tuple[Counter, set[str], Counter]:
    """Pass 1: usable sentences per language, languages seen, and the sentence counters."""
    available: Counter = Counter()
    seen: set[str] = set()
    counters: Counter = Counter()
    for _kind, langs, sentences in iter_sentences(shards):
        seen |= langs
        for lang, s in sentences:
            counters["sentences.read"] += 1
            reason = usable(lang, s, allowed, max_chars)
            if reason:
                counters[f"sentences.dropped.{reason}"] += 1
            else:
                counters["sentences.kept"] += 1
                available[lang] += 1
    return available, seen, counters


def draw_counts(n: int, quota: int, seed: int, lang: str) -> tuple[int, np.ndarray]:
    """(whole repeats, sorted indices drawn once more) for `quota` draws out of `n` sentences."""
    repeats, rest = divmod(quota, n)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, stable_hash64(lang) & 0xFFFFFFFF])
    extra = np.sort(rng.choice(n, size=rest, replace=False)) if rest else np.empty(0, dtype=np.int64)
    return repeats, extra


def build_sample(
    shards: list[str], out_path: str, total: int, alpha: float, seed: int,
    allowed: frozenset[str] | None = None, max_chars: int = 4000,
) -> SampleResult:
    """Write the sample (one sentence per line) to out_path and describe it."""
    available, seen, counters = count_sentences(shards, allowed, max_chars)
    if not available:
        raise ValueError("no usable sentence in the tokenizer's input products")
    quotas = sample_plan(dict(available), alpha, total)
    plans = {lang: draw_counts(available[lang], quotas[lang], seed, lang) for lang in available}
    index: Counter = Counter()  # position of the next usable sentence, per language
    cursor: Counter = Counter()  # next unread entry of plans[lang][1]
    distinct: Counter = Counter()
    h = hashlib.sha256()
    lines = 0
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        for _kind, _langs, sentences in iter_sentences(shards):
            for lang, s in sentences:
                if usable(lang, s, allowed, max_chars):
                    continue
                i = index[lang]
                index[lang] += 1
                repeats, extra = plans[lang]
                times = repeats
                c = cursor[lang]
                if c < len(extra) and extra[c] == i:
                    times += 1
                    cursor[lang] = c + 1
                if times:
                    distinct[lang] += 1
                    chunk = (s + "\n") * times
                    f.write(chunk)
                    h.update(chunk.encode("utf-8"))
                    lines += times
    p_raw = raw_probs(dict(available))
    p_smooth = smoothed_probs(dict(available), alpha)
    languages = {
        lang: {"available": available[lang], "sampled": quotas[lang], "distinct": distinct[lang],
               "p_raw": p_raw[lang], "p_smoothed": p_smooth[lang],
               "p_sample": quotas[lang] / total if total else 0.0}
        for lang in sorted(available)
    }
    counters["sample.lines"] = lines
    return SampleResult(out_path, languages, sorted(seen), dict(sorted(counters.items())), h.hexdigest(), lines)
