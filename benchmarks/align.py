"""Word-alignment throughput, as ratios to baselines measured in the same run.

1. eflomal: pairs/s of our seeded chunk runner (seed shim, one OpenMP thread, grow-diag-final-and)
   for two chunk sizes, vs the eflomal package's own `Aligner.align` (unseeded) on the same pairs.
2. simalign: our batched forward passes vs simalign's per-pair `SentenceAligner.get_word_aligns`
   loop on the same pairs and the same (tiny, random, local) BERT; the links must be identical.

Run: python benchmarks/align.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def corpus(n: int) -> list[tuple[list[str], list[str]]]:
    from flows.demo.parallel import clean_pairs
    from pipelines.parallel.tokenize import word_tokens

    pairs = clean_pairs("deu", "eng", n_combined=max(0, n - 48))[:n]
    return [(word_tokens(s)[0], word_tokens(t)[0]) for s, t in pairs]


def bench_eflomal(n: int) -> None:
    import eflomal

    from pipelines.parallel.align import EflomalAligner
    from pipelines.parallel.eflomal_run import EflomalParams

    pairs = corpus(n)
    src, tgt = [" ".join(s) for s, _ in pairs], [" ".join(t) for _, t in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        eflomal.Aligner().align(src, tgt, links_filename_fwd=os.path.join(tmp, "f"), links_filename_rev=os.path.join(tmp, "r"))
        base = time.perf_counter() - t0
    print(f"eflomal package Aligner.align (unseeded, baseline): {n / base:8.0f} pairs/s ({n} pairs)")
    aligner = EflomalAligner(EflomalParams())
    for chunk in (n // 4, n):
        t0 = time.perf_counter()
        for start in range(0, n, chunk):
            aligner.align(pairs[start : start + chunk], seed=start)
        dt = time.perf_counter() - t0
        print(f"xlcorpus eflomal, chunks of {chunk:5d} (seeded + gdfa): {n / dt:8.0f} pairs/s  ratio to baseline {base / dt:.2f}x")


def bench_simalign(n: int, batch_size: int, layers: int, hidden: int) -> None:
    import torch

    # One intra-op thread for both paths: equal conditions, and no thread oversubscription on a
    # shared machine (which slows the many small per-pair forward passes far more than the batched ones).
    torch.set_num_threads(1)
    from pipelines.parallel.align import SimAligner
    from pipelines.parallel.simalign_batched import SimAlignParams
    from tests.random_bert import make_random_bert

    pairs = corpus(n)
    with tempfile.TemporaryDirectory() as tmp:
        words = sorted({w.lower() for s, t in pairs for w in s + t if len(w) > 3})[::2]
        make_random_bert(tmp, words, layers=layers, hidden=hidden, max_positions=512)
        aligner = SimAligner(SimAlignParams(model_path=tmp, layer=layers, method="inter", batch_size=batch_size))
        pairs = [(s, t) for s, t in pairs if aligner.over_limit(s, t) is None]
        aligner.align(pairs[:4], seed=0)  # warm-up (both paths share the loaded model)
        aligner.impl.sa.get_word_aligns(*pairs[0])
        t0 = time.perf_counter()
        per_pair = [[tuple(x) for x in aligner.impl.sa.get_word_aligns(s, t)["inter"]] for s, t in pairs]
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        batched = aligner.align(pairs, seed=0)
        dt = time.perf_counter() - t0
    assert batched == per_pair, "batched simalign links differ from simalign's per-pair links"
    print(f"simalign per-pair get_word_aligns (baseline): {len(pairs) / base:8.0f} pairs/s ({len(pairs)} pairs, "
          f"random BERT: {layers} layers, hidden {hidden}, 1 torch thread)")
    print(f"xlcorpus batched simalign (batch {batch_size}):        {len(pairs) / dt:8.0f} pairs/s  "
          f"ratio to baseline {base / dt:.2f}x  (links identical: yes)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller corpora (~20 s)")
    args = ap.parse_args()
    n_ef, n_sa = (400, 100) if args.quick else (1500, 300)
    bench_eflomal(n_ef)
    bench_simalign(n_sa, batch_size=64, layers=2, hidden=32)
    if not args.quick:  # more compute per token: batching saves less of it
        bench_simalign(n_sa, batch_size=64, layers=4, hidden=128)


if __name__ == "__main__":
    main()
