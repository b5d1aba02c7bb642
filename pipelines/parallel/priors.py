"""Shared alignment priors: what pass 1 learns from a sample, handed to every chunk of pass 2.

eflomal is unsupervised: run on a chunk of 1,000 pairs it sees most words once or never, and its
links are worse than on the whole corpus at once. eflomal's answer is *priors* (its
`eflomal-makepriors` tool): Dirichlet pseudo-counts for the lexical (LEX), fertility (FERF, FERR)
and jump (HMMF, HMMR) distributions, counted from the links of an earlier alignment. Here pass 1
aligns a deterministic sample of each language pair (up to `sample_size` pairs, in chunks of
`sample_chunk_size`), counts those statistics per pair (`pair_prior_counts`, the same numbers as
eflomal's `calculate_priors`), sums them over the sample with a combiner, and writes them as the
`align_priors` product. Pass 2 aligns every chunk with the priors of its language pair, cut down
to the chunk's vocabulary (`chunk_priors_lines`) and read through eflomal's own priors reader.

Priors are built only where they matter: for a language pair with more pairs than one chunk.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipelines.ids import stable_hash64, stable_id
from pipelines.parallel.symmetrize import Link

KINDS = ("LEX", "FERF", "FERR", "HMMF", "HMMR")
PriorKey = tuple[str, str, str, int]  # (kind, src word, tgt word, value); words lowercased, "" where unused
_ALL = 1 << 64


@dataclass(frozen=True)
class PriorsSettings:
    enabled: bool = True  # build priors for language pairs with more pairs than one chunk
    sample_size: int = 200_000  # pass-1 pairs per language pair (a deterministic hash sample)
    sample_chunk_size: int = 100_000  # pass-1 chunk size (the sample itself is chunked when larger)
    # pass-2 eflomal iterations, relative to its usual schedule: the priors already hold what a chunk
    # would otherwise learn, so a quarter of the sampling gives the same links (benchmarks/align.py)
    iterations_scale: float = 0.25


@dataclass(frozen=True)
class AlignPlan:
    """How one language pair is aligned: its chunking, and whether (and on what sample) priors are built."""

    n_pairs: int
    n_chunks: int
    priors: bool
    sample_threshold: int = 0  # a pair is in the sample when its sample hash is below this (2**64: all)
    sample_chunks: int = 0  # pass-1 chunks

    @property
    def expected_sample(self) -> int:
        return min(self.n_pairs, math.ceil(self.n_pairs * self.sample_threshold / _ALL))


def plan_for(n_pairs: int, chunk_size: int, priors: PriorsSettings, build_priors: bool) -> AlignPlan:
    """The plan of a language pair of n_pairs. build_priors: the aligner can use built priors
    (eflomal without a priors file of the user's)."""
    n_chunks = max(1, math.ceil(n_pairs / max(1, chunk_size)))
    if not (build_priors and priors.enabled and n_chunks > 1):
        return AlignPlan(n_pairs, n_chunks, False)
    sample = min(n_pairs, priors.sample_size)
    threshold = _ALL if sample >= n_pairs else (_ALL * sample) // n_pairs
    return AlignPlan(n_pairs, n_chunks, True, threshold, max(1, math.ceil(sample / max(1, priors.sample_chunk_size))))


def sample_hash(pair_id: str) -> int:
    # its own hash (not the chunk hash), so sample membership says nothing about the pass-2 chunk
    return stable_hash64(f"priors-sample:{pair_id}")


def in_sample(pair_id: str, plan: AlignPlan) -> bool:
    return plan.priors and sample_hash(pair_id) < plan.sample_threshold


def sample_chunk_of(pair_id: str, plan: AlignPlan) -> int:
    return stable_hash64(pair_id) % max(1, plan.sample_chunks)


def pair_prior_counts(src_tokens: list[str], tgt_tokens: list[str], fwd: list[Link], rev: list[Link]) -> Counter:
    """eflomal-makepriors' statistics of one aligned pair (forward and reverse links as (src, tgt)).

    Words are lowercased: eflomal looks priors up by lowercased word anyway.
    """
    src = [w.lower() for w in src_tokens]
    tgt = [w.lower() for w in tgt_tokens]
    out: Counter = Counter()
    for i, j in fwd:
        out["LEX", src[i], tgt[j], 0] += 1
    # jumps between the source positions of consecutive linked target words (forward model) ...
    last_i = last_j = -1
    for i, j in sorted(fwd, key=lambda link: link[1]):
        if j != last_j:
            out["HMMF", "", "", i - last_i] += 1
        last_i, last_j = i, j
    out["HMMF", "", "", len(src) - last_i] += 1
    # ... and between the target positions of consecutive linked source words (reverse model)
    last_i = last_j = -1
    for i, j in sorted(rev, key=lambda link: link[0]):
        if i != last_i:
            out["HMMR", "", "", j - last_j] += 1
        last_i, last_j = i, j
    out["HMMR", "", "", len(tgt) - last_j] += 1
    for i, fert in Counter(i for i, _ in fwd).items():
        out["FERF", src[i], "", fert] += 1
    for j, fert in Counter(j for _, j in rev).items():
        out["FERR", "", tgt[j], fert] += 1
    return out


def prior_record(pair: str, key: PriorKey, count: int) -> dict:
    """An `align_priors` row (schemas.ALIGN_PRIORS) of language pair `pair` ("src-tgt")."""
    src_lang, tgt_lang = pair.split("-", 1)
    kind, src, tgt, value = key
    return {"entry_id": stable_id("prior", src_lang, tgt_lang, kind, src, tgt, value), "src_lang": src_lang,
            "tgt_lang": tgt_lang, "kind": kind, "src": src, "tgt": tgt, "value": value, "count": count}


def prior_line(kind: str, src: str, tgt: str, value: int, count: float) -> str:
    """One line of eflomal-makepriors' text format."""
    if kind == "LEX":
        return f"LEX\t{src}\t{tgt}\t{count:g}"
    if kind == "FERF":
        return f"FERF\t{src}\t{value}\t{count:g}"
    if kind == "FERR":
        return f"FERR\t{tgt}\t{value}\t{count:g}"
    if kind in ("HMMF", "HMMR"):
        return f"{kind}\t{value}\t{count:g}"
    raise ValueError(f"unknown prior kind {kind!r}: one of {', '.join(KINDS)}")


def chunk_vocab(pairs: Iterable[tuple[list[str], list[str]]]) -> tuple[set[str], set[str]]:
    """Lowercased source and target vocabulary of a chunk (what eflomal indexes priors by)."""
    src: set[str] = set()
    tgt: set[str] = set()
    for s, t in pairs:
        src.update(w.lower() for w in s)
        tgt.update(w.lower() for w in t)
    return src, tgt


def chunk_priors_lines(table, src_vocab: set[str], tgt_vocab: set[str]) -> list[str]:
    """eflomal-makepriors lines of the priors (a pyarrow Table of align_priors rows) that can matter
    to a chunk: lexical and fertility priors of words it contains, and every jump prior. eflomal
    drops the others when it indexes the file; cutting them first keeps each chunk's work and
    memory to its own vocabulary."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = table["kind"]
    src_in = pc.is_in(table["src"], value_set=pa.array(sorted(src_vocab), pa.string()))
    tgt_in = pc.is_in(table["tgt"], value_set=pa.array(sorted(tgt_vocab), pa.string()))
    keep = pc.or_(
        pc.or_(pc.and_(pc.equal(kind, "LEX"), pc.and_(src_in, tgt_in)), pc.and_(pc.equal(kind, "FERF"), src_in)),
        pc.or_(pc.and_(pc.equal(kind, "FERR"), tgt_in), pc.is_in(kind, value_set=pa.array(["HMMF", "HMMR"]))),
    )
    sub = table.filter(keep)
    cols = [sub[c].to_pylist() for c in ("kind", "src", "tgt", "value", "count")]
    return [prior_line(*row) for row in zip(*cols, strict=True)]


def file_priors_lines(lines: Iterable[str], src_vocab: set[str], tgt_vocab: set[str]) -> Iterator[str]:
    """The lines of a user's eflomal-makepriors file that can matter to a chunk (streamed)."""
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        kind = fields[0]
        if kind == "LEX" and len(fields) == 4:
            keep = fields[1].lower() in src_vocab and fields[2].lower() in tgt_vocab
        elif kind == "FERF" and len(fields) == 4:
            keep = fields[1].lower() in src_vocab
        elif kind == "FERR" and len(fields) == 4:
            keep = fields[1].lower() in tgt_vocab
        else:
            keep = True  # jump priors, and anything eflomal's reader should judge (and reject) itself
        if keep:
            yield line.rstrip("\n")


def digest_part(rec: dict) -> int:
    """Order-free digest of a priors product: the sum (mod 2**64) of one hash per row."""
    return stable_hash64(f"{rec['entry_id']}:{rec['count']}")


def read_priors_table(paths: list[str]):
    """The priors rows (kind, src, tgt, value, count) of one language pair's align_priors shards."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.shards import filesystem

    tables = []
    for path in paths:
        fs, p = filesystem(path)
        with fs.open_input_file(p) as f:
            tables.append(pq.read_table(f, columns=["kind", "src", "tgt", "value", "count"]))
    return pa.concat_tables(tables)


def priors_line_problem(line: str) -> str | None:
    """What is wrong with one line of an eflomal-makepriors file (None: nothing). eflomal's own reader
    fails on a bad line with an error that does not say which, so a user's file is checked first."""
    fields = line.rstrip("\n").split("\t")
    shapes = {"LEX": 4, "FERF": 4, "FERR": 4, "HMMF": 3, "HMMR": 3}
    if fields[0] not in shapes:
        return f"unknown kind {fields[0][:20]!r} (one of {', '.join(KINDS)})"
    if len(fields) != shapes[fields[0]]:
        return f"{fields[0]} needs {shapes[fields[0]]} tab-separated fields, found {len(fields)}"
    try:
        float(fields[-1])
        if fields[0] in ("FERF", "FERR", "HMMF", "HMMR"):
            int(fields[-2])
    except ValueError:
        return f"a number is not numeric: {line.strip()[:60]!r}"
    return None


def check_priors_file(path: str, lines: Iterable[str]) -> None:
    """Raise PriorsFileError naming the first bad line of a user's priors file."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        problem = priors_line_problem(line)
        if problem:
            raise PriorsFileError(f"{path} line {number}: {problem} — write it in eflomal-makepriors format")


class PriorsFileError(ValueError):
    """A priors file that eflomal could not read."""
