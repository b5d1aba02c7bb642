"""An XLM-R-style encoder in plain torch.

Post-LayerNorm like BERT/XLM-R (LN after each residual add), so the weights map one to one onto
Hugging Face `XLMRobertaForMaskedLM` (see export.py). Learned absolute positions (0-based here; HF
adds padding_idx + 1 = 2), exact-erf GELU, LN eps 1e-5, tied input/output embeddings.
The MLM head is sparse: only the predicted positions go through the vocabulary projection, which
is most of the FLOPs of a small model with a 250k vocabulary.

Attention over packed rows (several examples per row, told apart by doc_ids), two layouts:
- dense: [rows, T] with a block-diagonal boolean mask. Any device; SDPA cannot use its flash kernel
  with an arbitrary mask, and every row attends over all T positions.
- unpadded ("nested" / "varlen"): padding removed once after the embeddings, every layer works on
  the [tokens, d] matrix, and attention runs per example from the examples' offsets — a jagged
  nested tensor through SDPA ("nested", any device; flash / memory-efficient kernels on CUDA) or
  torch.nn.attention.varlen.varlen_attn ("varlen", flash on CUDA only, no attention dropout). The
  output is scattered back to [rows, T], so the caller sees the same tensors in every layout.
`attention` is a run-time choice, not part of the weights (checkpoints and the HF export are the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from xlmodel.config import MODEL_SIZES


@dataclass
class ModelConfig:
    vocab_size: int
    n_layers: int = 2
    d_model: int = 64
    n_heads: int = 2
    d_ff: int = 256
    max_positions: int = 512
    dropout: float = 0.1
    n_langs: int = 0  # > 0: XLM-style language embeddings
    pad_id: int = 1
    ln_eps: float = 1e-5

    @classmethod
    def from_size(cls, size: str, vocab_size: int, **kw) -> ModelConfig:
        layers, d, heads, ff = MODEL_SIZES[size]
        return cls(vocab_size=vocab_size, n_layers=layers, d_model=d, n_heads=heads, d_ff=ff, **kw)

    def non_embedding_params(self) -> int:
        d, f, L = self.d_model, self.d_ff, self.n_layers
        per_layer = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
        return L * per_layer + d * d + d + 2 * d  # + MLM head transform


class Unpadded(NamedTuple):
    """Where the real tokens of a packed batch are: flat positions and per-example offsets."""
    index: torch.Tensor  # [N] int64 positions of non-padding tokens in the flattened [rows * T]
    offsets: torch.Tensor  # [n_examples + 1] int64: example e is tokens offsets[e]:offsets[e + 1] of index
    max_len: int  # longest example


def unpadded_layout(doc_ids: torch.Tensor) -> Unpadded:
    """Layout of a packed batch from its doc_ids (examples are contiguous runs of one doc id, padding 0)."""
    flat = doc_ids.reshape(-1)
    index = torch.nonzero(flat > 0).squeeze(1)
    d = flat.index_select(0, index)
    starts = torch.ones_like(d, dtype=torch.bool)
    starts[1:] = d[1:] != d[:-1]
    offsets = torch.cat([torch.nonzero(starts).squeeze(1), torch.tensor([len(d)], device=d.device)])
    max_len = int((offsets[1:] - offsets[:-1]).max()) if len(offsets) > 1 else 0
    return Unpadded(index, offsets, max_len)


def _nested_attention(qkv: torch.Tensor, lay: Unpadded, n_heads: int, dropout_p: float) -> torch.Tensor:
    N, three_d = qkv.shape
    d = three_d // 3
    q, k, v = qkv.view(N, 3, n_heads, d // n_heads).unbind(1)  # each [N, H, Dh]
    # contiguous: SDPA's jagged kernels need each of q, k, v dense in memory, not views into qkv
    jag = [torch.nested.nested_tensor_from_jagged(x.contiguous(), lay.offsets, max_seqlen=lay.max_len).transpose(1, 2)
           for x in (q, k, v)]  # [n_examples, H, j, Dh]
    a = F.scaled_dot_product_attention(*jag, dropout_p=dropout_p)
    return a.transpose(1, 2).values().reshape(N, d)


def _varlen_attention(qkv: torch.Tensor, lay: Unpadded, n_heads: int) -> torch.Tensor:
    from torch.nn.attention.varlen import varlen_attn

    N, three_d = qkv.shape
    d = three_d // 3
    q, k, v = qkv.view(N, 3, n_heads, d // n_heads).unbind(1)
    cu = lay.offsets.to(torch.int32)
    return varlen_attn(q, k, v, cu, cu, lay.max_len, lay.max_len).reshape(N, d)


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.n_heads = c.n_heads
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)  # one matmul for q, k, v
        self.attn_out = nn.Linear(c.d_model, c.d_model)
        self.ln1 = nn.LayerNorm(c.d_model, eps=c.ln_eps)
        self.ff_in = nn.Linear(c.d_model, c.d_ff)
        self.ff_out = nn.Linear(c.d_ff, c.d_model)
        self.ln2 = nn.LayerNorm(c.d_model, eps=c.ln_eps)
        self.drop = nn.Dropout(c.dropout)
        self.p_attn = c.dropout

    def attend(self, x: torch.Tensor, mask: torch.Tensor | None, lay: Unpadded | None, mode: str) -> torch.Tensor:
        p = self.p_attn if self.training else 0.0
        if mode == "dense":
            B, T, D = x.shape
            q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            return a.transpose(1, 2).reshape(B, T, D)
        if mode == "nested":
            return _nested_attention(self.qkv(x), lay, self.n_heads, p)
        return _varlen_attention(self.qkv(x), lay, self.n_heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, lay: Unpadded | None = None,
                mode: str = "dense") -> torch.Tensor:
        """x: [B, T, d] (dense) or [N, d] (unpadded)."""
        a = self.attend(x, mask, lay, mode)
        x = self.ln1(x + self.drop(self.attn_out(a)))
        return self.ln2(x + self.drop(self.ff_out(F.gelu(self.ff_in(x)))))


class Encoder(nn.Module):
    def __init__(self, c: ModelConfig, attention: str = "dense"):
        super().__init__()
        self.config = c
        self.attention = attention  # dense | nested | varlen (see the module doc)
        self.tok = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Embedding(c.max_positions, c.d_model)
        self.lang = nn.Embedding(c.n_langs, c.d_model) if c.n_langs > 0 else None
        self.ln_emb = nn.LayerNorm(c.d_model, eps=c.ln_eps)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        # MLM head: transform, then the (tied) embedding matrix as the output projection.
        self.head_dense = nn.Linear(c.d_model, c.d_model)
        self.head_ln = nn.LayerNorm(c.d_model, eps=c.ln_eps)
        self.head_bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    @staticmethod
    def attention_mask(doc_ids: torch.Tensor) -> torch.Tensor:
        """[B, 1, T, T] bool: a token sees the tokens of its own packed example only (padding sees padding)."""
        return (doc_ids[:, None, :, None] == doc_ids[:, None, None, :])

    def encode(self, input_ids: torch.Tensor, position_ids: torch.Tensor, doc_ids: torch.Tensor,
               lang_ids: torch.Tensor | None = None, all_layers: bool = False, n_layers: int | None = None,
               layout: Unpadded | None = None):
        """Hidden states [B, T, d] of the last layer run (n_layers: stop after that many blocks), or the
        list of every layer's (embeddings first) with all_layers. Padding positions hold zeros in the
        unpadded layouts and whatever the dense path computes there otherwise: never read them."""
        x = self.tok(input_ids) + self.pos(position_ids)
        if self.lang is not None:
            if lang_ids is None:
                raise ValueError("this model has language embeddings: pass lang_ids")
            x = x + self.lang(lang_ids.clamp_min(0))
        x = self.drop(self.ln_emb(x))
        blocks = self.blocks if n_layers is None else self.blocks[:n_layers]
        if self.attention == "dense":
            mask = self.attention_mask(doc_ids)
            layers = [x]
            for block in blocks:
                x = block(x, mask)
                if all_layers:
                    layers.append(x)
            return layers if all_layers else x
        B, T, D = x.shape
        lay = layout if layout is not None else unpadded_layout(doc_ids)

        def repad(h: torch.Tensor) -> torch.Tensor:
            return h.new_zeros(B * T, D).index_copy(0, lay.index, h).view(B, T, D)

        h = x.reshape(B * T, D).index_select(0, lay.index)
        layers = [repad(h)] if all_layers else []
        for block in blocks:
            h = block(h, None, lay, self.attention)
            if all_layers:
                layers.append(repad(h))
        return layers if all_layers else repad(h)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of the given hidden states [N, d] (only the predicted positions)."""
        h = self.head_ln(F.gelu(self.head_dense(hidden)))
        return F.linear(h, self.tok.weight, self.head_bias)

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor, doc_ids: torch.Tensor,
                pred_index: torch.Tensor, labels: torch.Tensor, lang_ids: torch.Tensor | None = None,
                layout: Unpadded | None = None, xlco=None, xlco_layer: int = 0, xlco_pooling: str = "mean"):
        """Per-predicted-token cross-entropy [N] (fp32); pred_index indexes the flattened [B*T] positions.
        With `xlco` (batches.Sentences) also the pooled vectors of those sentences at xlco_layer, so one
        forward call (what DDP wraps) covers both objectives: returns (losses, vectors)."""
        h = self.encode(input_ids, position_ids, doc_ids, lang_ids, layout=layout)
        logits = self.mlm_logits(h.flatten(0, 1).index_select(0, pred_index))
        losses = F.cross_entropy(logits.float(), labels, reduction="none")
        if xlco is None:
            return losses
        hx = self.encode(xlco.input_ids, xlco.position_ids, xlco.doc_ids,
                         xlco.lang_ids if self.lang is not None else None, n_layers=xlco_layer, layout=xlco.layout)
        return losses, pooled(hx, xlco.doc_ids, xlco.content, xlco.n, xlco_pooling)

def pooled(h: torch.Tensor, doc_ids: torch.Tensor, content: torch.Tensor, n_examples: int,
           pooling: str = "mean") -> torch.Tensor:
    """One vector per packed example [n_examples, d]: the mean of its content tokens (`content` is
    False on special tokens and padding) or its first token (<s>, "cls"). Examples are numbered 1…n
    by doc_ids, in packing order."""
    d = h.shape[-1]
    flat_h, flat_doc = h.reshape(-1, d).float(), doc_ids.reshape(-1).long()
    if pooling == "cls":
        first = torch.ones_like(flat_doc, dtype=torch.bool)
        first[1:] = flat_doc[1:] != flat_doc[:-1]
        first &= flat_doc > 0
        # first-fit packing does not place examples in doc-id order: index by doc id, not by position
        return flat_h.new_zeros(n_examples + 1, d).index_copy(0, flat_doc[first], flat_h[first])[1:]
    w = content.reshape(-1).to(flat_h.dtype)
    sums = flat_h.new_zeros(n_examples + 1, d).index_add_(0, flat_doc, flat_h * w[:, None])
    counts = flat_h.new_zeros(n_examples + 1).index_add_(0, flat_doc, w)
    return sums[1:] / counts[1:, None].clamp_min(1.0)
