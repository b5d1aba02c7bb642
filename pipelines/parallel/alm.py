"""ALM code-switching (Yang et al. 2020): swap aligned phrases between the two sides of a pair.

Phrase pairs are extracted consistently with the word alignment (no link leaves the box; both
sides shorter than 5 words by default). A sample keeps one side as the matrix sentence ("major
source" or "major target") and replaces a random set of disjoint phrases by their aligned
counterparts, switching at most `max_switch_ratio` of the matrix sentence's tokens.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from pipelines.codeswitch import Replacement, apply_replacements
from pipelines.ids import stable_hash64, stable_id
from pipelines.parallel.tokenize import is_word

Phrase = tuple[int, int, int, int]  # src start, src end, tgt start, tgt end (inclusive word indices)


@dataclass(frozen=True)
class AlmSettings:
    max_phrase_words: int = 4  # phrases < 5 words on each side
    max_switch_ratio: float = 0.3  # switched tokens / tokens of the matrix sentence
    samples: int = 2  # per pair and direction
    directions: tuple[str, ...] = ("source", "target")  # major-source and/or major-target


def extract_phrases(n_src: int, n_tgt: int, links: list[tuple[int, int]], max_words: int = 4) -> list[Phrase]:
    """Every phrase pair consistent with `links`: some link inside, none leaving the box."""
    by_src: dict[int, list[int]] = {}
    for i, j in links:
        by_src.setdefault(i, []).append(j)
    phrases = []
    for s1 in range(n_src):
        for s2 in range(s1, min(n_src, s1 + max_words)):
            tgts = [j for i in range(s1, s2 + 1) for j in by_src.get(i, ())]
            if not tgts:
                continue
            t1, t2 = min(tgts), max(tgts)
            if t2 - t1 + 1 > max_words:
                continue
            if all(s1 <= i <= s2 for i, j in links if t1 <= j <= t2):
                phrases.append((s1, s2, t1, t2))
    return phrases


def is_consistent(phrase: Phrase, links: list[tuple[int, int]]) -> bool:
    s1, s2, t1, t2 = phrase
    inside = [(i, j) for i, j in links if s1 <= i <= s2 and t1 <= j <= t2]
    crossing = [(i, j) for i, j in links if (s1 <= i <= s2) != (t1 <= j <= t2)]
    return bool(inside) and not crossing


def _disjoint(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[1] < b[0] or b[1] < a[0]


def choose_phrases(phrases: list[Phrase], budget: int, rng: random.Random, matrix_src: bool) -> list[Phrase]:
    """A random set of phrases, disjoint on both sides, switching 1..budget matrix tokens."""
    target = rng.randint(1, budget)
    pool = phrases[:]
    rng.shuffle(pool)
    chosen: list[Phrase] = []
    used = 0
    for p in pool:
        size = (p[1] - p[0] + 1) if matrix_src else (p[3] - p[2] + 1)
        if used + size > target:
            continue
        if all(_disjoint(p[:2], q[:2]) and _disjoint(p[2:], q[2:]) for q in chosen):
            chosen.append(p)
            used += size
    return sorted(chosen)


def alm_samples(rec: dict, s: AlmSettings, seed: int) -> list[dict]:
    """Code-switched samples of one aligned pair (a dict with texts, tokens, offsets, links)."""
    links = [(lk["src"], lk["tgt"]) for lk in rec["links"]]
    n_src, n_tgt = len(rec["src_tokens"]), len(rec["tgt_tokens"])
    phrases = [
        p
        for p in extract_phrases(n_src, n_tgt, links, s.max_phrase_words)
        # a phrase of punctuation only switches nothing
        if any(is_word(t) for t in rec["src_tokens"][p[0] : p[1] + 1])
    ]
    out = []
    for direction in s.directions:
        matrix_src = direction == "source"
        side, other = ("src", "tgt") if matrix_src else ("tgt", "src")
        n_matrix = n_src if matrix_src else n_tgt
        budget = math.floor(s.max_switch_ratio * n_matrix + 1e-9)
        if budget < 1 or not phrases:
            continue
        seen: set[tuple] = set()
        for attempt in range(3 * s.samples):
            if len(seen) == s.samples:
                break
            rng = random.Random(stable_hash64(f"{seed}:alm:{rec['pair_id']}:{direction}:{attempt}"))
            chosen = choose_phrases(phrases, budget, rng, matrix_src)
            key = tuple(chosen)
            if not chosen or key in seen:
                continue
            seen.add(key)
            m_off, o_off = rec[f"{side}_offsets"], rec[f"{other}_offsets"]
            o_text = rec[f"{other}_text"]
            reps = []
            switched = 0
            for s1, s2, t1, t2 in chosen:
                (a1, a2), (b1, b2) = ((s1, s2), (t1, t2)) if matrix_src else ((t1, t2), (s1, s2))
                reps.append(Replacement(m_off[a1]["start"], m_off[a2]["end"], o_text[o_off[b1]["start"] : o_off[b2]["end"]],
                                        rec[f"{other}_lang"]))
                switched += a2 - a1 + 1
            built = apply_replacements(rec[f"{side}_text"], rec[f"{side}_lang"], reps)
            out.append({
                "cs_id": stable_id("alm", rec["pair_id"], direction, *key),
                "parent_id": rec["pair_id"],
                "kind": "alm",
                "matrix_lang": rec[f"{side}_lang"],
                **built,
                "pair": f"{rec['src_lang']}-{rec['tgt_lang']}",
                "switched_fraction": switched / n_matrix,
            })
    return out
