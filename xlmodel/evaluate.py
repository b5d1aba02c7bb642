"""Held-out evaluation: masked-token loss/accuracy per objective and language, and cross-lingual
retrieval (top-1, both directions) on held-out TLM pairs.

Held-out examples are those whose example_id hashes below `holdout_permille` (shards.stable_bucket),
never trained on. Masks come from a fixed seed, so two checkpoints are compared on the same tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from xlmodel.batches import mask_with, to_micro_batch
from xlmodel.checkpoint import atomic_write_text, latest_checkpoint, load_checkpoint
from xlmodel.config import TrainSettings
from xlmodel.model import Encoder, ModelConfig
from xlmodel.packing import Example, PackedBatch, Packer, make_example, single_example
from xlmodel.shards import OBJECTIVE_IDS, OBJECTIVE_NAMES, TokenData, open_tokens

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
def sentence_embeddings(model: Encoder, examples: list[Example], layer: int, rows: int, seq_len: int,
                        pad_id: int, device: torch.device) -> torch.Tensor:
    """Mean-pooled hidden states (content tokens only) of `layer`, one row per example, in order."""
    vecs = []
    for b, _ in pack_in_order(examples, rows, seq_len, pad_id):
        t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        doc = t(b.doc_ids)
        lang = t(b.lang_ids) if model.lang is not None else None
        h = model.encode(t(b.input_ids), t(b.position_ids), doc, lang, all_layers=True)[layer].float()
        weight = (t(b.maskable).float())  # [R, T]: content tokens
        onehot = F.one_hot(doc.long(), b.n_examples + 1)[..., 1:].float() * weight[..., None]  # [R, T, n]
        sums = torch.einsum("rtn,rtd->nd", onehot, h)
        vecs.append(sums / onehot.sum((0, 1))[:, None].clamp_min(1.0))
    return torch.cat(vecs)


def retrieval_eval(model: Encoder, data: TokenData, s: TrainSettings, device: torch.device) -> dict:
    """{pair: {src2tgt, tgt2src, pairs, layer}}: top-1 cosine retrieval among the held-out pairs."""
    layer = s.retrieval_layer if s.retrieval_layer >= 0 else (model.config.n_layers + 1) // 2
    out: dict = {}
    for st in data.streams:
        if st.objective != "tlm":
            continue
        rows = st.eval_rows[: s.eval_max_examples]
        if len(rows) < 2:
            out[st.key] = {"pairs": int(len(rows)), "skipped": "fewer than 2 held-out pairs"}
            continue
        src_ex, tgt_ex = [], []
        for r in rows:
            ids, seg, _ = st.example(int(r))
            for part, lang, dest in ((ids[:seg], st.lang_ids[r], src_ex), (ids[seg:], st.lang2_ids[r], tgt_ex)):
                # each side alone, as a single sentence: <s> side </s>
                dest.append(single_example(part, None, int(lang), OBJECTIVE_IDS["mlm"], data.vocab, s.seq_len - 2))
        a = F.normalize(sentence_embeddings(model, src_ex, layer, s.eval_batch_rows, s.seq_len, data.vocab.pad,
                                            device), dim=-1)
        b = F.normalize(sentence_embeddings(model, tgt_ex, layer, s.eval_batch_rows, s.seq_len, data.vocab.pad,
                                            device), dim=-1)
        sim = a @ b.T
        gold = torch.arange(len(rows), device=sim.device)
        out[st.key] = {"src2tgt": float((sim.argmax(1) == gold).float().mean()),
                       "tgt2src": float((sim.argmax(0) == gold).float().mean()),
                       "pairs": int(len(rows)), "layer": layer}
    return out


def evaluate(model: Encoder, data: TokenData, s: TrainSettings, device: str | torch.device = "cpu") -> dict:
    device = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        return {"masked": masked_eval(model, data, s, device), "retrieval": retrieval_eval(model, data, s, device)}
    finally:
        model.train(was_training)


def evaluate_run(run_dir: str | Path, tokens_dir: str | Path | None = None, device: str = "cpu",
                 write: bool = True) -> dict:
    """Evaluate a run's latest checkpoint on the held-out part of its token data; writes eval.json."""
    model, s, ck = load_model(run_dir, device)
    data = open_tokens(tokens_dir or s.tokens_dir, s.languages, s.holdout_permille)
    if data.languages != ck["languages"]:
        raise ValueError(f"token data languages {data.languages} differ from the run's {ck['languages']}")
    result = {"step": ck["step"], **evaluate(model, data, s, device)}
    if write:
        atomic_write_text(Path(run_dir) / EVAL_FILE, json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result
