"""A generated word-alignment gold set that behaves like real parallel text (tests and benchmarks/align.py).

No manually aligned corpus can be downloaded here, so one is planted: a source "language" whose
word frequencies follow Zipf's law, translated word by word into a target language through a
lexicon with synonyms (one source word, several translations), homonyms (several source words,
one translation), one-to-two translations (a compound split in two), frequent function words that
are not translated (null links on the source side) and target function words that come from
nothing (null links on the target side); then the target is reordered — adjacent swaps (adjective
and noun) and a word moved to the end (verb-final clauses). The gold links are exactly the planted
ones, so AER = 1 - 2|A ∩ G| / (|A| + |G|) (sure = possible links).

Like real text, rare words are rare: in a chunk of 1,000 pairs most of the vocabulary occurs once
or not at all, which is why an aligner run per chunk loses quality and shared priors bring it back.
Everything is drawn from one seeded generator: the same spec gives the same corpus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Link = tuple[int, int]


@dataclass(frozen=True)
class GoldSpec:
    n_pairs: int = 20000
    vocab: int = 12000  # source word types
    zipf: float = 1.0  # frequency of the word of rank r ∝ 1 / (r + 2.7) ** zipf
    mean_words: float = 14.0  # source sentence length: lognormal around this, clipped to [3, 60]
    p_synonym: float = 0.4  # share of types with a second translation (used 30 % of the time)
    p_paraphrase: float = 0.08  # per token: translated by an unrelated (Zipf-drawn) target word, still linked
    p_two_words: float = 0.10  # share of types translated by two target words
    null_ranks: tuple[int, ...] = (1, 4, 8, 13, 21, 34)  # frequent source words that often stay untranslated
    p_null: float = 0.6  # ... with this probability per occurrence
    n_inserted: int = 20  # target function words that come from nothing
    p_insert: float = 0.08  # per target position
    p_swap: float = 0.25  # adjacent blocks swapped (scanning left to right)
    p_to_end: float = 0.3  # one block moved to the end of the sentence
    seed: int = 0


@dataclass
class GoldCorpus:
    pairs: list[tuple[list[str], list[str]]]  # (source tokens, target tokens)
    gold: list[set[Link]]  # planted (source index, target index) links per pair


def _lexicon(spec: GoldSpec, rng: np.random.Generator) -> list[list[tuple[tuple[str, ...], float]]]:
    """Translations of each source rank: [(target words, probability)]."""
    lex = []
    for r in range(spec.vocab):
        # a translation has a similar frequency rank (with noise): frequent words translate to
        # frequent words, and nearby ranks collide now and then (homonyms)
        def tgt_word(r: int = r) -> str:
            return f"t{max(0, int(round(r + rng.normal(0.0, 0.08 * r + 1.0))))}"

        first: tuple[str, ...] = (tgt_word(), tgt_word()) if rng.random() < spec.p_two_words else (tgt_word(),)
        options = [(first, 1.0)]
        if rng.random() < spec.p_synonym:
            options = [(first, 0.7), ((tgt_word(),), 0.3)]
        lex.append(options)
    return lex


def make_gold(spec: GoldSpec = GoldSpec()) -> GoldCorpus:
    rng = np.random.default_rng(spec.seed)
    lex = _lexicon(spec, rng)
    weights = 1.0 / (np.arange(spec.vocab) + 2.7) ** spec.zipf
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0

    def zipf_ranks(k: int) -> np.ndarray:
        return np.searchsorted(cdf, rng.random(k), side="right")
    null_ranks = set(spec.null_ranks)
    lengths = np.clip(np.round(rng.lognormal(math.log(spec.mean_words), 0.5, spec.n_pairs)), 3, 60).astype(int)
    pairs, gold = [], []
    for n in lengths:
        ranks = zipf_ranks(int(n))
        src = [f"s{r}" for r in ranks]
        # blocks: (source index or -1 for an inserted word, target words)
        blocks: list[tuple[int, tuple[str, ...]]] = []
        for i, r in enumerate(ranks):
            if r in null_ranks and rng.random() < spec.p_null:
                continue  # an untranslated function word: no link
            if rng.random() < spec.p_paraphrase:
                blocks.append((i, (f"t{int(zipf_ranks(1)[0])}",)))
                continue
            options = lex[r]
            k = 0 if len(options) == 1 or rng.random() < options[0][1] else 1
            blocks.append((i, options[k][0]))
        k = 0
        while k < len(blocks) - 1:  # local reordering: swap neighbours
            if rng.random() < spec.p_swap:
                blocks[k], blocks[k + 1] = blocks[k + 1], blocks[k]
                k += 2
            else:
                k += 1
        if len(blocks) > 2 and rng.random() < spec.p_to_end:  # long-distance: one block to the end
            blocks.append(blocks.pop(int(rng.integers(0, len(blocks) - 1))))
        tgt: list[str] = []
        links: set[Link] = set()
        for i, words in blocks:
            if rng.random() < spec.p_insert:
                tgt.append(f"f{int(rng.integers(0, spec.n_inserted))}")  # from nothing: no link
            for w in words:
                links.add((i, len(tgt)))
                tgt.append(w)
        if not tgt:
            tgt, links = ["f0"], set()
        pairs.append((src, tgt))
        gold.append(links)
    return GoldCorpus(pairs, gold)


def aer(links: list[list[Link]] | list[set[Link]], gold: list[set[Link]]) -> float:
    """Alignment error rate with sure = possible links: 1 - 2|A ∩ G| / (|A| + |G|)."""
    a = sum(len(x) for x in links)
    g = sum(len(x) for x in gold)
    both = sum(len(set(x) & y) for x, y in zip(links, gold, strict=True))
    return 1.0 - 2.0 * both / (a + g)
