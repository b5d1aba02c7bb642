"""Dictionary code-switching (CoSDA-ML style): words replaced by lexicon translations.

Every side of every cleaned pair is a matrix sentence. Each word with a lexicon translation is
replaced with probability p; the language is drawn uniformly among the languages the lexicon
translates that word into (several when the lexicon covers several pairs sharing a language, e.g.
English in deu-eng, fra-eng, rus-eng), then the translation is the most probable one ("top") or
drawn by its probability ("sample"). The lexicon is used in both directions: p(t|s) for src words,
p(s|t) for tgt words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipelines.codeswitch import Replacement, apply_replacements
from pipelines.ids import stable_hash64, stable_id
from pipelines.parallel.tokenize import is_word

Candidate = tuple[str, str, float]  # (language, word, probability)


@dataclass(frozen=True)
class DictSettings:
    p: float = 0.3  # replacement probability per word that has a translation
    choose: str = "top"  # top | sample
    max_candidates: int = 5  # translations kept per word and language (most probable first)
    samples: int = 1  # per matrix sentence


def translations(entry: dict) -> list[tuple[tuple[str, str], Candidate]]:
    """A lexicon entry read both ways: ((lang, word), (other lang, translation, probability))."""
    return [
        ((entry["src_lang"], entry["src"]), (entry["tgt_lang"], entry["tgt"], float(entry["p_tgt_given_src"]))),
        ((entry["tgt_lang"], entry["tgt"]), (entry["src_lang"], entry["src"], float(entry["p_src_given_tgt"]))),
    ]


def best_candidates(cands: list[Candidate], per_lang: int) -> list[Candidate]:
    """The `per_lang` most probable translations per language, in a fixed order."""
    by_lang: dict[str, list[Candidate]] = {}
    for c in cands:
        by_lang.setdefault(c[0], []).append(c)
    out: list[Candidate] = []
    for lang in sorted(by_lang):
        out += sorted(by_lang[lang], key=lambda c: (-c[2], c[1]))[:per_lang]
    return out


def matrix_sentences(pair: dict) -> list[dict]:
    """Both sides of a pair as sentences to switch."""
    return [
        {"sent_id": f"{pair['pair_id']}:{side}", "parent_id": pair["pair_id"], "lang": pair[f"{side}_lang"],
         "text": pair[f"{side}_text"], "tokens": pair[f"{side}_tokens"], "offsets": pair[f"{side}_offsets"],
         "pair": f"{pair['src_lang']}-{pair['tgt_lang']}"}
        for side in ("src", "tgt")
    ]


def occurrences(sent: dict) -> list[tuple[tuple[str, str], tuple[str, int]]]:
    """((lang, lowercased word), (sent_id, token index)) for each word token."""
    return [((sent["lang"], tok.lower()), (sent["sent_id"], i)) for i, tok in enumerate(sent["tokens"]) if is_word(tok)]


def _match_case(original: str, word: str) -> str:
    return word[:1].upper() + word[1:] if original[:1].isupper() and word[:1].islower() else word


def dict_samples(sent: dict, candidates: dict[int, list[Candidate]], s: DictSettings, seed: int) -> list[dict]:
    out = []
    for k in range(s.samples):
        rng = random.Random(stable_hash64(f"{seed}:dict:{sent['sent_id']}:{k}"))
        reps = []
        for i in sorted(candidates):
            cands = candidates[i]
            if rng.random() >= s.p:
                continue
            lang = rng.choice(sorted({c[0] for c in cands}))
            options = [c for c in cands if c[0] == lang]
            if s.choose == "sample":
                pick = rng.choices(options, weights=[max(c[2], 1e-9) for c in options])[0]
            else:
                pick = options[0]
            off = sent["offsets"][i]
            reps.append(Replacement(off["start"], off["end"], _match_case(sent["tokens"][i], pick[1]), lang))
        if not reps:
            continue
        built = apply_replacements(sent["text"], sent["lang"], reps)
        out.append({"cs_id": stable_id("dict", sent["sent_id"], k), "parent_id": sent["parent_id"], "kind": "dict",
                    "matrix_lang": sent["lang"], **built, "pair": sent["pair"],
                    "switched_fraction": len(reps) / len(sent["tokens"])})
    return out
