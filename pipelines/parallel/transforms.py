"""Composite Beam transforms of the parallel stage; thin wrappers over the plain functions.

Counters (namespace "parallel"): pairs.* (read → kept / dropped.<reason>), align.* (pairs sent to
the aligner; align.with_priors: of them, aligned with shared priors), align_priors.sample.* (pass-1
sample pairs) and align_priors.entries.<kind>, lexicon.* (distinct word pairs), alm.* and dict.*
(matrix sentences → sampled or not), plus alm.samples / dict.samples and *.switched_ppm (sum of
switched fractions × 1e6, for means); shuffle.<name>.* and skew.<name>.* for every grouping.
"""

from __future__ import annotations

import posixpath
from collections import Counter

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
from pipelines.parallel.hotkeys import CoGroupWithSkew, GroupWithSkew, SaltedJoin
from pipelines.parallel.priors import (
    AlignPlan,
    chunk_priors_lines,
    chunk_vocab,
    digest_part,
    in_sample,
    plan_for,
    prior_record,
    read_priors_table,
    sample_chunk_of,
)
from pipelines.parallel.readers import InputSpec, read_input
from pipelines.parallel.tokenize import is_word
from pipelines.progress import counted, mark_done, mark_planned
from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, WriteShards
from schemas.parallel import ALIGN_PRIORS

STAGE = "parallel"


def _per_pair(key: str, what: str) -> None:
    """The same pairs.* counter per language pair (unit `pairs[src-tgt]`), for the per-pair summary."""
    inc(STAGE, f"pairs[{key}].{what}")


def progress_unit(spec: InputSpec) -> str:
    """The name an input is marked done under (live progress): its file (Moses: the source side)."""
    return spec.path or spec.src_path or spec.corpus


# Live progress of the alignment: planned as this many chunks once they are known, each marked done.
ALIGN_UNIT = "align"


class _ReadDoFn(beam.DoFn):
    def __init__(self, progress_dir: str = ""):
        self.progress_dir = progress_dir  # where each input is marked done (pipelines/progress.py)

    def process(self, spec: InputSpec):
        for rec in counted(self.progress_dir, progress_unit(spec), read_input(spec)):
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

    def __init__(self, specs: list[InputSpec], progress_dir: str = ""):
        super().__init__()
        self.specs = specs
        self.progress_dir = progress_dir

    def expand(self, pbegin):
        out = (
            pbegin
            | "Specs" >> beam.Create(self.specs)
            | "Read" >> beam.ParDo(_ReadDoFn(self.progress_dir)).with_outputs(REJECTS_TAG, main="pairs")
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


def _pair_id(p: dict) -> str:
    return p["pair_id"]


def _dedup(kv):
    """Keep the pair with the smallest pair_id of each exact-duplicate group; reject the others.

    kv: (dedup key, {"one": [the group's smallest pair_id], "many": its pairs, or — for a pair
    repeated very often, like "Thank you." — a salted share of them}).
    """
    _, joined = kv
    (keeper,) = joined["one"]
    kept = False
    for p in sorted(joined["many"], key=_pair_id):
        if p["pair_id"] == keeper and not kept:
            kept = True
            inc(STAGE, "pairs.kept")
            _per_pair(pair_key(p), "kept")
            yield p
            continue
        _per_pair(pair_key(p), "dropped.duplicate")
        yield pvalue.TaggedOutput(REJECTS_TAG, drop(
            STAGE, "pairs", "CleanPairs", "duplicate", source=p["source"], offset=p["offset"],
            record_id=p["pair_id"], detail=f"duplicate of pair {keeper}",
            sample=f"{p['src_text'][:97]} ||| {p['tgt_text'][:97]}"))


class CleanPairs(beam.PTransform):
    """Raw pairs → cleaned, tokenized, deduplicated pairs (main) and rejects.

    Dedup without hot keys: each group's smallest pair_id is a combiner minimum, joined back to the
    group's pairs by a SaltedJoin, so a pair repeated a million times is spread over workers.
    """

    def __init__(self, settings: CleanSettings, max_group: int = 10000):
        super().__init__()
        self.s, self.max_group = settings, max_group

    def expand(self, raw):
        checked = raw | "Check" >> beam.ParDo(_CleanDoFn(self.s)).with_outputs(REJECTS_TAG, main="pairs")
        keyed = checked.pairs | "KeyByText" >> beam.Map(lambda p: (pair_dedup_key(p), p))
        keepers = (
            keyed
            | "PairIds" >> beam.Map(lambda kv: (kv[0], kv[1]["pair_id"]))
            | "SmallestId" >> beam.CombinePerKey(min)
        )
        deduped = (
            {"one": keepers, "many": keyed}
            | "JoinDuplicates" >> SaltedJoin(STAGE, "dedup", self.max_group, salt_of=_pair_id)
            | "KeepFirst" >> beam.FlatMap(_dedup).with_outputs(REJECTS_TAG, main="pairs")
        )
        rejects = (checked[REJECTS_TAG], deduped[REJECTS_TAG]) | "AllRejects" >> beam.Flatten()
        return {"pairs": deduped.pairs, "rejects": rejects}


def _over_limit(aligner, p: dict) -> str | None:
    return aligner.over_limit(p["src_tokens"], p["tgt_tokens"])


class _AlignSampleDoFn(beam.DoFn):
    """Pass 1: align one chunk of a language pair's priors sample; emit its prior counts."""

    def __init__(self, settings: AlignSettings, seed: int):
        self.s, self.seed = settings, seed
        self.aligner = None

    def setup(self):
        self.aligner = make_aligner(self.s)

    def process(self, chunk):
        from pipelines.parallel.priors import pair_prior_counts

        (key, index), members = chunk
        ok = []
        for _pair_id, src, tgt in sorted(members):  # by pair_id: a fixed order
            inc(STAGE, "align_priors.sample.read")
            if self.aligner.over_limit(src, tgt):
                inc(STAGE, "align_priors.sample.dropped.too_long_for_aligner")  # pass 2 rejects it with a row
                continue
            inc(STAGE, "align_priors.sample.kept")
            ok.append((src, tgt))
        counts: Counter = Counter()
        for (src, tgt), (fwd, rev) in zip(ok, self.aligner.align_directional(ok, chunk_seed(self.seed, f"{key}:priors", index)),
                                          strict=True):
            counts.update(pair_prior_counts(src, tgt, fwd, rev))
        for prior, n in sorted(counts.items()):
            yield (key, *prior), n


def _sample_member(p: dict, plans: dict[str, AlignPlan]):
    plan = plans[pair_key(p)]
    if in_sample(p["pair_id"], plan):
        # ids and tokens only: the sample's shuffle carries no text
        yield (pair_key(p), sample_chunk_of(p["pair_id"], plan)), (p["pair_id"], p["src_tokens"], p["tgt_tokens"])


def _prior_row(kv) -> dict:
    (key, *prior), n = kv
    inc(STAGE, f"align_priors.entries.{prior[0]}")
    return prior_record(key, tuple(prior), n)


class BuildAlignPriors(beam.PTransform):
    """Pass 1: cleaned pairs → `align_priors` rows for every language pair whose plan asks for priors."""

    def __init__(self, settings: AlignSettings, seed: int, plans):
        super().__init__()
        self.s, self.seed, self.plans = settings, seed, plans

    def expand(self, pairs):
        return (
            pairs
            | "Sample" >> beam.FlatMap(_sample_member, plans=self.plans)
            | "GroupSample" >> GroupWithSkew(STAGE, "align_priors_sample")
            | "AlignSample" >> beam.ParDo(_AlignSampleDoFn(self.s, self.seed))
            | "SumPriors" >> beam.CombinePerKey(sum)  # partial sums per worker before the shuffle
            | "PriorRows" >> beam.Map(_prior_row)
        )


class _AlignChunkDoFn(beam.DoFn):
    """Pass 2: align one chunk, with its language pair's priors when its plan has them."""

    def __init__(self, settings: AlignSettings, seed: int, priors_dir: str | None, progress_dir: str = ""):
        self.s, self.seed, self.priors_dir = settings, seed, priors_dir
        self.progress_dir = progress_dir
        self.aligner = None

    def setup(self):
        self.aligner = make_aligner(self.s)
        self._cached: tuple[str, object] | None = None  # (language pair, its priors table): chunks of a pair reuse it

    def _priors_table(self, key: str, rel_paths: list[str]):
        if self._cached is None or self._cached[0] != key:
            if not rel_paths:
                raise RuntimeError(f"no align_priors shards were written for {key}, whose plan needs priors")
            self._cached = (key, read_priors_table([posixpath.join(self.priors_dir, r) for r in sorted(rel_paths)]))
        return self._cached[1]

    def process(self, chunk, plans: dict[str, AlignPlan], prior_files, prior_digests: dict[str, int]):
        (key, index), pairs = chunk
        pairs = sorted(pairs, key=lambda p: p["pair_id"])
        ok = []
        for p in pairs:
            inc(STAGE, "align.read")
            why = _over_limit(self.aligner, p)
            if why:
                yield pvalue.TaggedOutput(REJECTS_TAG, drop(
                    STAGE, "align", "AlignWords", "too_long_for_aligner", source=p["source"], offset=p["offset"],
                    record_id=p["pair_id"], detail=why, sample=p["src_text"]))
            else:
                ok.append(p)
        tokens = [(p["src_tokens"], p["tgt_tokens"]) for p in ok]
        priors, info, scale = None, None, 1.0
        if plans[key].priors and ok:
            priors = chunk_priors_lines(self._priors_table(key, list(prior_files[key])), *chunk_vocab(tokens))
            scale = self.s.priors.iterations_scale
            info = {"source": "align_priors", "digest": f"{prior_digests[key]:016x}", "iterations_scale": scale}
            inc(STAGE, "align.with_priors", len(ok))
        links = self.aligner.align(tokens, chunk_seed(self.seed, key, index), priors, scale)
        params = self.aligner.params_json(info)
        for p, lk in zip(ok, links, strict=True):
            inc(STAGE, "align.kept")
            inc(STAGE, "align.links", len(lk))
            yield {**p, "links": [{"src": i, "tgt": j} for i, j in lk], "aligner": self.aligner.name, "params": params}
        mark_done(self.progress_dir, f"{ALIGN_UNIT}@{key}@{index}", len(pairs), parent=ALIGN_UNIT)


def _digest_sum(parts) -> int:
    return sum(parts) % (1 << 64)


class AlignWords(beam.PTransform):
    """Cleaned pairs → pairs with `links` (main) and rejects (pairs over the aligner's length limit).

    Per language pair a plan (pipelines.parallel.priors.plan_for) fixes the chunking; a pair of more
    than one chunk first gets shared priors (pass 1, `BuildAlignPriors`), written as the
    `align_priors` product under priors_dir, which every chunk of pass 2 then reads.
    """

    def __init__(self, settings: AlignSettings, seed: int, priors_dir: str | None = None,
                 target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES, progress_dir: str = ""):
        super().__init__()
        if settings.builds_priors and not priors_dir:
            raise ValueError("AlignWords builds priors: give it priors_dir (where align_priors is written)")
        self.s, self.seed, self.priors_dir, self.shard_bytes = settings, seed, priors_dir, target_shard_bytes
        self.progress_dir = progress_dir

    def expand(self, pairs):
        s = self.s
        per_pair = (
            pairs
            | "KeyByPair" >> beam.Map(lambda p: (pair_key(p), 1))
            | "CountPerPair" >> beam.CombinePerKey(sum)
            | "Plan" >> beam.MapTuple(lambda key, n: (key, plan_for(n, s.chunk_size, s.priors, s.builds_priors)))
        )
        plans = beam.pvalue.AsDict(per_pair)
        if self.progress_dir:  # the number of chunks, for the driver's progress total
            _ = (
                per_pair
                | "ChunksPerPair" >> beam.MapTuple(lambda _key, plan: plan.n_chunks)
                | "AllChunks" >> beam.CombineGlobally(sum)
                | "PlanProgress" >> beam.Map(lambda n, d: mark_planned(d, ALIGN_UNIT, n), self.progress_dir)
            )
        if s.builds_priors:
            rows = pairs | "BuildPriors" >> BuildAlignPriors(s, self.seed, plans)
            written = rows | "WritePriors" >> WriteShards(self.priors_dir, ALIGN_PRIORS, pair_key, "entry_id",
                                                          target_shard_bytes=self.shard_bytes, stage=STAGE)
            files = written | "PriorFiles" >> beam.Map(lambda d: (d["partition"], d["path"]))
            digests = (
                rows
                | "DigestParts" >> beam.Map(lambda r: (pair_key(r), digest_part(r)))
                | "Digest" >> beam.CombinePerKey(_digest_sum)
            )
        else:
            files = pairs.pipeline | "NoPriorFiles" >> beam.Create([])
            digests = pairs.pipeline | "NoPriorDigests" >> beam.Create([])
        aligned = (
            pairs
            | "AssignChunk" >> beam.Map(
                lambda p, plans: ((pair_key(p), chunk_of(p["pair_id"], plans[pair_key(p)].n_pairs, s.chunk_size)), p),
                plans=plans)
            | "GroupChunks" >> GroupWithSkew(STAGE, "align_chunks")
            | "AlignChunk" >> beam.ParDo(
                _AlignChunkDoFn(s, self.seed, self.priors_dir, self.progress_dir), plans=plans, prior_files=beam.pvalue.AsMultiMap(files),
                prior_digests=beam.pvalue.AsDict(digests)).with_outputs(REJECTS_TAG, main="aligned")
        )
        return {"aligned": aligned.aligned, "rejects": aligned[REJECTS_TAG]}


def _linked_words(rec: dict):
    key = pair_key(rec)
    for lk in rec["links"]:
        s, t = rec["src_tokens"][lk["src"]], rec["tgt_tokens"][lk["tgt"]]
        if is_word(s) and is_word(t):
            yield (key, s.lower(), t.lower()), 1


def _first(value) -> str:
    return value[0]


def _p_tgt_given_src(kv):
    """((key, src), {"one": [src total], "many": [(tgt, c)...]}) → ((key, tgt), (src, c, p(tgt|src)))."""
    (key, src), joined = kv
    (total,) = joined["one"]
    for tgt, c in joined["many"]:
        yield (key, tgt), (src, c, c / total)


def _entries(kv, min_count: int):
    (key, tgt), joined = kv
    (total,) = joined["one"]
    src_lang, tgt_lang = key.split("-", 1)
    for src, c, p_ts in sorted(joined["many"]):
        inc(STAGE, "lexicon.read")
        if c < min_count:
            inc(STAGE, "lexicon.dropped.below_min_count")
            continue
        inc(STAGE, "lexicon.kept")
        yield {"entry_id": stable_id("lex", src_lang, tgt_lang, src, tgt), "src_lang": src_lang, "tgt_lang": tgt_lang,
               "src": src, "tgt": tgt, "p_tgt_given_src": p_ts, "p_src_given_tgt": c / total, "count": c}


class BuildLexicon(beam.PTransform):
    """Aligned pairs → lexicon entries: link counts per language pair, p(t|s) and p(s|t).

    Link counts and each word's total are combiner sums (reduced before the shuffle); the totals
    reach their word pairs through salted joins, so a word linked to very many others ("the") is
    spread over several workers instead of one.
    """

    def __init__(self, min_count: int, max_group: int = 10000):
        super().__init__()
        self.min_count, self.max_group = min_count, max_group

    def expand(self, aligned):
        counts = (
            aligned
            | "LinkedWords" >> beam.FlatMap(_linked_words)
            | "CountLinks" >> beam.CombinePerKey(sum)
        )
        by_src = counts | "BySrc" >> beam.Map(lambda kv: ((kv[0][0], kv[0][1]), (kv[0][2], kv[1])))
        src_totals = by_src | "SrcTotal" >> beam.Map(lambda kv: (kv[0], kv[1][1])) | "SumSrc" >> beam.CombinePerKey(sum)
        with_p_ts = (
            {"one": src_totals, "many": by_src}
            | "JoinSrcTotals" >> SaltedJoin(STAGE, "lexicon_src", self.max_group, salt_of=_first)
            | "PTgtGivenSrc" >> beam.FlatMap(_p_tgt_given_src)
        )
        tgt_totals = (
            counts
            | "TgtTotal" >> beam.Map(lambda kv: ((kv[0][0], kv[0][2]), kv[1]))
            | "SumTgt" >> beam.CombinePerKey(sum)
        )
        return (
            {"one": tgt_totals, "many": with_p_ts}
            | "JoinTgtTotals" >> SaltedJoin(STAGE, "lexicon_tgt", self.max_group, salt_of=_first)
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


class _BestCandidates(beam.CombineFn):
    """A word's most probable translations per language, combined before the shuffle."""

    def __init__(self, per_lang: int):
        self.per_lang = per_lang

    def create_accumulator(self):
        return []

    def add_input(self, acc, cand):
        acc.append(cand)
        return best_candidates(acc, self.per_lang) if len(acc) > 64 * self.per_lang else acc

    def merge_accumulators(self, accs):
        return best_candidates([c for acc in accs for c in acc], self.per_lang)

    def extract_output(self, acc):
        return best_candidates(acc, self.per_lang)


def _occurrence_sentence(occ) -> str:
    return occ[0]


def _candidates_per_occurrence(kv):
    _, joined = kv
    if not joined["one"]:
        return
    (best,) = joined["one"]
    for sent_id, i in joined["many"]:
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

    The join is a shuffle on (language, word), not a side input: the lexicon may be large. A
    word's translations are reduced to its best candidates by a combiner, and the occurrences of
    frequent words are salted (SaltedJoin), so "the" does not land on one worker.
    """

    def __init__(self, settings: DictSettings, seed: int, max_group: int = 10000):
        super().__init__()
        self.s, self.seed, self.max_group = settings, seed, max_group

    def expand(self, pcolls):
        pairs, lexicon = pcolls
        sents = pairs | "MatrixSentences" >> beam.FlatMap(matrix_sentences)
        best = (
            lexicon
            | "Translations" >> beam.FlatMap(translations)
            | "BestCandidates" >> beam.CombinePerKey(_BestCandidates(self.s.max_candidates))
        )
        per_occ = (
            {"one": best, "many": sents | "Occurrences" >> beam.FlatMap(occurrences)}
            | "JoinWords" >> SaltedJoin(STAGE, "dict_words", self.max_group, salt_of=_occurrence_sentence)
            | "Candidates" >> beam.FlatMap(_candidates_per_occurrence)
        )
        return (
            {"sent": sents | "KeyBySentence" >> beam.Map(lambda s: (s["sent_id"], s)), "cand": per_occ}
            | "JoinSentences" >> CoGroupWithSkew(STAGE, "dict_sentences")
            | "Sample" >> beam.FlatMap(_dict, settings=self.s, seed=self.seed)
        )
