"""Config section `wiki` (owned by the wiki stage; see flows/stages/wiki.py)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.config.languages import check_language, check_languages


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WikipediaInput(_Strict):
    inputs: list[str] = Field(default_factory=list, description="pages-articles*.xml[.bz2|.gz] dumps or globs")
    source_lang: str = Field("eng_Latn", description="language of the wiki (xxx_Scrp): the matrix language")
    multistream: Literal["auto", "off"] = Field(
        "auto", description="auto: read a …-multistream.xml.bz2 in parallel, one task per bz2 stream, "
        "using its …-multistream-index.txt.bz2 when that file lies next to it; off: one reader per file")
    file_captions: bool = Field(True, description="keep [[File:…]] captions as their own paragraph (EntityCS)")
    section_links: Literal["text", "anchor"] = Field(
        "text", description="[[Title#Section|label]]: plain text (the label names a section) or an anchor to Title")

    @field_validator("source_lang")
    @classmethod
    def _known_language(cls, v: str) -> str:
        return check_language(v)


class WikidataInput(_Strict):
    inputs: list[str] = Field(default_factory=list, description="Wikidata JSON dumps (.json, .json.bz2, .json.gz)")
    sitelink_wiki: str = Field("enwiki", description="the wiki whose sitelink titles map article titles to QIDs")
    use_aliases: bool = Field(False, description="fill a language without a label from its first alias")
    split_mb: int = Field(64, ge=1, description="work unit of a .json or multi-stream .bz2 dump (one task per "
                          ".gz or single-stream .bz2 file)")


class WikiFilters(_Strict):
    min_links: int = Field(1, ge=0)
    min_chars: int = Field(20, ge=0, description="drop sentences of this many characters or fewer")
    max_links: int = Field(10, ge=1)
    max_link_fraction: float = Field(0.5, gt=0, le=1, description="drop when one link covers more of the text")
    max_words: int = Field(128, ge=1)


class WikiConfig(_Strict):
    wikipedia: WikipediaInput = WikipediaInput()
    wikidata: WikidataInput = WikidataInput()
    target_languages: list[str] = Field(
        default_factory=list,
        description="languages to switch to (xxx_Scrp); empty = the training set `languages`, or every "
        "Wikidata label language when that is empty too")
    max_languages: int = Field(5, ge=1, description="code-switched samples per sentence (languages sampled)")
    filters: WikiFilters = WikiFilters()
    reject_filtered_sentences: bool = Field(True, description="write filtered sentences to rejects/wiki")
    export_release: bool = Field(False, description="also write OUT/exports/entitycs/<lang>.jsonl")
    release_codes: Literal["iso639_1", "project"] = Field(
        "iso639_1", description="codes in the release export: 'de' + <de>…</de> (EntityCS) or deu_Latn")
    target_shard_mb: int = Field(128, ge=1)

    @field_validator("target_languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        return check_languages(v)
