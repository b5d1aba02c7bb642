"""Composite Beam transforms of the parallel stage; thin wrappers over the plain functions.

Counters (namespace "parallel"): pairs.* (read → kept / dropped.<reason>), align.* (pairs sent to
the aligner), lexicon.* (distinct word pairs), alm.* and dict.* (matrix sentences → sampled or not),
plus alm.samples / dict.samples and *.switched_ppm (sum of switched fractions × 1e6, for means).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam import pvalue

from pipelines.counters import REJECTS_TAG, drop, inc
from pipelines.ids import stable_id
from pipelines.parallel.align import AlignSettings, chunk_of, chunk_seed, make_aligner, pair_key
from pipelines.parallel.alm import AlmSettings, alm_samples
from pipelines.parallel.clean import CleanSettings, check_lid, check_pair, pair_dedup_key, prepare_pair
from pipelines.parallel.dictcs import (
    DictSettings,
    best_candidates,
    dict_samples,
    matrix_sentences,
    occurrences,
    translations,
)
from pipelines.parallel.readers import InputSpec, read_input
from pipelines.parallel.tokenize import is_word

STAGE = "parallel"


def _per_pair(key: str, what: str) -> None:
    """The same pairs.* counter per language pair (unit `pairs[src-tgt]`), for the per-pair summary."""
    inc(STAGE, f"pairs[{key}].{what}")


class _ReadDoFn(beam.DoFn):
    def process(self, spec: InputSpec):
        for rec in read_input(spec):
            inc(STAGE, "pairs.read")
            _per_pair(spec.pair, "read")
            if "reason" in rec:
                _per_pair(spec.pair, f"dropped.{rec['reason']}")
                yield pvalue.TaggedOutput(REJECTS_TAG, drop(
                    STAGE, "pairs", "ReadParallel", rec["reason"], source=rec["source"], offset=rec["offset"],
                    detail=rec["detail"], sample=rec["sample"]))
            else:
                yield rec


class ReadParallel(beam.PTransform):
    """Input specs → raw pairs (main) and reader rejects (tag "rejects")."""

    def __init__(self, specs: list[InputSpec]):
        super().__init__()
        self.specs = specs

    def expand(self, pbegin):
        out = (
            pbegin
            | "Specs" >> beam.Create(self.specs)
            | "Read" >> beam.ParDo(_ReadDoFn()).with_outputs(REJECTS_TAG, main="pairs")
        )
        # Reshuffle: one input file is read by one worker; the pairs spread out from here.
        return {"pairs": out.pairs | "Spread" >> beam.Reshuffle(), "rejects": out[REJECTS_TAG]}


class _CleanDoFn(beam.DoFn):
    def __init__(self, settings: CleanSettings):
        self.s = settings
        self.lid = None

    def setup(self):
        if self.s.lid:
            from pipelines.lid import LanguageIdentifier

            self.lid = LanguageIdentifier(self.s.lid_model_path)

    def _reject(self, pair: dict, reason: str, detail: str):
        _per_pair(pair_key(pair), f"dropped.{reason}")
        return pvalue.TaggedOutput(REJECTS_TAG, drop(
            STAGE, "pairs", "CleanPairs", reason, source=pair["source"], offset=pair["offset"],
            record_id=pair["pair_id"], detail=detail, sample=f"{pair['src_text'][:97]} ||| {pair['tgt_text'][:97]}"))

    def process(self, raw: dict):
        pair = prepare_pair(raw)
        problem = check_pair(pair, self.s)
        if problem is None and self.lid is not None:
            src_pred, tgt_pred = self.lid.predict_batch([pair["src_text"], pair["tgt_text"]])
            problem = check_lid(pair, src_pred, tgt_pred, self.s)
        if problem is not None:
            yield self._reject(pair, *problem)
        else:
            yield pair


def _dedup(key_pairs):
    """Keep the pair with the smallest pair_id of each exact-duplicate group; reject the others."""
    _, group = key_pairs
    group = sorted(group, key=lambda p: p["pair_id"])
    inc(STAGE, "pairs.kept")
    _per_pair(pair_key(group[0]), "kept")
    yield group[0]
    for dup in group[1:]:
        _per_pair(pair_key(dup), "dropped.duplicate")
        yield pvalue.TaggedOutput(REJECTS_TAG, drop(
            STAGE, "pairs", "CleanPairs", "duplicate", source=dup["source"], offset=dup["offset"],
            record_id=dup["pair_id"], detail=f"duplicate of pair {group[0]['pair_id']}",
            sample=f"{dup['src_text'][:97]} ||| {dup['tgt_text'][:97]}"))


class CleanPairs(beam.PTransform):
    """Raw pairs → cleaned, tokenized, deduplicated pairs (main) and rejects."""

    def __init__(self, settings: CleanSettings):
        super().__init__()
        self.s = settings

    def expand(self, raw):
        checked = raw | "Check" >> beam.ParDo(_CleanDoFn(self.s)).with_outputs(REJECTS_TAG, main="pairs")
        deduped = (
            checked.pairs
            | "KeyByText" >> beam.Map(lambda p: (pair_dedup_key(p), p))
            | "GroupDuplicates" >> beam.GroupByKey()
            | "KeepFirst" >> beam.FlatMap(_dedup).with_outputs(REJECTS_TAG, main="pairs")
        )
        rejects = (checked[REJECTS_TAG], deduped[REJECTS_TAG]) | "AllRejects" >> beam.Flatten()
        return {"pairs": deduped.pairs, "rejects": rejects}


class _AlignChunkDoFn(beam.DoFn):
    def __init__(self, settings: AlignSettings, seed: int):
        self.s, self.seed = settings, seed
        self.aligner = None

    def setup(self):
        self.aligner = make_aligner(self.s)

    def process(self, chunk):
        (key, index), pairs = chunk
        pairs = sorted(pairs, key=lambda p: p["pair_id"])
        ok = []
        for p in pairs:
            inc(STAGE, "align.read")
            why = self.aligner.over_limit(p["src_tokens"], p["tgt_tokens"])
            if why:
                yield pvalue.TaggedOutput(REJECTS_TAG, drop(
                    STAGE, "align", "AlignWords", "too_long_for_aligner", source=p["source"], offset=p["offset"],
                    record_id=p["pair_id"], detail=why, sample=p["src_text"]))
            else:
                ok.append(p)
        links = self.aligner.align([(p["src_tokens"], p["tgt_tokens"]) for p in ok], chunk_seed(self.seed, key, index))
        params = self.aligner.params_json()
        for p, lk in zip(ok, links, strict=True):
            inc(STAGE, "align.kept")
            inc(STAGE, "align.links", len(lk))
            yield {**p, "links": [{"src": i, "tgt": j} for i, j in lk], "aligner": self.aligner.name, "params": params}


class AlignWords(beam.PTransform):
    """Cleaned pairs → pairs with `links` (main) and rejects (pairs over the aligner's length limit)."""

    def __init__(self, settings: AlignSettings, seed: int):
        super().__init__()
        self.s, self.seed = settings, seed

    def expand(self, pairs):
        size = self.s.chunk_size
        counts = (
            pairs
            | "KeyByPair" >> beam.Map(lambda p: (pair_key(p), 1))
            | "CountPerPair" >> beam.CombinePerKey(sum)
        )
        aligned = (
            pairs
            | "AssignChunk" >> beam.Map(
                lambda p, n: ((pair_key(p), chunk_of(p["pair_id"], n[pair_key(p)], size)), p), n=beam.pvalue.AsDict(counts))
            | "GroupChunks" >> beam.GroupByKey()
            | "AlignChunk" >> beam.ParDo(_AlignChunkDoFn(self.s, self.seed)).with_outputs(REJECTS_TAG, main="aligned")
        )
        return {"aligned": aligned.aligned, "rejects": aligned[REJECTS_TAG]}


def _linked_words(rec: dict):
    key = pair_key(rec)
    for lk in rec["links"]:
        s, t = rec["src_tokens"][lk["src"]], rec["tgt_tokens"][lk["tgt"]]
        if is_word(s) and is_word(t):
            yield (key, s.lower(), t.lower()), 1


def _p_tgt_given_src(kv):
    (key, src), items = kv
    items = list(items)
    total = sum(c for _, c in items)
    for tgt, c in items:
        yield (key, tgt), (src, c, c / total)


def _entries(kv, min_count: int):
    (key, tgt), items = kv
    items = sorted(items)
    total = sum(c for _, c, _ in items)
    src_lang, tgt_lang = key.split("-", 1)
    for src, c, p_ts in items:
        inc(STAGE, "lexicon.read")
        if c < min_count:
            inc(STAGE, "lexicon.dropped.below_min_count")
            continue
        inc(STAGE, "lexicon.kept")
        yield {"entry_id": stable_id("lex", src_lang, tgt_lang, src, tgt), "src_lang": src_lang, "tgt_lang": tgt_lang,
               "src": src, "tgt": tgt, "p_tgt_given_src": p_ts, "p_src_given_tgt": c / total, "count": c}


class BuildLexicon(beam.PTransform):
    """Aligned pairs → lexicon entries: link counts per language pair, p(t|s) and p(s|t)."""

    def __init__(self, min_count: int):
        super().__init__()
        self.min_count = min_count

    def expand(self, aligned):
        return (
            aligned
            | "LinkedWords" >> beam.FlatMap(_linked_words)
            | "CountLinks" >> beam.CombinePerKey(sum)
            | "BySrc" >> beam.Map(lambda kv: ((kv[0][0], kv[0][1]), (kv[0][2], kv[1])))
            | "GroupBySrc" >> beam.GroupByKey()
            | "PTgtGivenSrc" >> beam.FlatMap(_p_tgt_given_src)
            | "GroupByTgt" >> beam.GroupByKey()
            | "Entries" >> beam.FlatMap(_entries, min_count=self.min_count)
        )


def _count_samples(kind: str, samples: list[dict], why_none: str):
    inc(STAGE, f"{kind}.read")
    if not samples:
        inc(STAGE, f"{kind}.dropped.{why_none}")
        return
    inc(STAGE, f"{kind}.kept")
    inc(STAGE, f"{kind}.samples", len(samples))
    inc(STAGE, f"{kind}.switched_ppm", sum(round(s["switched_fraction"] * 1e6) for s in samples))


def _alm(rec: dict, settings: AlmSettings, seed: int):
    samples = alm_samples(rec, settings, seed)
    _count_samples("alm", samples, "no_switchable_phrase")
    yield from samples


class MakeAlmCodeSwitch(beam.PTransform):
    """Aligned pairs → ALM code-switched samples (kind "alm")."""

    def __init__(self, settings: AlmSettings, seed: int):
        super().__init__()
        self.s, self.seed = settings, seed

    def expand(self, aligned):
        return aligned | "Sample" >> beam.FlatMap(_alm, settings=self.s, seed=self.seed)


def _candidates_per_occurrence(kv, per_lang: int):
    _, grouped = kv
    cands = list(grouped["tr"])
    if not cands:
        return
    best = best_candidates(cands, per_lang)
    for sent_id, i in grouped["occ"]:
        yield sent_id, (i, best)


def _dict(kv, settings: DictSettings, seed: int):
    _, grouped = kv
    sent = next(iter(grouped["sent"]))
    cands = dict(grouped["cand"])
    samples = dict_samples(sent, cands, settings, seed) if cands else []
    _count_samples("dict", samples, "no_replacement" if cands else "no_translation")
    yield from samples


class MakeDictCodeSwitch(beam.PTransform):
    """(cleaned pairs, lexicon) → dictionary code-switched samples (kind "dict").

    The join is a shuffle on (language, word), not a side input: the lexicon may be large.
    """

    def __init__(self, settings: DictSettings, seed: int):
        super().__init__()
        self.s, self.seed = settings, seed

    def expand(self, pcolls):
        pairs, lexicon = pcolls
        sents = pairs | "MatrixSentences" >> beam.FlatMap(matrix_sentences)
        per_occ = (
            {"tr": lexicon | "Translations" >> beam.FlatMap(translations),
             "occ": sents | "Occurrences" >> beam.FlatMap(occurrences)}
            | "JoinWords" >> beam.CoGroupByKey()
            | "Candidates" >> beam.FlatMap(_candidates_per_occurrence, per_lang=self.s.max_candidates)
        )
        return (
            {"sent": sents | "KeyBySentence" >> beam.Map(lambda s: (s["sent_id"], s)), "cand": per_occ}
            | "JoinSentences" >> beam.CoGroupByKey()
            | "Sample" >> beam.FlatMap(_dict, settings=self.s, seed=self.seed)
        )
