"""The parallel stage as one Beam pipeline: ReadParallel → CleanPairs → AlignWords (with its pass-1
BuildAlignPriors where a language pair needs priors) → BuildLexicon → MakeAlmCodeSwitch /
MakeDictCodeSwitch, each product written with WriteShards."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import apache_beam as beam

from pipelines.parallel.align import AlignSettings, pair_key
from pipelines.parallel.alm import AlmSettings
from pipelines.parallel.clean import CleanSettings
from pipelines.parallel.dictcs import DictSettings
from pipelines.parallel.readers import InputSpec
from pipelines.parallel.transforms import (
    STAGE,
    AlignWords,
    BuildLexicon,
    CleanPairs,
    MakeAlmCodeSwitch,
    MakeDictCodeSwitch,
    ReadParallel,
)
from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, WriteShards
from schemas.codeswitch import CODESWITCH
from schemas.documents import REJECTS
from schemas.parallel import ALIGN_PRIORS, ALIGNMENTS, LEXICON, PAIRS

# Product directories, relative to the stage's output root.
PRODUCTS = {
    "pairs": ("pairs", PAIRS, "pair_id"),
    "alignments": ("alignments", ALIGNMENTS, "pair_id"),
    "align_priors": ("align_priors", ALIGN_PRIORS, "entry_id"),
    "lexicon": ("lexicon", LEXICON, "entry_id"),
    "alm": ("codeswitch/alm", CODESWITCH, "cs_id"),
    "dict": ("codeswitch/dict", CODESWITCH, "cs_id"),
    "rejects": ("rejects/parallel", REJECTS, "reject_id"),
}


@dataclass(frozen=True)
class ParallelSettings:
    clean: CleanSettings = field(default_factory=CleanSettings)
    align: AlignSettings = field(default_factory=AlignSettings)
    lexicon_min_count: int = 2
    alm: AlmSettings = field(default_factory=AlmSettings)
    dict: DictSettings = field(default_factory=DictSettings)
    make_alm: bool = True
    make_dict: bool = True
    seed: int = 0
    target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES
    max_group: int = 10000  # hot-key limit of the word joins (pipelines.parallel.hotkeys)
    progress_dir: str = ""  # where the reader marks each input done (live progress); "" = off


def product_names(s: ParallelSettings) -> list[str]:
    """Products this configuration writes (keys of PRODUCTS)."""
    return [n for n in PRODUCTS if (n != "alm" or s.make_alm) and (n != "dict" or s.make_dict)
            and (n != "align_priors" or s.align.builds_priors)]


def build_parallel(p: beam.Pipeline, specs: list[InputSpec], s: ParallelSettings, out_root: str) -> None:
    def write(name: str, pcoll, partition_fn):
        rel, schema, id_field = PRODUCTS[name]
        return pcoll | f"Write_{name}" >> WriteShards(posixpath.join(out_root, rel), schema, partition_fn, id_field,
                                                      target_shard_bytes=s.target_shard_bytes, stage=STAGE,
                                                      shuffle_name=f"write_{name}")

    read = p | "ReadParallel" >> ReadParallel(specs, s.progress_dir)
    clean = read["pairs"] | "CleanPairs" >> CleanPairs(s.clean, s.max_group)
    pairs = clean["pairs"]
    aligned = pairs | "AlignWords" >> AlignWords(s.align, s.seed, posixpath.join(out_root, PRODUCTS["align_priors"][0]),
                                                 s.target_shard_bytes, s.progress_dir)
    lexicon = aligned["aligned"] | "BuildLexicon" >> BuildLexicon(s.lexicon_min_count, s.max_group)
    rejects = (read["rejects"], clean["rejects"], aligned["rejects"]) | "AllRejects" >> beam.Flatten()

    write("pairs", pairs, pair_key)
    write("alignments", aligned["aligned"], pair_key)
    write("lexicon", lexicon, pair_key)
    if s.make_alm:
        alm = aligned["aligned"] | "MakeAlmCodeSwitch" >> MakeAlmCodeSwitch(s.alm, s.seed)
        write("alm", alm, lambda r: r["pair"])
    if s.make_dict:
        dict_cs = (pairs, lexicon) | "MakeDictCodeSwitch" >> MakeDictCodeSwitch(s.dict, s.seed, s.max_group)
        write("dict", dict_cs, lambda r: r["pair"])
    write("rejects", rejects, lambda r: r["reason"])
