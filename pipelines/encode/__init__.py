"""The encode stage's building blocks: text products → token examples (TOKENS) → Arrow shards."""
