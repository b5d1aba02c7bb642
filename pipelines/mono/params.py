"""Plain parameters of the mono pipeline (built from flows.config.mono.MonoConfig; no pydantic here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.quality import QualityFilters

STAGE = "mono"


@dataclass(frozen=True)
class LidParams:
    model_path: str | None = None  # None: embedded lid.176.ftz
    threshold: float = 0.5  # CCNet's lid.176 threshold
    thresholds: dict[str, float] = field(default_factory=dict)  # xxx_Scrp → threshold
    languages: tuple[str, ...] = ()  # allow-list of xxx_Scrp codes; empty = all
    per_line: bool = False  # also label each line (fills line_lang_frac)

    def threshold_for(self, lang: str) -> float:
        return self.thresholds.get(lang, self.threshold)


@dataclass(frozen=True)
class MonoParams:
    files: tuple[str, ...]
    out_documents: str
    out_rejects: str
    lid: LidParams = LidParams()
    quality: QualityFilters = QualityFilters()
    html_main_content: bool = False
    text_field: str = "text"
    dedup_docs: bool = True
    dedup_lines: bool = True
    min_chars_after_dedup: int = 50
    min_words_after_dedup: int = 10
    target_shard_bytes: int = 64 << 20
    batch_size: int = 256  # documents per batch from ReadWarc to DedupLines
    dedup_partitions: int = 32  # hash partitions of the exact-dedup keys (memory per partition ∝ 1/n)
    neardup: object | None = None  # pipelines.neardup params when near-dedup is on
    stage: str = STAGE
