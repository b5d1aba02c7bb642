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
    split_mixed: bool = False  # move runs of foreign lines out of a document (pipelines.mono.mixed)
    split_mixed_min_lines: int = 3  # a foreign run needs this many non-blank lines
    split_mixed_action: str = "split"  # "split": a document of its own; "drop": removed, counted

    def threshold_for(self, lang: str) -> float:
        return self.thresholds.get(lang, self.threshold)


@dataclass(frozen=True)
class MonoParams:
    inputs: tuple[tuple[str, str], ...]  # (path to read, name written as `source`), sorted by name
    out_documents: str
    out_rejects: str
    work_dir: str  # chunks and pieces (under the stage's staging area)
    lid: LidParams = LidParams()
    quality: QualityFilters = QualityFilters()
    html_main_content: bool = False
    text_field: str = "text"
    dedup_docs: bool = True
    dedup_lines: bool = True
    min_chars_after_dedup: int = 50
    min_words_after_dedup: int = 10
    target_shard_bytes: int = 64 << 20
    batch_size: int = 256  # documents per LID / quality batch
    chunk_bytes: int = 128 << 20  # text per intermediate chunk (the unit decisions are routed to)
    dedup_keys_per_range: int = 2_000_000  # keys per reducer of the dedup shuffles (ranges grow with data)
    neardup: object | None = None  # pipelines.neardup params when near-dedup is on
    max_doc_chars: int = 1_000_000  # longer documents are rejected (too_long) by the reader
    progress_dir: str = ""  # where pass 1 marks each input file done (pipelines.progress); "" = off
    stage: str = STAGE
