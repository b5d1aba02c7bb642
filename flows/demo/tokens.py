"""Demo section for the tokenizer and encode stages: a small vocabulary trained in seconds on the
demo's documents, pairs and code-switched samples, then every product encoded."""

from pathlib import Path


def make_section(data_dir: Path) -> dict:
    return {
        # hard_vocab_limit off: the demo corpus is small, so vocab_size is an upper bound there.
        "tokenizer": {"vocab_size": 2000, "sample_sentences": 20000, "hard_vocab_limit": False},
        # train.seq_len 128 (flows/demo/train.py) holds <s> 126 </s> and <s> 62 </s></s> 62 </s>: nothing is cut
        "encode": {"max_tokens": 126, "tlm_max_tokens_per_side": 62, "target_shard_mb": 1.0},
    }
