"""Training throughput: xlmodel vs Hugging Face XLMRobertaForMaskedLM + DataCollatorForLanguageModeling.

Same model shape, same token shards, same tokens per optimizer step, same optimizer, measured in
the same run. Tokens/s counts real (non-padding) tokens. Prints the ratio xlmodel / HF.

    python benchmarks/train.py            # CPU: mini model, vocab 32k (≈ 1–2 min)
    python benchmarks/train.py --quick    # tiny model, fewer steps
    python benchmarks/train.py --device cuda --size base   # GPU: also prints xlmodel's MFU

Where xlmodel's speed comes from: packing (no padding), the sparse MLM head (vocabulary
projection only for the ~15% predicted positions) and fused qkv; on GPU also bf16 autocast and
fused AdamW (both sides get bf16 autocast there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.ipc as ipc  # noqa: E402
import torch  # noqa: E402

from schemas.tokens import TOKENS, parent_hash  # noqa: E402
from xlmodel.config import MODEL_SIZES, TrainSettings  # noqa: E402
from xlmodel.mfu import device_peak_flops, mfu  # noqa: E402
from xlmodel.model import ModelConfig  # noqa: E402
from xlmodel.train import read_metrics, train  # noqa: E402

SPECIAL = {"bos": 0, "pad": 1, "eos": 2, "unk": 3, "mask": 4}


def write_corpus(root: Path, vocab: int, n: int, seed: int = 0, seq_len: int = 128) -> Path:
    """Zipf-distributed token ids, sentence-to-paragraph lengths (8–200), 3 languages of mlm shards."""
    rng = np.random.default_rng(seed)
    tokens = root / "tokens"
    streams = {}
    ranks = np.arange(1, vocab - 5 + 1)
    p = 1.0 / ranks
    p /= p.sum()
    for lang, share in (("eng_Latn", 0.5), ("deu_Latn", 0.3), ("swh_Latn", 0.2)):
        m = int(n * share)
        lengths = np.clip(rng.lognormal(3.8, 0.7, m).astype(int), 8, min(200, seq_len - 2))  # whole rows: no cut
        ids = rng.choice(vocab - 5, size=int(lengths.sum()), p=p).astype(np.int32) + 5
        rows = np.split(ids, np.cumsum(lengths)[:-1])
        ids_ = [f"{lang}-{i}" for i in range(m)]
        table = pa.table({"example_id": ids_, "parent_id": ids_,
                          "parent_hash": pa.array([parent_hash(x) for x in ids_], pa.uint64()), "objective": ["mlm"] * m,
                          "lang": [lang] * m, "lang2": pa.nulls(m, pa.string()),
                          "input_ids": pa.array([r.tolist() for r in rows], pa.list_(pa.int32())),
                          "segment_start": pa.array([-1] * m, pa.int32()),
                          "entity_spans": pa.nulls(m, TOKENS.field("entity_spans").type),
                          "n_tokens": pa.array(lengths, pa.int32())}, schema=TOKENS)
        rel = f"mlm/{lang}/part-00000.arrow"
        (tokens / rel).parent.mkdir(parents=True, exist_ok=True)
        with ipc.new_file(str(tokens / rel), TOKENS) as w:
            w.write_table(table)
        streams[lang] = {"examples": m, "tokens": int(lengths.sum()), "files": [rel], "p_smoothed": share ** 0.3}
    sampling = {"format": 1, "alpha": 0.3, "seed": seed,
                "tokenizer": {"sha256": "bench", "vocab_size": vocab, "special": SPECIAL, "markers": {}},
                "objectives": {"mlm": {"streams": streams}}}
    (tokens / "sampling.json").write_text(json.dumps(sampling))
    return tokens


def run_xlmodel(tokens: Path, run_dir: Path, a, warmup: int) -> dict:
    s = TrainSettings(tokens_dir=str(tokens), run_dir=str(run_dir), size=a.size, seq_len=a.seq_len,
                      batch_rows=a.batch_rows, steps=warmup + a.steps, warmup_steps=2, log_every=1,
                      ckpt_every=10**9, progress=False, holdout_permille=0, device=a.device, dropout=0.1,
                      compile=a.compile, max_positions=a.seq_len, attention=a.attention)
    train(s)
    recs = read_metrics(run_dir)[warmup:]
    tokens = sum(r["tokens"] for r in recs)
    seconds = sum(r["tokens"] / r["tokens_per_s"] for r in recs)
    pred = sum(r["predicted"] for r in recs)
    return {"tokens_per_s": tokens / seconds, "tokens_per_step": tokens / len(recs), "pred_frac": pred / tokens,
            "data_wait_pct": float(np.mean([r["data_wait_pct"] for r in recs]))}


def hf_tokenizer(vocab: int):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    names = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + [f"w{i}" for i in range(5, vocab)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(names)}, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")


def run_hf(tokens: Path, a, warmup: int, tokens_per_step: float) -> dict:
    from transformers import DataCollatorForLanguageModeling, XLMRobertaConfig, XLMRobertaForMaskedLM

    L, d, h, ff = MODEL_SIZES[a.size]
    sampling = json.loads((tokens / "sampling.json").read_text())
    vocab = sampling["tokenizer"]["vocab_size"]
    config = XLMRobertaConfig(vocab_size=vocab, hidden_size=d, num_hidden_layers=L, num_attention_heads=h,
                              intermediate_size=ff, max_position_embeddings=a.seq_len + 2, type_vocab_size=1,
                              layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    device = torch.device(a.device)
    model = XLMRobertaForMaskedLM(config).to(device).train()
    collator = DataCollatorForLanguageModeling(hf_tokenizer(vocab), mlm_probability=0.15, return_tensors="pt")
    examples = []
    for info in sampling["objectives"]["mlm"]["streams"].values():
        for f in info["files"]:
            for row in ipc.open_file(pa.memory_map(str(tokens / f))).read_all().column("input_ids").to_pylist():
                examples.append([0] + row + [2])  # the corpus fits seq_len: nothing to cut
    order = np.random.default_rng(0).permutation(len(examples))
    mean_len = np.mean([len(e) for e in examples])
    per_batch = max(1, round(tokens_per_step / mean_len))  # same real tokens per step as xlmodel
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.98), weight_decay=0.01,
                            fused=device.type == "cuda")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast(
        "cpu", enabled=False)
    n_tok, t_total = 0, 0.0
    for step in range(warmup + a.steps):
        t0 = time.perf_counter()
        idx = order[(step * per_batch) % len(order):][:per_batch]
        batch = collator([{"input_ids": examples[i]} for i in idx])
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            t_total += time.perf_counter() - t0
            n_tok += int(batch["attention_mask"].sum())
    return {"tokens_per_s": n_tok / t_total, "examples_per_step": per_batch}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny model, 4 timed steps")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", default=None, help="tiny | mini | small | base (default: mini on CPU, base on GPU)")
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--seq-len", dest="seq_len", type=int, default=128)
    p.add_argument("--batch-rows", dest="batch_rows", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="timed steps per side")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: stable numbers on a shared machine)")
    p.add_argument("--compile", action="store_true", help="torch.compile xlmodel")
    p.add_argument("--attention", default="auto", choices=["auto", "dense", "nested", "varlen"],
                   help="xlmodel's packed-row attention (auto: nested on CUDA, dense on CPU)")
    p.add_argument("--compare-attention", dest="compare_attention", action="store_true",
                   help="also time xlmodel with the dense block mask and print the ratio to it")
    a = p.parse_args()
    gpu = a.device == "cuda"
    a.size = a.size or ("tiny" if a.quick else "base" if gpu else "mini")
    a.batch_rows = a.batch_rows or (64 if gpu else 8)
    a.steps = a.steps or (4 if a.quick else 30 if gpu else 6)
    warmup = 2 if not gpu else 5
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tokens = write_corpus(Path(tmp), a.vocab, 6000, seq_len=a.seq_len)
        t0 = time.perf_counter()
        ours = run_xlmodel(tokens, Path(tmp) / "run", a, warmup)
        t1 = time.perf_counter()
        hf = run_hf(tokens, a, warmup, ours["tokens_per_step"])
        t2 = time.perf_counter()
        dense = None
        if a.compare_attention:
            chosen, a.attention = a.attention, "dense"
            dense = run_xlmodel(tokens, Path(tmp) / "run_dense", a, warmup)
            a.attention = chosen
    print(f"device {a.device}  size {a.size}  vocab {a.vocab}  seq_len {a.seq_len}  rows {a.batch_rows}  "
          f"timed steps {a.steps} (+{warmup} warm-up)  threads {a.threads}")
    print(f"xlmodel : {ours['tokens_per_s']:10.0f} tok/s  ({ours['tokens_per_step']:.0f} tokens/step packed, "
          f"{100 * ours['pred_frac']:.1f}% predicted, data wait {ours['data_wait_pct']:.1f}%)  [{t1 - t0:.0f}s]")
    print(f"HF      : {hf['tokens_per_s']:10.0f} tok/s  ({hf['examples_per_step']} padded examples/step, "
          f"XLMRobertaForMaskedLM + DataCollatorForLanguageModeling)  [{t2 - t1:.0f}s]")
    print(f"ratio xlmodel / HF = {ours['tokens_per_s'] / hf['tokens_per_s']:.2f}x  (xlmodel attention: {a.attention})")
    if dense is not None:
        print(f"ratio xlmodel {a.attention} / xlmodel dense mask = {ours['tokens_per_s'] / dense['tokens_per_s']:.2f}x")
    if gpu:
        L, d, h, ff = MODEL_SIZES[a.size]
        c = ModelConfig(vocab_size=a.vocab, n_layers=L, d_model=d, n_heads=h, d_ff=ff)
        peak = device_peak_flops(torch.cuda.get_device_name())
        m = mfu(c, a.seq_len, ours["pred_frac"], ours["tokens_per_s"], peak)
        print(f"MFU xlmodel ({torch.cuda.get_device_name()}): " + (f"{100 * m:.1f}%" if m else "unknown peak"))


if __name__ == "__main__":
    main()
