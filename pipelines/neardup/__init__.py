"""Near-duplicate removal: MinHash LSH with connected components computed in Beam (no single-node step).

shingles.py   normalized text → 64-bit shingle hashes (word or character n-grams, vectorized)
minhash.py    shingle hashes → MinHash signatures (seeded universal hashing, one matrix op) → band keys
components.py plain large-star / small-star steps and the star-forest check
transform.py  the `NearDedup` composite PTransform
"""
