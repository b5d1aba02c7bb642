"""Word aligners behind one interface, and deterministic chunking of pairs for them.

eflomal (default) aligns a whole chunk at once (forward + reverse, then grow-diag-final-and),
optionally with priors (pipelines.parallel.priors); simalign embeds the chunk's sentences in
length-sorted batches. Either way a chunk is the unit of work: pairs of one language pair whose
stable hash falls in the same of ceil(n / chunk_size) buckets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Protocol

from pipelines.ids import stable_hash64
from pipelines.parallel.eflomal_run import MAX_TOKENS, EflomalParams, run_eflomal
from pipelines.parallel.priors import PriorsSettings, chunk_vocab, file_priors_lines
from pipelines.parallel.simalign_batched import SimAlignParams
from pipelines.parallel.symmetrize import Link, grow_diag_final_and

ALIGNERS = ("eflomal", "simalign")


@dataclass(frozen=True)
class AlignSettings:
    aligner: str = "eflomal"
    chunk_size: int = 10000  # pairs per eflomal run / simalign work unit
    eflomal: EflomalParams = field(default_factory=EflomalParams)
    simalign: SimAlignParams = field(default_factory=SimAlignParams)
    priors: PriorsSettings = field(default_factory=PriorsSettings)

    @property
    def builds_priors(self) -> bool:
        """Whether language pairs of more than one chunk get priors built (pass 1)."""
        return self.aligner == "eflomal" and self.priors.enabled and not self.eflomal.priors_path


class WordAligner(Protocol):
    name: str

    def params_json(self, priors: dict | None = None) -> str: ...

    def over_limit(self, src_tokens: list[str], tgt_tokens: list[str]) -> str | None:
        """Why this pair cannot be aligned whole (the caller skips it with reason too_long_for_aligner)."""

    def align(self, pairs: list[tuple[list[str], list[str]]], seed: int, priors: list[str] | None = None,
              iterations_scale: float = 1.0) -> list[list[Link]]: ...


class EflomalAligner:
    name = "eflomal"

    def __init__(self, params: EflomalParams):
        from pipelines.parallel.eflomal_run import seed_shim
        from pipelines.remote_files import local_copy

        self.params = params
        seed_shim()  # build (or find) the seed shim now: a missing compiler fails at setup, clearly
        # the user's priors file: a gs:// / s3:// one is fetched once per worker (then cached)
        self.priors_file = local_copy(params.priors_path) if params.priors_path else None

    def params_json(self, priors: dict | None = None) -> str:
        """The parameters recorded on every alignment; `priors` says which priors the chunk used."""
        if priors is None and self.params.priors_path:
            priors = {"source": "file", "path": self.params.priors_path}
        return json.dumps({**self.params.as_dict(), "symmetrization": "grow-diag-final-and", "priors": priors},
                          sort_keys=True)

    def over_limit(self, src_tokens: list[str], tgt_tokens: list[str]) -> str | None:
        longest = max(len(src_tokens), len(tgt_tokens))
        return f"{longest} tokens > eflomal's limit of {MAX_TOKENS}" if longest > MAX_TOKENS else None

    def align_directional(self, pairs: list[tuple[list[str], list[str]]], seed: int, priors: list[str] | None = None,
                          iterations_scale: float = 1.0) -> list[tuple[list[Link], list[Link]]]:
        """Forward and reverse links of each pair (pass 1 counts priors from these)."""
        if not pairs:
            return []
        if priors is None and self.priors_file is not None:
            src_vocab, tgt_vocab = chunk_vocab(pairs)
            with open(self.priors_file, encoding="utf-8") as f:
                priors = list(file_priors_lines(f, src_vocab, tgt_vocab))
        params = self.params
        if iterations_scale != 1.0:
            params = replace(params, rel_iterations=params.rel_iterations * iterations_scale)
        return run_eflomal([" ".join(s) for s, _ in pairs], [" ".join(t) for _, t in pairs], params, seed, priors)

    def align(self, pairs: list[tuple[list[str], list[str]]], seed: int, priors: list[str] | None = None,
              iterations_scale: float = 1.0) -> list[list[Link]]:
        """Symmetrized links; `priors`: eflomal-makepriors lines for this chunk (else the user's file, if any);
        iterations_scale: multiplies eflomal's iteration schedule (pass 2 with priors needs fewer)."""
        return [grow_diag_final_and(fwd, rev)
                for fwd, rev in self.align_directional(pairs, seed, priors, iterations_scale)]


class SimAligner:
    name = "simalign"

    def __init__(self, params: SimAlignParams):
        from pipelines.parallel.simalign_batched import BatchedSimAligner

        self.params = params
        self.impl = BatchedSimAligner(params)

    def params_json(self, priors: dict | None = None) -> str:
        return json.dumps(self.params.as_dict(), sort_keys=True)

    def over_limit(self, src_tokens: list[str], tgt_tokens: list[str]) -> str | None:
        for side, toks in (("src", src_tokens), ("tgt", tgt_tokens)):
            n = self.impl.too_long(toks)
            if n is not None:
                return f"{side} side has {n} subwords > the model's limit of {self.impl.max_subwords}"
        return None

    def align(self, pairs: list[tuple[list[str], list[str]]], seed: int, priors: list[str] | None = None,
              iterations_scale: float = 1.0) -> list[list[Link]]:
        if priors is not None:
            raise ValueError("simalign takes no alignment priors (they are eflomal's)")
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
