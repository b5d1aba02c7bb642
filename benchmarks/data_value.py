"""Does the cross-lingual data teach cross-lingual alignment? MLM only vs MLM + TLM + CS vs MLM + TLM + CS + XLCO.

The corpus is xlmodel.synthetic's lexicon corpus, enlarged: every language has its own made-up words
for shared concepts, so a translation pair is a word-by-word translation a model can learn, and a
share of the words are names spelled the same everywhere, so a bag of subword ids already retrieves
some translations (as shared names and numbers do in real text). The three mixes train for the same
number of steps and rows per step, on several seeds each (model init, sampling and masks change with
the seed; the corpus does not). Each model is scored on held-out translation pairs — fresh sentences
written as TSV files, never in the corpus — by top-1 retrieval in both directions (mean-pooled middle
layer, cosine), next to chance and the bag-of-subword-ids baseline on the same sentences.

Sized for a 2-core CPU in about 10–15 minutes at the defaults (tiny encoder 2 × 64, seq_len 128,
16 rows, 300 steps, 3 seeds, 3 languages); --quick for a smoke run. Prints a table, the margins and
whether the target is met: the mix with XLCO beats MLM-only by more than 3 × the seed spread (sample
standard deviation, the larger of the two) and beats the baseline. Times are printed as ratios to the
MLM-only run, never asserted.

    python benchmarks/data_value.py [--quick] [--seeds 3] [--steps 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from xlmodel.config import TrainSettings  # noqa: E402
from xlmodel.evaluate import evaluate_run  # noqa: E402
from xlmodel.synthetic import write_synthetic_corpus  # noqa: E402
from xlmodel.train import train  # noqa: E402

LANGS = ("eng_Latn", "deu_Latn", "fra_Latn")
MIXES: dict[str, dict] = {
    "mlm": {"objective_weights": {"mlm": 1.0}},
    "mlm+tlm+cs": {"objective_weights": {"mlm": 1.0, "tlm": 1.0, "cs": 1.0}},
    "mlm+tlm+cs+xlco": {"objective_weights": {"mlm": 1.0, "tlm": 1.0, "cs": 1.0}, "xlco_weight": 1.0},
}


def build_corpus(root: Path, a) -> tuple[Path, Path]:
    tokens = write_synthetic_corpus(root, langs=LANGS, n_mono=a.docs, n_pairs=a.pairs, n_entity=200, n_cs=a.pairs,
                                    vocab_size=1000, n_concepts=600, n_names=60, names_share=a.names_share,
                                    sent_len=(6, 16), heldout_pairs=a.heldout, seed=0)
    return tokens, root / "heldout"


def run_one(tokens: Path, heldout: Path, run_dir: Path, mix: str, seed: int, a) -> dict:
    s = TrainSettings(tokens_dir=str(tokens), run_dir=str(run_dir), seed=seed, size=a.size, seq_len=128,
                      batch_rows=16, steps=a.steps, warmup_steps=max(1, a.steps // 10), lr=2e-3, dropout=0.1,
                      log_every=max(1, a.steps // 5), ckpt_every=a.steps, progress=False, holdout_permille=0,
                      device="cpu", threads=a.threads, xlco_pairs=32, xlco_queue=1024, xlco_momentum=0.99,
                      eval_parallel=[str(heldout)], eval_max_examples=a.heldout, **MIXES[mix])
    t0 = time.perf_counter()
    summary = train(s)
    seconds = time.perf_counter() - t0
    ev = evaluate_run(run_dir)["retrieval_parallel"]
    mid = [(r["src2tgt"] + r["tgt2src"]) / 2 for r in ev.values()]
    last = [(r["last_src2tgt"] + r["last_tgt2src"]) / 2 for r in ev.values()]
    base = [(r["bag_of_ids_src2tgt"] + r["bag_of_ids_tgt2src"]) / 2 for r in ev.values()]
    return {"mid": statistics.mean(mid), "last": statistics.mean(last), "baseline": statistics.mean(base),
            "chance": statistics.mean(r["chance"] for r in ev.values()), "seconds": seconds,
            "tokens": summary["tokens"], "layer": next(iter(ev.values()))["layer"]}


def spread(xs: list[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 60 steps, 2 seeds, a smaller corpus")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--size", default="tiny")
    p.add_argument("--docs", type=int, default=1500, help="documents per language (fewer for later languages)")
    p.add_argument("--pairs", type=int, default=1500, help="translation pairs per language pair (and cs samples)")
    p.add_argument("--heldout", type=int, default=200, help="held-out pairs per language pair (fresh sentences)")
    p.add_argument("--names-share", dest="names_share", type=float, default=0.12,
                   help="share of words that are names spelled alike in every language")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: on a shared machine more threads spin and slow everyone down)")
    a = p.parse_args()
    if a.quick:
        a.seeds, a.steps, a.docs, a.pairs, a.heldout = 2, 60, 300, 300, 100
    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tokens, heldout = build_corpus(Path(tmp), a)
        results: dict[str, list[dict]] = {m: [] for m in MIXES}
        for seed in range(a.seeds):
            for mix in MIXES:
                r = run_one(tokens, heldout, Path(tmp) / f"{mix}-{seed}", mix, seed, a)
                results[mix].append(r)
                print(f"  seed {seed}  {mix:16s} retrieval {r['mid']:.3f} (last layer {r['last']:.3f})  "
                      f"{r['seconds']:.0f}s", flush=True)
    total = time.perf_counter() - t_start
    base = results["mlm"][0]["baseline"]
    chance = results["mlm"][0]["chance"]
    ref_time = statistics.mean(r["seconds"] for r in results["mlm"])
    print(f"\nsynthetic lexicon corpus, {len(LANGS)} languages, {a.pairs} pairs / language pair; {a.size} encoder, "
          f"{a.steps} steps × 16 rows × 128 tokens; {a.seeds} seeds; held-out: {a.heldout} fresh pairs per "
          f"language pair (top-1 retrieval, both directions, mean-pooled layer {results['mlm'][0]['layer']})")
    print(f"{'mix':18s} {'retrieval mean ± sd':>20s} {'min–max':>13s} {'last layer':>11s} {'time / mlm':>11s}")
    stats = {}
    for mix, rs in results.items():
        xs = [r["mid"] for r in rs]
        stats[mix] = (statistics.mean(xs), spread(xs))
        print(f"{mix:18s} {stats[mix][0]:>12.3f} ± {stats[mix][1]:.3f} {min(xs):>6.3f}–{max(xs):.3f} "
              f"{statistics.mean(r['last'] for r in rs):>11.3f} "
              f"{statistics.mean(r['seconds'] for r in rs) / ref_time:>10.2f}x")
    print(f"{'bag of subword ids':18s} {base:>12.3f}   (no model; same sentences)")
    print(f"{'chance':18s} {chance:>12.3f}")
    (m_a, s_a), (m_c, s_c) = stats["mlm"], stats["mlm+tlm+cs+xlco"]
    (m_b, _) = stats["mlm+tlm+cs"]
    sd = max(s_a, s_c)
    print(f"\nmargins: mix+xlco − mlm = {m_c - m_a:+.3f} ({(m_c - m_a) / sd if sd else float('inf'):.1f} × seed sd "
          f"{sd:.3f});  mix − mlm = {m_b - m_a:+.3f};  mix+xlco − bag of ids = {m_c - base:+.3f}")
    met = (m_c - m_a) > 3 * sd and m_c > base
    print(f"target (mix+xlco beats mlm-only by > 3 × seed sd, and beats bag of ids): {'MET' if met else 'NOT MET'}")
    print(f"total {total / 60:.1f} min")


if __name__ == "__main__":
    main()
