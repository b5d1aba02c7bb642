"""Near-dup building blocks as plain functions (no Beam): shingles, signatures, bands, S-curve, components."""

from __future__ import annotations

import random

import numpy as np
import pytest

from flows.config import load_config
from pipelines.neardup.components import (
    NotConvergedError,
    components_reference,
    large_star,
    small_star,
    star_check,
)
from pipelines.neardup.minhash import (
    EMPTY,
    band_hashes,
    candidate_probability,
    estimated_jaccard,
    exact_jaccard,
    knee,
    permutations,
    signatures,
)
from pipelines.neardup.params import NearDupParams
from pipelines.neardup.shingles import (
    _BASE,
    _C_GRAM,
    _C_LEN,
    batch_shingle_hashes,
    char_mode,
    normalize,
    shingle_hashes,
    shingle_strings,
    text_scripts,
)
from pipelines.neardup.clusters import band_parts, bucket_pairs, collided, sign_texts
from pipelines.scripts import dominant_script

SAMPLES = [
    "The quick brown fox jumps over the lazy dog.",
    "Привет, мир! Как дела у тебя сегодня?",
    "これは日本語のテストです。漢字とひらがな。",
    "中文文本没有空格分隔词语。",
    "ภาษาไทยเป็นภาษาที่ไม่มีช่องว่างระหว่างคำ",
    "한국어 문장은 띄어쓰기를 합니다 漢字",
    "हिन्दी भाषा में लिखा गया पाठ है",
    "مرحبا بالعالم هذا نص عربي",
    "12345 !!! ???",
    "",
    "mixed English 和中文 text with カタカナ",
    "ខ្មែរ ភាសា",
]


def test_normalize_lowercases_strips_punctuation_keeps_marks():
    assert normalize("  Hello,   WORLD!! it's\tfine_ok ") == "hello world it s fine ok"
    # Devanagari vowel signs are marks (Mc/Mn): they stay inside their word
    assert normalize("हिन्दी, भाषा!") == "हिन्दी भाषा"


def test_script_lookup_agrees_with_dominant_script():
    rnd = random.Random(3)
    pool = "".join(SAMPLES)
    mixes = ["".join(rnd.choice(pool) for _ in range(rnd.randint(1, 80))) for _ in range(300)]
    texts = SAMPLES + mixes
    assert text_scripts(texts) == [dominant_script(t) for t in texts]


def test_char_shingles_chosen_by_script():
    assert char_mode(SAMPLES[:8]) == [False, False, True, True, True, False, False, False]
    # Chinese: character 5-grams over the text without punctuation/spaces
    assert shingle_strings("中文文本没有空格", char_ngram=5) == sorted({"中文文本没", "文文本没有", "文本没有空", "本没有空格"})
    assert shingle_strings("one two three four five six", ngram=5) == [
        "one two three four five",
        "two three four five six",
    ]


def test_short_document_is_one_shingle_and_empty_has_none():
    assert shingle_strings("Just three words", ngram=5) == ["just three words"]
    assert shingle_hashes("Just three words!").size == 1
    assert shingle_hashes("just THREE words").tolist() == shingle_hashes("Just three words!").tolist()
    assert shingle_hashes("...").size == 0 and shingle_hashes("").size == 0


def test_hashes_match_strings_and_do_not_depend_on_batch():
    rnd = random.Random(0)
    vocab = [f"w{i}" for i in range(500)]
    texts = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(0, 60))) for _ in range(40)] + SAMPLES
    flat, off = batch_shingle_hashes(texts, seed=7)
    for i, t in enumerate(texts):
        alone = shingle_hashes(t, seed=7)
        assert np.array_equal(np.unique(flat[off[i] : off[i + 1]]), alone)
        assert alone.size == len(shingle_strings(t))  # one hash per distinct shingle: no collision
    # word order matters; the seed changes every hash
    assert not np.array_equal(shingle_hashes("a b c d e f"), shingle_hashes("b a c d e f"))
    assert not np.intersect1d(shingle_hashes(texts[0], seed=1), shingle_hashes(texts[0], seed=2)).size


M64 = 2**64 - 1


def _mix(x: int) -> int:  # splitmix64 finalizer on a Python int
    x ^= x >> 30
    x = x * 0xBF58476D1CE4E5B9 & M64
    x ^= x >> 27
    x = x * 0x94D049BB133111EB & M64
    return x ^ x >> 31


def _ref_shingle_hashes(text: str, ngram: int = 5, char_ngram: int = 5, seed: int = 0) -> list[int]:
    # the definition, one token and one shingle at a time (reference only), from the string tokens
    norm = normalize(text)
    if not norm:
        return []
    toks, n = (list(norm.replace(" ", "")), char_ngram) if char_mode([text])[0] else (norm.split(" "), ngram)
    b = int(_BASE)
    t = [
        _mix(((sum(ord(c) * b**k for k, c in enumerate(tok)) + len(tok) * int(_C_LEN)) & M64) ^ seed)
        for tok in toks
    ]
    w = [_mix((j + 1) * int(_C_GRAM) & M64) | 1 for j in range(n)]
    k = min(n, len(t))
    return sorted(
        {_mix((sum(t[i + j] * w[j] for j in range(k)) & M64) ^ seed ^ k) for i in range(len(t) - k + 1)}
    )


def test_hashes_equal_per_token_definition():
    rnd = random.Random(2)
    pool = "".join(SAMPLES) + "ΟΔΟΣ οδός İstanbul ÀÉÎ ß ǅ x²³ 𝒜𝔅 😀"
    mixes = ["".join(rnd.choice(pool) for _ in range(rnd.randint(1, 120))) for _ in range(150)]
    for t in SAMPLES + mixes:
        for seed, n in ((0, 5), (12345, 3), (2**64 - 1, 1)):
            assert shingle_hashes(t, n, n, seed).tolist() == _ref_shingle_hashes(t, n, n, seed), (t, seed, n)


def test_no_token_hash_collision_among_short_words():
    # every word of 1-4 letters over a small mixed alphabet (anagrams included), one shingle per word
    alphabet = "aeiouzжяé中"
    words = list(alphabet)
    for k in range(1, 4):
        words += [w + c for w in words[-(len(alphabet) ** k) :] for c in alphabet]
    flat, _off = batch_shingle_hashes([" ".join(words)], ngram=1)
    assert flat.size == len(words) == np.unique(flat).size


def _loop_minhash(hashes: np.ndarray, a: np.ndarray, c: np.ndarray) -> list[int]:
    # the definition, one permutation at a time (reference only): 64-bit hash folded to 32 bits
    folded = [(int(x) ^ (int(x) >> 32)) % 2**32 for x in hashes]
    return [min((x * int(ai) + int(ci)) % 2**32 for x in folded) for ai, ci in zip(a, c, strict=True)]


def test_signatures_vectorized_equal_definition_and_deterministic():
    texts = ["alpha beta gamma delta epsilon zeta eta theta", "", "x", "一二三四五六七八九十"] * 3
    flat, off = batch_shingle_hashes(texts)
    perm = permutations(16, seed=5)
    sig = signatures(flat, off, perm)
    assert sig.dtype == np.uint32 and sig.shape == (12, 16)
    for i in range(12):
        h = flat[off[i] : off[i + 1]]
        if h.size:
            assert sig[i].tolist() == _loop_minhash(h, *perm)
        else:
            assert (sig[i] == EMPTY).all()
    assert np.array_equal(sig, signatures(flat, off, permutations(16, seed=5)))
    assert not np.array_equal(sig[0], signatures(flat, off, permutations(16, seed=6))[0])
    assert (perm[0] & np.uint32(1)).all()  # odd multipliers: each hash is a bijection


def test_document_split_across_blocks(monkeypatch):
    import pipelines.neardup.minhash as mh

    flat, off = batch_shingle_hashes([" ".join(f"t{i}" for i in range(300)), "a b c d e f g"])
    perm = permutations(8, 1)
    whole = signatures(flat, off, perm)
    monkeypatch.setattr(mh, "_BLOCK_ROWS", 7)
    assert np.array_equal(whole, signatures(flat, off, perm))


def test_estimated_jaccard_tracks_true_jaccard():
    rnd = random.Random(1)
    words = [f"v{rnd.randrange(10**6)}" for _ in range(600)]
    a = " ".join(words)
    b = " ".join(w if rnd.random() > 0.02 else "zz" for w in words)
    sa, sb = shingle_hashes(a), shingle_hashes(b)
    true = exact_jaccard(sa, sb)
    perm = permutations(512, 0)
    sig = signatures(np.r_[sa, sb], np.array([0, sa.size, sa.size + sb.size]), perm)
    assert abs(estimated_jaccard(sig[0], sig[1]) - true) < 0.06
    assert exact_jaccard(sa, sa) == 1.0 and exact_jaccard(sa, shingle_hashes("unrelated words only here")) == 0.0


def test_band_hashes_equal_iff_rows_equal():
    sig = np.arange(2 * 6, dtype=np.uint64).reshape(2, 6)
    sig[1, :3] = sig[0, :3]  # band 0 equal, band 1 differs
    h = band_hashes(sig, bands=2, rows=3)
    assert h.shape == (2, 2) and h[0, 0] == h[1, 0] and h[0, 1] != h[1, 1]
    swapped = sig.copy()
    swapped[0, [0, 1]] = swapped[0, [1, 0]]
    assert band_hashes(swapped, 2, 3)[0, 0] != h[0, 0]  # order within a band matters


def test_s_curve_numbers():
    assert knee(14, 8) == pytest.approx(0.7190, abs=1e-4)
    got = [round(candidate_probability(s, 14, 8), 3) for s in (0.5, 0.6, 0.7, 0.8, 0.9)]
    assert got == [0.053, 0.211, 0.565, 0.924, 1.0]
    assert candidate_probability(0.0, 14, 8) == 0.0 and candidate_probability(1.0, 14, 8) == 1.0


def test_sign_texts_payloads_and_empty_docs():
    p = NearDupParams(bands=4, rows=2, verify="exact")
    keys, has, payload = sign_texts(["one two three four five six", "!!"], p, permutations(p.num_perm, p.seed))
    assert keys.shape == (2, 4) and len(set(keys[0].tolist())) == 4  # one bucket per band, bands apart
    assert has.tolist() == [True, False]  # a document without shingles gets no bucket
    assert np.frombuffer(payload[0], np.uint64).size == 2  # exact: the sorted unique shingle hashes


def test_collided_buckets_route_members_to_their_units():
    p = NearDupParams(bands=4, rows=2, verify="estimated")
    perm = permutations(p.num_perm, p.seed)
    text = "one two three four five six seven eight"
    keys, _, _ = sign_texts([text, text, "something else entirely here now"], p, perm)
    parts = [kv[1] for kv in band_parts("u1", keys[:2], np.array([0, 1]), 1)]
    parts += [kv[1] for kv in band_parts("u2", keys[1:], np.array([5, 6]), 1)]
    members = sorted(collided(parts))
    # docs 0 and 1 of u1 and doc 5 of u2 are the same text: every band collides, four buckets each
    assert [(u, i) for u, (_, i) in members].count(("u1", 0)) == 4
    assert {(u, i) for u, (_, i) in members} == {("u1", 0), ("u1", 1), ("u2", 5)}


def test_bucket_pairs_all_pairs_or_star():
    def m(*names):
        return [((0, n, "u", 0), b"") for n in names]

    assert list(bucket_pairs(m("a"), 5, "none", 0.7)) == []
    assert sorted(e for e, _ in bucket_pairs(m("c", "a", "b"), 5, "none", 0.7)) == [
        (m("b")[0][0], m("a")[0][0]), (m("c")[0][0], m("a")[0][0]), (m("c")[0][0], m("b")[0][0])]
    star = [e for e, ok in bucket_pairs(m("c", "a", "b", "a"), 2, "none", 0.7) if ok]
    assert star == [(m("b")[0][0], m("a")[0][0]), (m("c")[0][0], m("a")[0][0])]


def test_star_steps():
    assert large_star(3, [1, 5, 7]) == ([(5, 1), (7, 1)], 2)
    assert large_star(1, [5, 7]) == ([(5, 1), (7, 1)], 0)
    assert small_star(9, [4, 2]) == ([(4, 2), (9, 2)], 1)
    assert small_star(9, [2]) == ([(9, 2)], 0)
    assert star_check(1, [("c", 5), ("c", 3)]) == ([1, 3, 5], None)
    assert star_check(5, [("p", 1)]) == ([], 1)
    with pytest.raises(NotConvergedError, match="max_rounds"):
        star_check(3, [("p", 1), ("c", 5)])
    with pytest.raises(NotConvergedError, match="max_rounds"):
        star_check(5, [("p", 1), ("p", 2)])


def test_components_match_union_find():
    rnd = random.Random(0)
    for _ in range(60):
        n = rnd.randint(2, 80)
        edges = [(rnd.randrange(n), rnd.randrange(n)) for _ in range(rnd.randint(1, 100))]
        edges = [(max(a, b), min(a, b)) for a, b in edges if a != b]
        parent = list(range(n))

        def find(x, parent=parent):
            while parent[x] != x:
                x = parent[x]
            return x

        for a, b in edges:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
        got = components_reference(edges)
        assert got == {v: find(v) for e in edges for v in e}


def test_config_section_to_params():
    cfg = load_config(overrides={"neardup.bands": 20, "neardup.verify": "exact"})
    p = cfg.neardup.to_params()
    assert isinstance(p, NearDupParams) and p.bands == 20 and p.rows == 8 and p.verify == "exact"
    assert p.num_perm == 160 and p.enabled
    with pytest.raises(ValueError):
        NearDupParams(verify="maybe")
