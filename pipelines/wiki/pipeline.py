"""The wiki stage graph: dumps → entity_sentences, codeswitch/entitycs, rejects/wiki."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import apache_beam as beam

from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, WriteShards
from pipelines.wiki.sentences import FilterOptions
from pipelines.wiki.transforms import (
    STAGE,
    FilterSentences,
    MakeEntityCodeSwitch,
    ReadWikidataDump,
    ReadWikipediaDump,
    ResolveEntities,
    SplitSentences,
)
from pipelines.wiki.wikidata import DEFAULT_SPLIT_BYTES
from pipelines.wiki.wikitext import CleanOptions
from schemas.codeswitch import CODESWITCH
from schemas.documents import REJECTS
from schemas.wiki import ENTITY_SENTENCES

ENTITY_SENTENCES_DIR = "entity_sentences"
CODESWITCH_DIR = "codeswitch/entitycs"
REJECTS_DIR = "rejects/wiki"
EXPORT_DIR = "exports/entitycs"


@dataclass
class WikiParams:
    dumps: list[tuple[str, str]]  # (dump path, multistream index path or "")
    wikidata: list[str]
    source_lang: str = "eng_Latn"
    sitelink_wiki: str = "enwiki"
    use_aliases: bool = False
    targets: list[str] | None = None  # None = every label language
    max_languages: int = 5
    seed: int = 0
    clean: CleanOptions = field(default_factory=CleanOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    reject_filtered_sentences: bool = True
    target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES
    progress_dir: str = ""  # where readers mark each file / stream done (live progress); "" = off
    wikidata_split_bytes: int = DEFAULT_SPLIT_BYTES  # byte range per Wikidata task (splittable dumps)


def cs_partition(record: dict) -> str:
    """A codeswitch/entitycs record lives under the language it was switched to."""
    return record["spans"][0]["lang"]


def build(pipeline: beam.Pipeline, params: WikiParams, out_root: str) -> None:
    wiki = pipeline | "ReadWikipediaDump" >> ReadWikipediaDump(params.dumps, params.clean, params.progress_dir)
    sentences = wiki["articles"] | "SplitSentences" >> SplitSentences(params.source_lang)
    filtered = sentences | "FilterSentences" >> FilterSentences(params.filters, params.reject_filtered_sentences)
    wikidata = pipeline | "ReadWikidataDump" >> ReadWikidataDump(
        params.wikidata, params.sitelink_wiki, params.use_aliases, params.targets, params.wikidata_split_bytes,
        params.progress_dir)
    joined = (filtered["kept"], wiki["redirects"], wikidata["entities"]) | "ResolveEntities" >> ResolveEntities()

    size = params.target_shard_bytes
    _ = (
        joined
        | "EntitySentence" >> beam.Map(lambda j: j["sentence"])
        | "WriteEntitySentences" >> WriteShards(posixpath.join(out_root, ENTITY_SENTENCES_DIR), ENTITY_SENTENCES,
                                                lambda r: r["lang"], "sent_id", size, stage=STAGE)
    )
    _ = (
        joined
        | "MakeEntityCodeSwitch" >> MakeEntityCodeSwitch(params.source_lang, params.targets,
                                                         params.max_languages, params.seed)
        | "WriteCodeSwitch" >> WriteShards(posixpath.join(out_root, CODESWITCH_DIR), CODESWITCH, cs_partition,
                                           "cs_id", size, stage=STAGE)
    )
    _ = (
        (wiki["rejects"], filtered["rejects"], wikidata["rejects"])
        | "AllRejects" >> beam.Flatten()
        | "WriteRejects" >> WriteShards(posixpath.join(out_root, REJECTS_DIR), REJECTS, lambda r: r["reason"],
                                        "reject_id", size, stage=STAGE, shuffle_name="write_rejects")
    )
