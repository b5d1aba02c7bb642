"""The tokenizer stage's building blocks: smoothed sentence sample, SentencePiece training, HF export."""
