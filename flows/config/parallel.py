"""Config section `parallel` (owned by the parallel stage; see flows/stages/parallel.py).

```yaml
parallel:
  inputs:
    - {format: moses, src_path: corpus.de, tgt_path: corpus.en, src_lang: de, tgt_lang: en, corpus: europarl}
    - {format: tsv, input_path: fra-eng.tsv, src_lang: fra, tgt_lang: eng}     # src<TAB>tgt per line
    - {format: tmx, input_path: memory.tmx, src_lang: rus, tgt_lang: eng}      # picks this pair's <tuv>s
    - {format: jsonl, input_path: pairs.jsonl, src_lang: es, tgt_lang: en, src_field: es, tgt_field: en}
    - news.de-en.tsv          # a plain path or glob: format from the extension, pair from the name
  clean: {max_chars: 1000, max_words: 250, max_length_ratio: 3.0, lid: true}
  align: {aligner: eflomal, chunk_size: 10000, priors: {enabled: true, sample_size: 200000}}
  lexicon: {min_count: 2}
  alm: {samples: 2, max_switch_ratio: 0.3}
  dictionary: {p: 0.3, choose: top}
```
Relative paths in a config file are relative to the file (keys ending in `_path`).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.config.languages import check_language


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParallelInput(_Strict):
    format: Literal["moses", "tsv", "tmx", "jsonl", "parquet"] | None = Field(
        None, description="file format; default: from the extension of input_path"
    )
    input_path: str | None = Field(None, description="tsv / tmx / jsonl / parquet file")
    src_path: str | None = Field(None, description="moses: the source-language file")
    tgt_path: str | None = Field(None, description="moses: the target-language file (same number of lines)")
    src_lang: str | None = Field(None, description="language code (de, deu, deu_Latn); default: from the file name")
    tgt_lang: str | None = None
    corpus: str | None = Field(None, description="corpus name recorded on every pair; default: the file stem")
    src_field: str | None = Field(None, description="jsonl / parquet: source column (default src)")
    tgt_field: str | None = Field(None, description="jsonl / parquet: target column (default tgt)")
    src_column: int | None = Field(None, ge=0, description="tsv: source field index (default 0)")
    tgt_column: int | None = Field(None, ge=0, description="tsv: target field index (default 1)")
    columns: int | None = Field(None, ge=2, description="tsv: fields per line; other lines are malformed (default 2)")

    @field_validator("src_lang", "tgt_lang")
    @classmethod
    def _known_language(cls, v: str | None) -> str | None:
        return v if v is None else check_language(v, short_ok=True)  # the readers map de / deu → deu_Latn


class CleanConfig(_Strict):
    max_chars: int = Field(1000, ge=1, description="max characters per side")
    max_words: int = Field(250, ge=1, description="max word tokens per side")
    max_length_ratio: float = Field(3.0, ge=1.0, description="max longer/shorter side, in characters")
    lid: bool = Field(True, description="identify both sides' language; a mismatch drops the pair")
    lid_model_path: str | None = Field(None, description="fastText LID model; default lid.176")
    lid_min_chars: int = Field(0, ge=0, description="sides shorter than this are not judged by LID")


class EflomalConfig(_Strict):
    model: int = Field(3, ge=1, le=3, description="1 IBM1, 2 HMM, 3 HMM + fertility")
    n_samplers: int = Field(3, ge=1)
    null_prior: float = Field(0.2, ge=0.0, le=1.0)
    rel_iterations: float = Field(1.0, gt=0.0)
    priors_path: str | None = Field(None, description="your eflomal-makepriors file for every chunk "
                                                      "(then no priors are built)")


class SimAlignConfig(_Strict):
    model_path: str | None = Field(None, description="local BERT-like model folder (required for simalign)")
    layer: int = Field(8, ge=0)
    method: Literal["inter", "itermax", "mwmf"] = "inter"
    distortion: float = Field(0.0, ge=0.0)
    batch_size: int = Field(32, ge=1, description="sentences per forward pass (sorted by length)")
    device: str = Field("cpu", description="cpu | cuda | cuda:N")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="encoder precision; auto: bfloat16 (float16 without bf16) on CUDA, float32 on CPU")
    max_batch_tokens: int = Field(16384, ge=1, description="padded subword positions per forward pass")


class PriorsConfig(_Strict):
    enabled: bool = Field(True, description="eflomal: two-pass alignment with shared priors for every language "
                                            "pair of more pairs than one chunk (not with eflomal.priors_path)")
    sample_size: int = Field(200000, ge=1, description="pass 1: pairs per language pair whose links make the priors")
    sample_chunk_size: int = Field(100000, ge=1, description="pass 1: chunk size of the sample")
    iterations_scale: float = Field(0.25, gt=0.0, description="pass 2: eflomal iterations relative to its usual "
                                                              "schedule (priors hold what a chunk would learn)")


class AlignConfig(_Strict):
    aligner: Literal["eflomal", "simalign"] = "eflomal"
    chunk_size: int = Field(10000, ge=1, description="pairs per alignment chunk (per language pair)")
    eflomal: EflomalConfig = EflomalConfig()
    simalign: SimAlignConfig = SimAlignConfig()
    priors: PriorsConfig = PriorsConfig()


class LexiconConfig(_Strict):
    min_count: int = Field(2, ge=1, description="entries linked fewer times are dropped")


class AlmConfig(_Strict):
    enabled: bool = True
    samples: int = Field(2, ge=1, description="samples per pair and direction")
    max_phrase_words: int = Field(4, ge=1, description="phrase length limit per side (< 5 words)")
    max_switch_ratio: float = Field(0.3, gt=0.0, le=1.0, description="switched tokens / matrix sentence tokens")
    directions: list[Literal["source", "target"]] = Field(default_factory=lambda: ["source", "target"])


class DictionaryConfig(_Strict):
    enabled: bool = True
    p: float = Field(0.3, gt=0.0, le=1.0, description="replacement probability per translatable word")
    choose: Literal["top", "sample"] = "top"
    max_candidates: int = Field(5, ge=1, description="translations kept per word and language")
    samples: int = Field(1, ge=1, description="samples per matrix sentence (each side of each pair)")


class ParallelConfig(_Strict):
    inputs: list[str | ParallelInput] = Field(default_factory=list, description="parallel corpora (see module doc)")
    clean: CleanConfig = CleanConfig()
    align: AlignConfig = AlignConfig()
    lexicon: LexiconConfig = LexiconConfig()
    alm: AlmConfig = AlmConfig()
    dictionary: DictionaryConfig = DictionaryConfig()
    target_shard_mb: float = Field(128, gt=0, description="target shard size")
    hot_key_max_group: int = Field(10000, ge=1, description="word joins: a word with more values than this is "
                                                            "spread over several workers (salted)")
