"""Encode-stage throughput vs a plain SentencePiece loop on the same texts, in the same run.

Builds a synthetic multilingual documents product (pseudo-words from per-script syllables, so a
real subword vocabulary is learned), trains the tokenizer with the tokenizer stage, then times:
  baseline : `for line in lines: sp.encode(line)` over every non-empty document line, the lines
             already in memory (no reading, no splitting, no blocks, no writing); ids as lists
  stage    : the whole encode stage (read Parquet, Beam, batch encode, blocks, Arrow shards,
             manifests, sampling.json) with 1 and 2 local workers, SentencePiece on 1 thread
and prints tokens/s and the ratio stage / baseline (target ≥ 0.7 at 1 worker). Runs are
interleaved (baseline, 1 worker, 2 workers, again) and each figure is the best of its runs, so
load from other processes hits both sides alike. For reference it also times one batched
`sp.encode(list)` call (numpy ids, concatenated) per ~256 documents' lines: the SentencePiece
work the stage does, alone.

    python benchmarks/encode.py            # ~1.5 minutes
    python benchmarks/encode.py --quick    # ~30 s
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from pipelines.ids import stable_id  # noqa: E402
from pipelines.shards import write_table  # noqa: E402
from schemas.documents import DOCUMENTS  # noqa: E402
from schemas.manifest import build_manifest, write_manifest  # noqa: E402

SYLLABLES = {
    "eng_Latn": "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go ka ke ki ko la le li lo "
                "ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi vo th st ng".split(),
    "deu_Latn": "ab an au be ch de ei en er ge ha he ie in ka ke la le ma me na ne sch st te un ve wa we zu ß ü ö ä".split(),
    "rus_Cyrl": "ба бе би бо бу ва ве ви во да де ди до ка ке ки ко ла ле ли ло ма ме ми мо на не ни но ра ре ри ро "
                "са се си со та те ти то ща шу жи".split(),
    "zho_Hani": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可"),
}


def make_corpus(out: Path, docs_per_lang: int, seed: int = 0) -> list[str]:
    """Write OUT/documents (Parquet + manifest); return every document line (the baseline's input)."""
    r = random.Random(seed)
    rows, lines_all = [], []
    for lang, syl in SYLLABLES.items():
        lexicon = ["".join(r.choice(syl) for _ in range(r.randint(1, 4))) for _ in range(3000)]
        sep = "" if lang == "zho_Hani" else " "
        end = "。" if lang == "zho_Hani" else "."
        for i in range(docs_per_lang):
            lines = []
            for _ in range(r.randint(2, 8)):
                sents = [sep.join(r.choice(lexicon) for _ in range(r.randint(5, 18))) + end for _ in range(r.randint(1, 3))]
                lines.append(sep.join(sents))
            lines_all += lines
            rows.append({"doc_id": stable_id(lang, i), "source": "bench", "lang": lang, "lang_score": 1.0,
                         "text": "\n".join(lines)})
    d = out / "documents"
    for lang in SYLLABLES:
        part = [x for x in rows if x["lang"] == lang]
        table = pa.Table.from_pylist([{f.name: x.get(f.name) for f in DOCUMENTS} for x in part], schema=DOCUMENTS)
        write_table(table, str(d / lang / "part-00000.parquet"), "parquet", None)
    n = len(rows)
    write_manifest(str(d), build_manifest(str(d), DOCUMENTS, "bench", {"docs.read": n, "docs.kept": n}, "h", {}, "v"))
    return lines_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small corpus (~30 s)")
    ap.add_argument("--docs-per-lang", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=2, help="interleaved runs of each; the best counts")
    args = ap.parse_args()
    docs = args.docs_per_lang or (1500 if args.quick else 10000)

    from flows.config import load_config
    from flows.stages import encode, tokenizer

    with tempfile.TemporaryDirectory(prefix="xlcorpus-bench-encode-") as tmp:
        out = Path(tmp) / "out"
        lines = make_corpus(out, docs)
        base = {"out": str(out), "stages": ["tokenizer", "encode"],
                "tokenizer": {"vocab_size": 8000, "sample_sentences": 20_000, "hard_vocab_limit": False},
                "encode": {"objectives": ["mlm"], "target_shard_mb": 32}}
        cfg = load_config(None, base)
        t0 = time.perf_counter()
        tokenizer.run(cfg, force=True, log_fn=lambda m: None)
        print(f"corpus: {docs * len(SYLLABLES)} documents, {len(lines)} lines; tokenizer trained in "
              f"{time.perf_counter() - t0:.1f}s")

        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer" / "spm.model"))
        n_tokens = sum(len(sp.encode(line)) for line in lines)
        batches = [lines[i:i + 256 * 5] for i in range(0, len(lines), 256 * 5)]  # ~5 lines a document
        best: dict[str, float] = {}

        def timed(name: str, fn) -> None:
            t0 = time.perf_counter()
            fn()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)

        def stage(workers: int) -> None:
            report = encode.run(load_config(None, {**base, "runner": {"workers": workers}}), force=True,
                                log_fn=lambda m: None)
            tokens = report.counters.get("mlm.tokens", 0)
            assert tokens == n_tokens, f"stage encoded {tokens} tokens, baseline {n_tokens}"

        for _ in range(args.repeat):
            timed("baseline", lambda: sum(len(sp.encode(line)) for line in lines))
            timed("batched", lambda: [len(np.concatenate(sp.encode(b, return_type="numpy", num_threads=1)))
                                      for b in batches])
            timed("stage1", lambda: stage(1))
            timed("stage2", lambda: stage(2))
        base_tps = n_tokens / best["baseline"]
        print(f"baseline  plain sp.encode loop : {n_tokens:>10,} tokens in {best['baseline']:6.2f}s = "
              f"{base_tps:>12,.0f} tok/s")
        print(f"(reference: batched sp.encode  : {n_tokens:>10,} tokens in {best['batched']:6.2f}s = "
              f"{n_tokens / best['batched']:>12,.0f} tok/s   ratio {best['baseline'] / best['batched']:.2f}x)")
        for workers in (1, 2):
            dt = best[f"stage{workers}"]
            print(f"encode stage, {workers} worker{'s' if workers > 1 else ' '}     : {n_tokens:>10,} tokens in "
                  f"{dt:6.2f}s = {n_tokens / dt:>12,.0f} tok/s   ratio {best['baseline'] / dt:.2f}x")


if __name__ == "__main__":
    main()
