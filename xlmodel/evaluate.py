"""Held-out evaluation: masked-token loss/accuracy per objective and language, and cross-lingual
retrieval on held-out pairs — the held-out tlm pairs and any held-out parallel files.

Held-out examples are those whose *parent's* hash falls below `holdout_permille`
(shards.holdout_mask): a held-out pair's code-switched samples, or the other blocks of a held-out
document, are never trained on either. Masks come from a fixed seed, so two checkpoints are
compared on the same tokens.

Retrieval: each side alone (`<s> side </s>`), mean-pooled over its content tokens at the chosen
layer (retrieval_layer, -1 = middle) and at the last, cosine, top-1 in both directions. Every
result carries chance (1/N) and the same retrieval by a bag of subword ids (no model), so a reader
sees whether the model beats lexical overlap.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from xlmodel.batches import mask_with, pack_all, to_micro_batch
from xlmodel.checkpoint import atomic_write_text, latest_checkpoint, load_checkpoint
from xlmodel.config import SPECIALS_SINGLE, TrainSettings
from xlmodel.model import Encoder, ModelConfig, pooled
from xlmodel.packing import Example, PackedBatch, Packer, make_example, single_example
from xlmodel.parallel_files import read_parallel
from xlmodel.shards import OBJECTIVE_IDS, OBJECTIVE_NAMES, DataError, TokenData, Vocab, open_tokens
from xlmodel.xlco import resolve_layer

EVAL_FILE = "eval.json"


def pack_in_order(examples: list[Example], rows: int, seq_len: int, pad_id: int) -> list[tuple[PackedBatch, int]]:
    """Pack examples in the given order; returns (batch, index of its first example) pairs."""
    out, packer, first = [], Packer(rows, seq_len, pad_id), 0
    for i, ex in enumerate(examples):
        if not packer.add(ex):
            out.append((packer.b, first))
            packer, first = Packer(rows, seq_len, pad_id), i
            if not packer.add(ex):
                raise ValueError(f"example of {len(ex.ids)} tokens does not fit seq_len {seq_len}")
    if packer.b.n_examples:
        out.append((packer.b, first))
    return out


def load_model(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[Encoder, TrainSettings, dict]:
    """The latest checkpoint of a run as an Encoder in eval mode, with its settings."""
    path = latest_checkpoint(run_dir)
    if path is None:
        raise FileNotFoundError(f"no checkpoint in {Path(run_dir) / 'checkpoints'}: train first")
    ck = load_checkpoint(path, map_location=device)
    model = Encoder(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), TrainSettings.from_dict(ck["settings"]), ck


def _examples(data: TokenData, stream_idx: int, s: TrainSettings) -> list[Example]:
    st = data.streams[stream_idx]
    rows = st.eval_rows[: s.eval_max_examples]
    markers = data.vocab.marker_ids if s.strip_markers else None
    # Fixed TLM direction per example (alternating) so both directions are measured.
    return [make_example(st, int(r), bool(i % 2), data.vocab, s.seq_len, markers) for i, r in enumerate(rows)]


@torch.no_grad()
def masked_eval(model: Encoder, data: TokenData, s: TrainSettings, device: torch.device) -> dict:
    """{objective: {lang: {loss, accuracy, predicted}}} over every stream's held-out examples."""
    n_lang = len(data.languages)
    loss_sum = np.zeros((len(OBJECTIVE_NAMES), n_lang))
    correct = np.zeros_like(loss_sum)
    count = np.zeros_like(loss_sum)
    replacement = data.vocab.replacement_ids()
    for si in range(len(data.streams)):
        batches = pack_in_order(_examples(data, si, s), s.eval_batch_rows, s.seq_len, data.vocab.pad)
        for bi, (b, _) in enumerate(batches):
            rng = np.random.default_rng([s.eval_seed, si, bi])
            masked, labels = mask_with(b, rng, s, data.vocab.mask, replacement)
            mb = to_micro_batch(b, masked, labels).to(device)
            if len(mb.labels) == 0:
                continue
            h = model.encode(mb.input_ids, mb.position_ids, mb.doc_ids,
                             mb.lang_ids if model.lang is not None else None)
            logits = model.mlm_logits(h.flatten(0, 1).index_select(0, mb.pred_index)).float()
            losses = F.cross_entropy(logits, mb.labels, reduction="none").cpu().numpy()
            hit = (logits.argmax(-1) == mb.labels).cpu().numpy()
            o, g = mb.pred_objective.cpu().numpy(), mb.pred_lang.cpu().numpy()
            np.add.at(loss_sum, (o, g), losses)
            np.add.at(correct, (o, g), hit)
            np.add.at(count, (o, g), 1)
    out: dict = {}
    for o, name in enumerate(OBJECTIVE_NAMES):
        for g, lang in enumerate(data.languages):
            if count[o, g] > 0:
                out.setdefault(name, {})[lang] = {"loss": float(loss_sum[o, g] / count[o, g]),
                                                  "accuracy": float(correct[o, g] / count[o, g]),
                                                  "predicted": int(count[o, g])}
    return out


@torch.no_grad()
def sentence_vectors(model: Encoder, examples: list[Example], layers: list[int], seq_len: int, pad_id: int,
                     device: torch.device, rows: int = 32) -> dict[int, torch.Tensor]:
    """Mean-pooled hidden states (content tokens only) of each of `layers`, one row per example, in order."""
    out: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
    for at in range(0, len(examples), rows * 4):  # bounded memory: a few rows' worth of sentences at a time
        b = pack_all(examples[at:at + rows * 4], seq_len, pad_id)
        t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        doc = t(b.doc_ids)
        lang = t(b.lang_ids) if model.lang is not None else None
        hs = model.encode(t(b.input_ids), t(b.position_ids), doc, lang, all_layers=True, n_layers=max(layers))
        for layer in layers:
            out[layer].append(pooled(hs[layer], doc, t(b.maskable), b.n_examples))
    return {layer: torch.cat(v) for layer, v in out.items()}


def top1(sim: torch.Tensor) -> tuple[float, float]:
    """(src→tgt, tgt→src) top-1 accuracy of a [N, N] similarity matrix whose diagonal holds the gold pairs."""
    gold = torch.arange(sim.shape[0], device=sim.device)
    return float((sim.argmax(1) == gold).float().mean()), float((sim.argmax(0) == gold).float().mean())


def bag_of_ids_similarity(src: list[np.ndarray], tgt: list[np.ndarray]) -> torch.Tensor:
    """Cosine between subword-id count vectors: lexical overlap, no model at all (the baseline a model
    must beat: shared names, numbers and subwords already retrieve many translations). Over the ids
    that occur in these sentences only, so the matrices are [N, distinct ids], not [N, vocabulary]."""
    _, inverse = np.unique(np.concatenate(src + tgt).astype(np.int64), return_inverse=True)
    width = int(inverse.max()) + 1 if len(inverse) else 1

    def counts(sides: list[np.ndarray], at: int) -> torch.Tensor:
        m = np.zeros((len(sides), width), dtype=np.float32)
        rows = np.repeat(np.arange(len(sides)), [len(x) for x in sides])
        np.add.at(m, (rows, inverse[at:at + len(rows)]), 1.0)
        return F.normalize(torch.from_numpy(m), dim=-1)

    n_src = sum(len(x) for x in src)
    return counts(src, 0) @ counts(tgt, n_src).T


def retrieval_scores(model: Encoder, src: list[tuple[np.ndarray, int]], tgt: list[tuple[np.ndarray, int]],
                     vocab: Vocab, s: TrainSettings, device: torch.device) -> dict:
    """Top-1 retrieval both directions among N pairs (each side's ids without specials, language index):
    at the chosen layer and the last, the bag-of-subword-ids baseline, and chance (1/N)."""
    layer = resolve_layer(s.retrieval_layer, model.config.n_layers)
    last = model.config.n_layers
    mk = lambda ids, lang: single_example(ids, None, lang, OBJECTIVE_IDS["mlm"], vocab)  # noqa: E731
    vec_a = sentence_vectors(model, [mk(*x) for x in src], sorted({layer, last}), s.seq_len, vocab.pad, device,
                             s.eval_batch_rows)
    vec_b = sentence_vectors(model, [mk(*x) for x in tgt], sorted({layer, last}), s.seq_len, vocab.pad, device,
                             s.eval_batch_rows)
    out = {"pairs": len(src), "chance": 1.0 / len(src), "layer": layer, "last_layer": last}
    for name, li in (("", layer), ("last_", last)):
        sim = F.normalize(vec_a[li], dim=-1) @ F.normalize(vec_b[li], dim=-1).T
        out[f"{name}src2tgt"], out[f"{name}tgt2src"] = top1(sim)
    base = bag_of_ids_similarity([x for x, _ in src], [x for x, _ in tgt])
    out["bag_of_ids_src2tgt"], out["bag_of_ids_tgt2src"] = top1(base)
    best = max(out["src2tgt"] + out["tgt2src"], out["last_src2tgt"] + out["last_tgt2src"]) / 2
    out["margin_over_bag_of_ids"] = best - (out["bag_of_ids_src2tgt"] + out["bag_of_ids_tgt2src"]) / 2
    return out


def retrieval_eval(model: Encoder, data: TokenData, s: TrainSettings, device: torch.device) -> dict:
    """{pair: scores} on the held-out tlm pairs (held out by parent: their code-switched samples too)."""
    out: dict = {}
    for st in data.streams:
        if st.objective != "tlm":
            continue
        rows = st.eval_rows[: s.eval_max_examples]
        extra = {"not_used.over_eval_max_examples": int(len(st.eval_rows) - len(rows))} \
            if len(st.eval_rows) > len(rows) else {}
        if len(rows) < 2:
            out[st.key] = {"pairs": int(len(rows)), "skipped": "fewer than 2 held-out pairs"}
            continue
        src, tgt = [], []
        for r in rows.tolist():
            ids, seg, _ = st.example(r)
            src.append((ids[:seg], int(st.lang_ids[r])))
            tgt.append((ids[seg:], int(st.lang2_ids[r])))
        out[st.key] = {**retrieval_scores(model, src, tgt, data.vocab, s, device), **extra}
    return out


def tokenizer_of(data: TokenData):
    """The run's SentencePiece model (sampling.json tokenizer.model, relative to the tokens folder)."""
    import sentencepiece as spm

    rel = (data.sampling.get("tokenizer") or {}).get("model")
    path = (data.root / rel) if rel else None
    if path is None or not path.is_file():
        raise DataError(f"{data.root / 'sampling.json'}: tokenizer.model {rel!r} is not a file: the eval of parallel "
                        "files needs the SentencePiece model the tokens were encoded with")
    return spm.SentencePieceProcessor(model_file=str(path))


def parallel_eval(model: Encoder, data: TokenData, s: TrainSettings, device: torch.device,
                  paths: list[str]) -> dict:
    """{set: scores} on held-out parallel files (parallel_files.py layouts), tokenized like the corpus.
    Pairs with a side longer than a row, and pairs beyond eval_max_examples, are counted, not used."""
    if not paths:
        return {}
    sp = tokenizer_of(data)
    lang_idx = {lang: i for i, lang in enumerate(data.languages)}
    out: dict = {}
    for path in paths:
        for ps in read_parallel(path, data.languages):
            dropped = {f"dropped.{k}": v for k, v in sorted(ps.dropped.items())}
            encoded = sp.encode([a for a, _ in ps.pairs] + [b for _, b in ps.pairs])
            n = len(ps.pairs)
            src, tgt, too_long = [], [], 0
            for a, b in zip(encoded[:n], encoded[n:], strict=True):
                if max(len(a), len(b)) + SPECIALS_SINGLE > s.seq_len:
                    too_long += 1
                    continue
                src.append((np.asarray(a, dtype=np.int32), lang_idx.get(ps.src_lang, -1)))
                tgt.append((np.asarray(b, dtype=np.int32), lang_idx.get(ps.tgt_lang, -1)))
            if too_long:
                dropped["dropped.too_long"] = too_long
            if len(src) > s.eval_max_examples:
                dropped["not_used.over_eval_max_examples"] = len(src) - s.eval_max_examples
                src, tgt = src[: s.eval_max_examples], tgt[: s.eval_max_examples]
            row = {"read": n + sum(ps.dropped.values()), **dropped}
            if len(src) < 2:
                out[ps.key] = {**row, "pairs": len(src), "skipped": "fewer than 2 usable pairs"}
                continue
            out[ps.key] = {**row, **retrieval_scores(model, src, tgt, data.vocab, s, device)}
    return out


def evaluate(model: Encoder, data: TokenData, s: TrainSettings, device: str | torch.device = "cpu",
             parallel: list[str] | None = None) -> dict:
    device = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        paths = s.eval_parallel if parallel is None else parallel
        return {"masked": masked_eval(model, data, s, device), "retrieval": retrieval_eval(model, data, s, device),
                "retrieval_parallel": parallel_eval(model, data, s, device, paths)}
    finally:
        model.train(was_training)


def evaluate_run(run_dir: str | Path, tokens_dir: str | Path | None = None, device: str = "cpu",
                 write: bool = True, parallel: list[str] | None = None) -> dict:
    """Evaluate a run's latest checkpoint on the held-out part of its token data and on held-out
    parallel files (`parallel`, default: the run's eval_parallel); writes eval.json."""
    model, s, ck = load_model(run_dir, device)
    data = open_tokens(tokens_dir or s.tokens_dir, s.languages, s.holdout_permille)
    if data.languages != ck["languages"]:
        raise ValueError(f"token data languages {data.languages} differ from the run's {ck['languages']}")
    result = {"step": ck["step"], "holdout": {"permille": s.holdout_permille, "split_by": "parent_id"},
              **evaluate(model, data, s, device, parallel)}
    if write:
        atomic_write_text(Path(run_dir) / EVAL_FILE, json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result
