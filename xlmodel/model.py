"""An XLM-R-style encoder in plain torch.

Post-LayerNorm like BERT/XLM-R (LN after each residual add), so the weights map one to one onto
Hugging Face `XLMRobertaForMaskedLM` (see export.py). Learned absolute positions (0-based here; HF
adds padding_idx + 1 = 2), exact-erf GELU, LN eps 1e-5, tied input/output embeddings.
The MLM head is sparse: only the predicted positions go through the vocabulary projection, which
is most of the FLOPs of a small model with a 250k vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.p_attn if self.training else 0.0)
        a = a.transpose(1, 2).reshape(B, T, D)
        x = self.ln1(x + self.drop(self.attn_out(a)))
        return self.ln2(x + self.drop(self.ff_out(F.gelu(self.ff_in(x)))))


class Encoder(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
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
               lang_ids: torch.Tensor | None = None, all_layers: bool = False):
        x = self.tok(input_ids) + self.pos(position_ids)
        if self.lang is not None:
            if lang_ids is None:
                raise ValueError("this model has language embeddings: pass lang_ids")
            x = x + self.lang(lang_ids.clamp_min(0))
        x = self.drop(self.ln_emb(x))
        mask = self.attention_mask(doc_ids)
        layers = [x]
        for block in self.blocks:
            x = block(x, mask)
            if all_layers:
                layers.append(x)
        return layers if all_layers else x

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of the given hidden states [N, d] (only the predicted positions)."""
        h = self.head_ln(F.gelu(self.head_dense(hidden)))
        return F.linear(h, self.tok.weight, self.head_bias)

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor, doc_ids: torch.Tensor,
                pred_index: torch.Tensor, labels: torch.Tensor, lang_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Per-predicted-token cross-entropy [N] (fp32); pred_index indexes the flattened [B*T] positions."""
        h = self.encode(input_ids, position_ids, doc_ids, lang_ids)
        logits = self.mlm_logits(h.flatten(0, 1).index_select(0, pred_index))
        return F.cross_entropy(logits.float(), labels, reduction="none")
