"""Export to Hugging Face `XLMRobertaForMaskedLM` (+ the tokenizer files) with save_pretrained.

The encoder is XLM-R's post-LN layout, so the mapping is one to one except:
- q/k/v are one fused matrix here, three in HF;
- HF position ids start at padding_idx + 1 = 2, so our position p is HF row p + 2 (rows 0-1 unused);
- HF has a token-type embedding (one type) that we do not: it is exported as zeros.
Language embeddings have no counterpart in XLM-R: a model trained with them is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from xlmodel.model import Encoder


def hf_config(model: Encoder, bos_id: int = 0, eos_id: int = 2):
    from transformers import XLMRobertaConfig

    c = model.config
    return XLMRobertaConfig(
        vocab_size=c.vocab_size, hidden_size=c.d_model, num_hidden_layers=c.n_layers,
        num_attention_heads=c.n_heads, intermediate_size=c.d_ff, hidden_act="gelu",
        hidden_dropout_prob=c.dropout, attention_probs_dropout_prob=c.dropout,
        max_position_embeddings=c.max_positions + c.pad_id + 1, type_vocab_size=1, layer_norm_eps=c.ln_eps,
        pad_token_id=c.pad_id, bos_token_id=bos_id, eos_token_id=eos_id, tie_word_embeddings=True)


def hf_state_dict(model: Encoder) -> dict[str, torch.Tensor]:
    c = model.config
    if model.lang is not None:
        raise ValueError("this model uses language embeddings, which XLMRobertaForMaskedLM lacks: "
                         "train with lang_embeddings: false to export")
    sd = {k: v.detach().cpu().float() for k, v in model.state_dict().items()}
    d, off = c.d_model, c.pad_id + 1
    pos = torch.zeros(c.max_positions + off, d)
    pos[off:] = sd["pos.weight"]
    out = {
        "roberta.embeddings.word_embeddings.weight": sd["tok.weight"],
        "roberta.embeddings.position_embeddings.weight": pos,
        "roberta.embeddings.token_type_embeddings.weight": torch.zeros(1, d),
        "roberta.embeddings.LayerNorm.weight": sd["ln_emb.weight"],
        "roberta.embeddings.LayerNorm.bias": sd["ln_emb.bias"],
        "lm_head.dense.weight": sd["head_dense.weight"],
        "lm_head.dense.bias": sd["head_dense.bias"],
        "lm_head.layer_norm.weight": sd["head_ln.weight"],
        "lm_head.layer_norm.bias": sd["head_ln.bias"],
        "lm_head.decoder.weight": sd["tok.weight"],
        "lm_head.decoder.bias": sd["head_bias"],
        "lm_head.bias": sd["head_bias"],
    }
    for i in range(c.n_layers):
        p, h = f"blocks.{i}.", f"roberta.encoder.layer.{i}."
        for j, name in enumerate(("query", "key", "value")):
            out[h + f"attention.self.{name}.weight"] = sd[p + "qkv.weight"][j * d:(j + 1) * d]
            out[h + f"attention.self.{name}.bias"] = sd[p + "qkv.bias"][j * d:(j + 1) * d]
        pairs = {"attention.output.dense": "attn_out", "attention.output.LayerNorm": "ln1",
                 "intermediate.dense": "ff_in", "output.dense": "ff_out", "output.LayerNorm": "ln2"}
        for hf_name, ours in pairs.items():
            out[h + hf_name + ".weight"] = sd[p + ours + ".weight"]
            out[h + hf_name + ".bias"] = sd[p + ours + ".bias"]
    return {k: v.clone().contiguous() for k, v in out.items()}


def export_hf(model: Encoder, out_dir: str | Path, tokenizer_dir: str | Path | None = None,
              bos_id: int = 0, eos_id: int = 2) -> Path:
    """Write an HF model folder (config + safetensors) and copy the tokenizer files when given."""
    from transformers import XLMRobertaForMaskedLM

    out = Path(out_dir)
    hf = XLMRobertaForMaskedLM(hf_config(model, bos_id, eos_id))
    missing, unexpected = hf.load_state_dict(hf_state_dict(model), strict=False)
    # Only the tied decoder weight may be reported (it aliases the word embeddings).
    bad = [k for k in missing if k != "lm_head.decoder.weight"] + list(unexpected)
    if bad:
        raise RuntimeError(f"export mapping incomplete: {bad}")
    hf.eval().save_pretrained(str(out))
    if tokenizer_dir is not None:
        for f in sorted(Path(tokenizer_dir).iterdir()):
            if f.is_file():
                shutil.copy2(f, out / f.name)
    return out
