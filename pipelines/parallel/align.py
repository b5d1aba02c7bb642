"""Word aligners behind one interface, and deterministic chunking of pairs for them.

eflomal (default) aligns a whole chunk at once (forward + reverse, then grow-diag-final-and);
simalign embeds the chunk's sentences in padded batches. Either way a chunk is the unit of work:
pairs of one language pair whose stable hash falls in the same of ceil(n / chunk_size) buckets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Protocol

from pipelines.ids import stable_hash64
from pipelines.parallel.eflomal_run import MAX_TOKENS, EflomalParams, run_eflomal
from pipelines.parallel.simalign_batched import SimAlignParams
from pipelines.parallel.symmetrize import Link, grow_diag_final_and

ALIGNERS = ("eflomal", "simalign")


@dataclass(frozen=True)
class AlignSettings:
    aligner: str = "eflomal"
    chunk_size: int = 10000  # pairs per eflomal run / simalign work unit
    eflomal: EflomalParams = field(default_factory=EflomalParams)
    simalign: SimAlignParams = field(default_factory=SimAlignParams)


class WordAligner(Protocol):
    name: str

    def params_json(self) -> str: ...

    def over_limit(self, src_tokens: list[str], tgt_tokens: list[str]) -> str | None:
        """Why this pair cannot be aligned whole (the caller skips it with reason too_long_for_aligner)."""

    def align(self, pairs: list[tuple[list[str], list[str]]], seed: int) -> list[list[Link]]: ...


class EflomalAligner:
    name = "eflomal"

    def __init__(self, params: EflomalParams):
        from pipelines.parallel.eflomal_run import seed_shim

        self.params = params
        seed_shim()  # build (or find) the seed shim now: a missing compiler fails at setup, clearly

    def params_json(self) -> str:
        return json.dumps({**self.params.as_dict(), "symmetrization": "grow-diag-final-and"}, sort_keys=True)

    def over_limit(self, src_tokens: list[str], tgt_tokens: list[str]) -> str | None:
        longest = max(len(src_tokens), len(tgt_tokens))
        return f"{longest} tokens > eflomal's limit of {MAX_TOKENS}" if longest > MAX_TOKENS else None

    def align(self, pairs: list[tuple[list[str], list[str]]], seed: int) -> list[list[Link]]:
        if not pairs:
            return []
        runs = run_eflomal([" ".join(s) for s, _ in pairs], [" ".join(t) for _, t in pairs], self.params, seed)
        return [grow_diag_final_and(fwd, rev) for fwd, rev in runs]


class SimAligner:
    name = "simalign"

    def __init__(self, params: SimAlignParams):
        from pipelines.parallel.simalign_batched import BatchedSimAligner

        self.params = params
        self.impl = BatchedSimAligner(params)

    def params_json(self) -> str:
        return json.dumps(self.params.as_dict(), sort_keys=True)

    def over_limit(self, src_tokens: list[str], tgt_tokens: list[str]) -> str | None:
        for side, toks in (("src", src_tokens), ("tgt", tgt_tokens)):
            n = self.impl.too_long(toks)
            if n is not None:
                return f"{side} side has {n} subwords > the model's limit of {self.impl.max_subwords}"
        return None

    def align(self, pairs: list[tuple[list[str], list[str]]], seed: int) -> list[list[Link]]:
        return self.impl.align(pairs) if pairs else []


def make_aligner(settings: AlignSettings) -> WordAligner:
    if settings.aligner == "eflomal":
        return EflomalAligner(settings.eflomal)
    if settings.aligner == "simalign":
        return SimAligner(settings.simalign)
    raise ValueError(f"unknown aligner {settings.aligner!r}: choose one of {', '.join(ALIGNERS)}")


def pair_key(rec: dict) -> str:
    return f"{rec['src_lang']}-{rec['tgt_lang']}"


def chunk_of(pair_id: str, n_pairs: int, chunk_size: int) -> int:
    """Chunk index of a pair: a stable hash over ceil(n / chunk_size) chunks of its language pair."""
    return stable_hash64(pair_id) % max(1, math.ceil(n_pairs / max(1, chunk_size)))


def chunk_seed(seed: int, key: str, chunk: int) -> int:
    return stable_hash64(f"{seed}:align:{key}:{chunk}")
