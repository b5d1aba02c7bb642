"""A tiny, randomly initialized BERT saved as a local model folder.

For tests, benchmarks and offline trials of the simalign path: no model hub is needed. The vocabulary
holds whole words plus single letters and `##` letter pieces, so words outside it split into several
subwords (exercising the subword → word mapping) instead of becoming [UNK].
"""

from __future__ import annotations

import os
import string


def make_tiny_bert(folder: str, words: list[str], layers: int = 2, hidden: int = 32, seed: int = 0,
                   max_positions: int = 128) -> str:
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
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=max_positions)
    BertModel(config).eval().save_pretrained(folder)
    return folder
