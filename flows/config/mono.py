"""Config section `mono`: web/document inputs → documents/ (see flows/stages/mono.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_serializer, field_validator

from flows.config.languages import check_language_keys, check_languages


class QualityFields(BaseModel):
    """Filters over the quality signals; null switches one off. Defaults are loose on purpose so that
    legitimate non-English text survives (English-tuned Gopher/C4 rules would not)."""

    model_config = ConfigDict(extra="forbid")
    min_chars: int | None = Field(50, description="drop documents with fewer characters (too_short)")
    min_words: int | None = Field(
        10, description="drop documents with fewer words (too_short); characters count as words in Han/kana/Thai…"
    )
    max_symbol_ratio: float | None = Field(
        0.3, description="max share of punctuation+symbol chars among non-space chars (too_many_symbols)"
    )
    max_digit_ratio: float | None = Field(0.3, description="max share of digits among non-space chars (too_many_digits)")
    max_dup_line_frac: float | None = Field(
        0.5, description="max share of lines repeated inside the document (too_many_dup_lines)"
    )
    min_mean_word_len: float | None = Field(None, description="min mean word length, spaced scripts only (bad_word_length)")
    max_mean_word_len: float | None = Field(
        30.0, description="max mean word length, spaced scripts only: base64 / glued URLs (bad_word_length)"
    )
    min_punct_end_frac: float | None = Field(
        None, description="min share of lines ending in punctuation (too_few_punct_lines); off: English-centric"
    )


# The same fields, none required: one language's overrides. An unknown key is an error with its path
# (mono.quality.per_lang.zho_Hani.min_char), like everywhere else in the config.
QualityOverride = create_model(
    "QualityOverride",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Quality filters of one language: only the fields given replace the global ones.",
    **{name: (f.annotation, Field(None, description=f.description)) for name, f in QualityFields.model_fields.items()},
)


class QualityConfig(QualityFields):
    __doc__ = QualityFields.__doc__
    per_lang: dict[str, QualityOverride] = Field(
        default_factory=dict, description="per-language overrides (keys xxx_Scrp), e.g. {zho_Hani: {min_chars: 30}}"
    )

    @field_validator("per_lang")
    @classmethod
    def _known_languages(cls, v: dict) -> dict:
        return check_language_keys(v)

    @field_serializer("per_lang")
    def _only_given(self, per_lang: dict) -> dict:
        # Only the fields a language sets: an unset field inherits the global value, an explicit null
        # switches the filter off for that language (pipelines.quality reads it that way).
        return {lang: o.model_dump(exclude_unset=True) for lang, o in per_lang.items()}


class MonoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(
        default_factory=list,
        description="input files or globs; format by extension: .warc[.gz], .wet[.gz]/.warc.wet.gz, .jsonl[.gz], .parquet",
    )
    text_field: str = Field("text", description="JSONL key / Parquet column holding the document text")
    max_doc_chars: int = Field(
        1_000_000, gt=0, description="longer documents are rejected (too_long) before decoding/normalization; "
        "a payload or JSONL line over 4× (JSONL 6×) this many bytes is not even read into memory"
    )
    html_main_content: bool = Field(
        False, description="HTML → text keeps only main content (resiliparse heuristics) instead of all visible text"
    )
    lid_model_path: str | None = Field(
        None, description="fastText LID model (.bin/.ftz: GlotLID, OpenLID, …); null = embedded lid.176.ftz"
    )
    lid_threshold: float = Field(0.5, ge=0, le=1, description="default min LID probability (CCNet uses 0.5)")
    lid_thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="per-language min LID probability, keys xxx_Scrp"
    )
    languages: list[str] = Field(
        default_factory=list, description="allow-list of xxx_Scrp codes (others: lang_not_wanted); empty = all"
    )
    lid_per_line: bool = Field(False, description="also identify each line (fills line_lang_frac; ~2× LID cost)")
    lid_thresholds_path: str | None = Field(
        None, description="per-language min LID probability from a calibration table (TSV `xxx_Scrp<TAB>t` "
        "or JSON); merged with lid_thresholds, where an inline entry wins"
    )
    split_mixed: bool = Field(
        False, description="label each line and move runs of ≥ split_mixed_min_lines lines in another language "
        "out of a document (off: document-level LID, as CC-100)"
    )
    split_mixed_min_lines: int = Field(3, ge=1, description="non-blank lines a foreign run needs to leave its document")
    split_mixed_action: Literal["split", "drop"] = Field(
        "split", description="foreign runs become documents of their own (split) or are removed, counted (drop)"
    )
    quality: QualityConfig = Field(default_factory=QualityConfig, description="quality filters")
    dedup_docs: bool = Field(True, description="whole-document exact dedup (exact_duplicate)")
    dedup_lines: bool = Field(True, description="CCNet-style corpus-wide line dedup")
    min_chars_after_dedup: int = Field(50, ge=0, description="documents shorter after line dedup are dropped")
    min_words_after_dedup: int = Field(10, ge=0, description="documents with fewer words after line dedup are dropped")
    target_shard_mb: float = Field(64.0, gt=0, description="target size of a documents/ shard")
    batch_size: int = Field(256, ge=1, description="documents per LID / quality batch (one fastText call each)")
    chunk_mb: float = Field(
        128.0, gt=0, description="text per intermediate chunk of pass 1 (the unit decisions are routed back to; "
        "bounds pass-2 memory per worker)"
    )
    dedup_keys_per_range: int = Field(
        2_000_000, ge=1, description="keys per reducer of the dedup shuffles: the number of key ranges is "
        "total keys / this, so reducers stay this size whatever the crawl (memory ≈ 30 bytes per key)"
    )

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        return check_languages(v)

    @field_validator("lid_thresholds")
    @classmethod
    def _known_threshold_languages(cls, v: dict[str, float]) -> dict[str, float]:
        return check_language_keys(v)
