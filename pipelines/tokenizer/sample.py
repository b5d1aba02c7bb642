"""The tokenizer's training sample: a Beam pipeline drawing sentences per language, smoothed.

Nothing of the corpus passes through the driver. One element per input shard:

1. CountSentences: each shard counts its usable sentences per language; a combiner sums them, so
   only (language, count) numbers cross the shuffle. The upstream manifests count rows, not
   sentences, which is why this count is a pass of its own.
2. The plan (a few numbers per language, a side input): language i gets the quota
   q_i = sample_sentences · n_i^α / Σ n_j^α (largest-remainder rounding) and the rate
   r_i = q_i / n_i.
3. DrawSample: each shard is read again and a sentence is written floor(r_i) + [u < frac(r_i)]
   times, u = hash(seed, record id, sentence index) / 2^64. A language with fewer sentences than
   its quota (r_i > 1) is repeated whole and then partly: that is how smoothing up-weights it. The
   expected number of lines of language i is q_i; the draw of a sentence depends on nothing but
   its own key, so it is the same on every runner, worker count and bundle split.

Each shard's drawn lines go to its own file `part-NNNNN.txt` (NNNNN = the shard's position in the
sorted input list), in row order, written by the worker that read the shard: no text crosses a
shuffle, and the sorted files, read one after another, are the same bytes on every run.
"""

from __future__ import annotations

import hashlib
import math
import posixpath
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import apache_beam as beam

from pipelines.counters import inc
from pipelines.ids import stable_id
from pipelines.progress import mark_done
from pipelines.shards import filesystem
from pipelines.smoothing import raw_probs, sample_plan, smoothed_probs
from pipelines.tokenizer.sources import iter_shard_sentences

STAGE = "tokenizer"
SAMPLE_DIR = "sample"  # under the stage's staging area: the SentencePiece training input
_TWO_64 = float(1 << 64)


@dataclass(frozen=True)
class SampleSettings:
    total: int  # sample_sentences: the expected number of lines
    alpha: float
    seed: int
    allowed: frozenset[str] | None = None  # None: every language
    max_chars: int = 4000


@dataclass
class SampleResult:
    files: list[str]  # the sample's files, in training order
    languages: dict[str, dict]  # lang → available, target, sampled, distinct, p_raw, p_smoothed, p_sample
    seen_languages: list[str]  # every language any row mentions (markers)
    lines: int = 0
    counters: dict[str, int] = field(default_factory=dict)


def usable(lang: str, sentence: str, allowed: frozenset[str] | None, max_chars: int) -> str | None:
    """None when the sentence can go into the sample, else the drop reason."""
    if allowed is not None and lang not in allowed:
        return "lang_not_in_set"
    if len(sentence) > max_chars:
        return "too_long"
    return None


# --- per-element logic ------------------------------------------------------------------------------


def count_shard(path: str, s: SampleSettings) -> tuple[Counter, set[str], Counter]:
    """Pass 1 of one shard: usable sentences per language, languages seen, sentence counters."""
    available: Counter = Counter()
    seen: set[str] = set()
    counters: Counter = Counter()
    for _key, langs, sentences in iter_shard_sentences(path):
        seen |= langs
        for lang, sentence in sentences:
            counters["sentences.read"] += 1
            reason = usable(lang, sentence, s.allowed, s.max_chars)
            if reason:
                counters[f"sentences.dropped.{reason}"] += 1
            else:
                counters["sentences.kept"] += 1
                available[lang] += 1
    return available, seen, counters


def plan_rates(available: dict[str, int], s: SampleSettings) -> dict[str, float]:
    """lang → expected draws per sentence (quota / available)."""
    quotas = sample_plan(dict(available), s.alpha, s.total)
    return {lang: quotas[lang] / n for lang, n in sorted(available.items()) if n > 0}


def draw_times(rate: float, seed: int, key: str) -> int:
    """How often the sentence named `key` goes into the sample: floor(rate), plus one more with
    probability frac(rate), decided by a hash of (seed, key) — the same on every machine."""
    whole = math.floor(rate)
    u = int(stable_id(seed, key, size=8), 16) / _TWO_64
    return whole + (1 if u < rate - whole else 0)


def draw_shard(path: str, rates: dict[str, float], s: SampleSettings) -> Iterator[tuple[str, str, int]]:
    """Pass 2 of one shard: (lang, sentence, times) of every sentence drawn at least once, in order."""
    for key, _langs, sentences in iter_shard_sentences(path):
        for j, (lang, sentence) in enumerate(sentences):
            if usable(lang, sentence, s.allowed, s.max_chars):
                continue
            times = draw_times(rates.get(lang, 0.0), s.seed, f"{key}\x00{j}")
            if times:
                yield lang, sentence, times


def sample_file(out_dir: str, index: int) -> str:
    return posixpath.join(out_dir, f"part-{index:05d}.txt")


def write_shard_sample(index: int, path: str, out_dir: str, rates: dict[str, float],
                       s: SampleSettings) -> Counter:
    """Write one shard's drawn lines to its sample file (streamed); returns per-language counts
    `sample[<lang>].lines` / `.distinct`. A shard that draws nothing writes no file."""
    counts: Counter = Counter()
    fs, p = filesystem(sample_file(out_dir, index))
    out = None
    try:
        for lang, sentence, times in draw_shard(path, rates, s):
            if out is None:
                fs.create_dir(posixpath.dirname(p), recursive=True)
                out = fs.open_output_stream(p)
            out.write(((sentence + "\n") * times).encode("utf-8"))
            counts[f"sample[{lang}].lines"] += times
            counts[f"sample[{lang}].distinct"] += 1
    finally:
        if out is not None:
            out.close()
    return counts


# --- Beam wrappers ------------------------------------------------------------------------------------


# Each shard is read twice (count, then draw): live progress marks both passes (pipelines/progress.py).
COUNT_PASS, DRAW_PASS = "count", "draw"


def progress_units(shards: list[str]) -> list[str]:
    return [f"{p}:{path}" for p in (COUNT_PASS, DRAW_PASS) for path in shards]


class _CountShard(beam.DoFn):
    def __init__(self, s: SampleSettings, progress_dir: str = ""):
        self.s, self.progress_dir = s, progress_dir

    def process(self, item: tuple[int, str]):
        _index, path = item
        available, seen, counters = count_shard(path, self.s)
        mark_done(self.progress_dir, f"{COUNT_PASS}:{path}", sum(available.values()))
        for lang in sorted(seen):
            counters[f"markers[{lang}].shards"] += 1  # shards mentioning it: where the marker list comes from
        for lang, n in sorted(available.items()):
            counters[f"sample[{lang}].available"] += n
        for name, n in sorted(counters.items()):
            inc(STAGE, name, n)
        yield from sorted(available.items())


class _DrawShard(beam.DoFn):
    def __init__(self, out_dir: str, s: SampleSettings, progress_dir: str = ""):
        self.out_dir, self.s, self.progress_dir = out_dir, s, progress_dir

    def process(self, item: tuple[int, str], rates: dict[str, float]):
        index, path = item
        counts = write_shard_sample(index, path, self.out_dir, rates, self.s)
        for name, n in sorted(counts.items()):
            inc(STAGE, name, n)
        mark_done(self.progress_dir, f"{DRAW_PASS}:{path}",
                  sum(n for name, n in counts.items() if name.endswith(".lines")))


class DrawSample(beam.PTransform):
    """Input shard paths → the smoothed sample as text files under out_dir (see the module doc)."""

    def __init__(self, shards: list[str], out_dir: str, settings: SampleSettings, progress_dir: str = ""):
        super().__init__()
        self.shards, self.out_dir, self.s = list(shards), out_dir, settings
        self.progress_dir = progress_dir

    def expand(self, pbegin):
        s = self.s
        items = list(enumerate(self.shards))
        available = (
            pbegin
            | "ShardsToCount" >> beam.Create(items)
            | "CountSentences" >> beam.ParDo(_CountShard(s, self.progress_dir))
            | "SumPerLanguage" >> beam.CombinePerKey(sum)
        )
        rates = (
            available
            | "Counts" >> beam.combiners.ToDict()
            | "Plan" >> beam.Map(plan_rates, s)
        )
        return (
            pbegin
            | "ShardsToDraw" >> beam.Create(items)
            | "DrawSample" >> beam.ParDo(_DrawShard(self.out_dir, s, self.progress_dir), rates=beam.pvalue.AsSingleton(rates))
        )


# --- after the pipeline: what was drawn, from the counters; the lines, streamed ------------------


def _per_lang(counters: dict[str, int], unit: str, what: str) -> dict[str, int]:
    head, tail = f"{unit}[", f"].{what}"
    return {k[len(head):-len(tail)]: v for k, v in counters.items() if k.startswith(head) and k.endswith(tail)}


def describe(counters: dict[str, int], files: list[str], s: SampleSettings) -> SampleResult:
    """The sample's per-language table from the pipeline's counters (no pass over the data)."""
    available = _per_lang(counters, "sample", "available")
    lines, distinct = _per_lang(counters, "sample", "lines"), _per_lang(counters, "sample", "distinct")
    quotas = sample_plan(dict(available), s.alpha, s.total)
    p_raw, p_smooth = raw_probs(dict(available)), smoothed_probs(dict(available), s.alpha)
    total = sum(lines.values())
    languages = {
        lang: {"available": available[lang], "target": quotas[lang], "sampled": lines.get(lang, 0),
               "distinct": distinct.get(lang, 0), "p_raw": p_raw[lang], "p_smoothed": p_smooth[lang],
               "p_sample": lines.get(lang, 0) / total if total else 0.0}
        for lang in sorted(available)
    }
    seen = sorted(_per_lang(counters, "markers", "shards"))
    return SampleResult(files, languages, seen, total, dict(counters))


def list_sample_files(out_dir: str) -> list[str]:
    """The sample files the pipeline wrote, in training order (sorted by shard position)."""
    import pyarrow.fs as pafs

    fs, root = filesystem(out_dir)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=False, allow_not_found=True))
    names = sorted(posixpath.basename(i.path) for i in infos
                   if i.type == pafs.FileType.File and i.path.endswith(".txt"))
    return [posixpath.join(out_dir, n) for n in names]


class SampleReader:
    """The sample's lines (no newline), file after file, for SentencePiece's sentence_iterator;
    the sha256 of the bytes read and the line count are known once it is exhausted."""

    def __init__(self, files: Iterable[str]):
        self.files = list(files)
        self.hash = hashlib.sha256()
        self.lines = 0

    def __iter__(self) -> Iterator[str]:
        for path in self.files:
            fs, p = filesystem(path)
            with fs.open_input_stream(p) as f:
                rest = b""
                while chunk := f.read(1 << 20):
                    self.hash.update(chunk)
                    *complete, rest = (rest + chunk).split(b"\n")
                    for line in complete:
                        self.lines += 1
                        yield line.decode("utf-8")
                if rest:  # the writer ends every line with a newline; a stray tail still counts
                    self.lines += 1
                    yield rest.decode("utf-8")

    @property
    def sha256(self) -> str:
        return self.hash.hexdigest()
