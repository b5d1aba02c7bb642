"""A randomly initialized BERT saved as a local model folder, for tests and benchmarks/align.py.

Test and benchmark code only (it lives outside the packages): no model hub is reachable, and the
simalign path needs a model folder. Random weights are fine for what it checks — batched links equal
simalign's per-pair links, and speed at real sizes (benchmarks/align.py builds a 12-layer, 768-wide
one). The vocabulary holds whole words plus single letters and `##` letter pieces, so words outside
it split into several subwords (exercising the subword → word mapping) instead of becoming [UNK].
"""

from __future__ import annotations

import os
import string


def make_random_bert(folder: str, words: list[str], layers: int = 2, hidden: int = 32, heads: int = 2,
                     intermediate: int | None = None, seed: int = 0, max_positions: int = 128) -> str:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    letters = sorted(set(string.ascii_lowercase) | {c for w in words for c in w.lower() if c.isalpha()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.punctuation]
    vocab += sorted({w.lower() for w in words}) + letters + [f"##{c}" for c in letters]
    vocab = list(dict.fromkeys(vocab))
    os.makedirs(folder, exist_ok=True)
    vocab_file = os.path.join(folder, "vocab.txt")
    with open(vocab_file, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    # transformers 5: the vocab path must be positional (vocab_file=... is silently ignored)
    tok = BertTokenizerFast(vocab_file, do_lower_case=True, model_max_length=max_positions)
    assert tok.vocab_size == len(vocab), "tokenizer did not load the vocabulary file"
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=intermediate or 2 * hidden, max_position_embeddings=max_positions)
    BertModel(config).eval().save_pretrained(folder)
    return folder
