"""Config section `tokenizer` (owned by the tokenizer stage; see flows/stages/tokenizer.py)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SOURCES = ["documents", "pairs", "codeswitch/alm", "codeswitch/dict", "codeswitch/entitycs"]


class TokenizerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SOURCES),
        description="product dirs under OUT to sample sentences from; those without a manifest are skipped",
    )
    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = Field(250_000, ge=300, description="pieces incl. specials, markers and 256 byte pieces")
    sample_sentences: int = Field(2_000_000, ge=1, description="size of the smoothed training sample")
    alpha: float = Field(0.3, ge=0.0, le=1.0, description="language smoothing exponent (XLM-R: 0.3)")
    character_coverage: float = Field(0.9995, gt=0.0, le=1.0)
    byte_fallback: bool = True
    normalization: str = Field("nmt_nfkc", description="SentencePiece normalization rule")
    max_sentence_chars: int = Field(4000, ge=16, description="longer lines are left out of the sample")
    hard_vocab_limit: bool = Field(True, description="false: vocab_size is an upper bound (tiny corpora)")
    num_threads: int = Field(1, ge=1, description="training threads; 1 keeps spm.model byte-identical across runs")
    extra_symbols: list[str] = Field(default_factory=list, description="more user-defined symbols kept whole")
