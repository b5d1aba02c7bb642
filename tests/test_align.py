"""Word alignment: grow-diag-final-and, eflomal on a planted alignment (AER), reproducibility,
length limits, and batched simalign == simalign's own per-pair call on a tiny local random BERT."""

from __future__ import annotations

import pytest

from flows.demo.parallel import clean_pairs
from pipelines.parallel.align import EflomalAligner, SimAligner
from pipelines.parallel.eflomal_run import MAX_TOKENS, EflomalParams, run_eflomal
from pipelines.parallel.simalign_batched import METHODS, SimAlignParams
from pipelines.parallel.symmetrize import grow_diag_final_and, parse_pharaoh
from pipelines.parallel.tokenize import word_tokens


def test_grow_diag_final_and_hand_made_case():
    # src: 0 1 2 3 4 ; tgt: 0 1 2 3 4
    fwd = [(0, 0), (1, 1), (2, 1), (3, 3)]
    rev = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 3), (4, 4)]
    # intersection: (0,0) (1,1) (3,3)
    # grow-diag: (2,1) neighbours (1,1) and src 2 is unaligned -> added; (2,2) neighbours (1,1)/(3,3) and tgt 2
    #   is unaligned -> added; (4,3) neighbours (3,3), src 4 unaligned -> added; (4,4) neighbours (3,3) diag,
    #   tgt 4 unaligned -> added.
    assert grow_diag_final_and(fwd, rev) == [(0, 0), (1, 1), (2, 1), (2, 2), (3, 3), (4, 3), (4, 4)]


def test_grow_diag_final_and_final_step_needs_both_words_unaligned():
    # (3,0) is not adjacent to any intersection link; final-and adds it only while both words are unaligned.
    fwd = [(0, 2), (3, 0)]
    rev = [(0, 2), (1, 0)]
    # grow-diag adds nothing ((1,0) and (3,0) are not neighbours of (0,2)); final-and: forward (3,0) first
    # (src 3 and tgt 0 unaligned) -> added; then reverse (1,0): tgt 0 now aligned -> not added.
    assert grow_diag_final_and(fwd, rev) == [(0, 2), (3, 0)]
    assert parse_pharaoh("0-0 3-12") == [(0, 0), (3, 12)]


def planted_corpus(n_combined: int):
    """Real English sentences → a pseudo-language by a bijective word map + swapping adjacent words."""
    src = [word_tokens(s.lower())[0] for s, _ in clean_pairs("eng", "deu", n_combined=n_combined)]
    pseudo = {w: f"w{i:04d}" for i, w in enumerate(sorted({w for s in src for w in s}))}
    pairs, gold = [], []
    for s in src:
        pos = list(range(len(s)))
        for k in range(0, len(s) - 1, 2):
            pos[k], pos[k + 1] = pos[k + 1], pos[k]
        tgt = [""] * len(s)
        for i, w in enumerate(s):
            tgt[pos[i]] = pseudo[w]
        pairs.append((s, tgt))
        gold.append({(i, pos[i]) for i in range(len(s))})
    return pairs, gold


def aer(links, gold) -> float:
    a = sum(len(x) for x in links)
    g = sum(len(x) for x in gold)
    both = sum(len(set(x) & y) for x, y in zip(links, gold, strict=True))
    return 1 - 2 * both / (a + g)


def test_eflomal_recovers_planted_alignment_and_is_reproducible():
    pairs, gold = planted_corpus(52)
    aligner = EflomalAligner(EflomalParams(n_samplers=1))
    links = aligner.align(pairs, seed=1)
    assert len(links) == len(pairs) == 100
    assert aer(links, gold) <= 0.10
    assert aligner.align(pairs, seed=1) == links  # same seed → same links (seed shim + one OpenMP thread per direction)


def test_eflomal_seed_changes_the_sampler():
    src = ["the house is small", "the house is big", "a small dog", "the dog is big", "a big house"] * 4
    tgt = ["das haus ist klein", "das haus ist groß", "ein kleiner hund", "der hund ist groß", "ein großes haus"] * 4
    params = EflomalParams(model=1, n_samplers=1, rel_iterations=0.01)
    runs = {str(run_eflomal(src, tgt, params, seed)) for seed in range(6)}
    assert len(runs) > 1  # the seed reaches eflomal's RNG (otherwise all runs would come from /dev/urandom alike)
    assert run_eflomal(src, tgt, params, 3) == run_eflomal(src, tgt, params, 3)


def test_eflomal_length_limit_is_explicit():
    aligner = EflomalAligner(EflomalParams())
    assert aligner.over_limit(["a"] * MAX_TOKENS, ["b"] * 3) is None
    assert "limit of 1023" in aligner.over_limit(["a"] * (MAX_TOKENS + 1), ["b"] * 3)
    with pytest.raises(ValueError, match="1024 tokens"):
        run_eflomal([" ".join(["a"] * 1024)], ["b"], EflomalParams(), 1)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import torch

    from tests.random_bert import make_random_bert

    torch.set_num_threads(1)  # many tiny forward passes: extra threads only contend on a shared machine

    words = "the house is small dog das haus ist klein der hund".split()
    return make_random_bert(str(tmp_path_factory.mktemp("bert")), words, layers=4, hidden=32, max_positions=128)


@pytest.mark.parametrize("method,layer", [("inter", 2), ("itermax", 4), ("inter", 0)])
def test_batched_simalign_equals_simalign_per_pair(tiny_bert, method, layer):
    """Our cut, batched encoder gives simalign's own per-pair links (full model, one pair per pass)."""
    from simalign import SentenceAligner

    # batches of at most 8 sentences / 160 padded positions: several batches of several lengths
    aligner = SimAligner(SimAlignParams(model_path=tiny_bert, layer=layer, method=method, batch_size=8,
                                        max_batch_tokens=160))
    assert aligner.impl.layers_run == layer  # only the layers up to the one read are run
    assert len(aligner.impl.model.encoder.layer) == layer
    pairs = [(word_tokens(s)[0], word_tokens(t)[0]) for s, t in clean_pairs("eng", "deu", n_combined=0)[:20]]
    pairs = [(s, t) for s, t in pairs if aligner.over_limit(s, t) is None]
    assert len(pairs) >= 12
    pairs += [(pairs[0][0], pairs[1][1]), pairs[2]]  # sentences seen twice are embedded once
    # several words split into subwords: the subword → word mapping is exercised
    assert any(aligner.impl.n_pieces(w) > 1 for s, _ in pairs for w in s)
    lengths = [sum(aligner.impl.n_pieces(w) for w in s) for s, _ in pairs]
    batches = aligner.impl.batches(lengths)
    assert len(batches) > 2 and all(len(b) <= 8 and len(b) * (lengths[b[-1]] + 2) <= 160 for b in batches)
    batched = aligner.align(pairs, seed=0)
    reference = SentenceAligner(model=tiny_bert, token_type="bpe", matching_methods=METHODS[method], layer=layer)
    per_pair = [[tuple(x) for x in reference.get_word_aligns(s, t)[method]] for s, t in pairs]
    assert batched == per_pair
    assert all(links for links in batched)


def test_simalign_setup_errors_are_clear(tiny_bert):
    from pipelines.parallel.simalign_batched import SimAlignSetupError

    with pytest.raises(SimAlignSetupError, match="layer 9 > the model's 4 layers"):
        SimAligner(SimAlignParams(model_path=tiny_bert, layer=9))
    with pytest.raises(SimAlignSetupError, match="dtype"):
        SimAligner(SimAlignParams(model_path=tiny_bert, layer=2, dtype="int8"))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(SimAlignSetupError, match="no CUDA device"):
            SimAligner(SimAlignParams(model_path=tiny_bert, layer=2, device="cuda"))


def test_simalign_over_length_is_reported_not_truncated(tiny_bert):
    aligner = SimAligner(SimAlignParams(model_path=tiny_bert, layer=2))
    long_side = ["verylongword"] * 11  # 12 subwords each: 132 > the 126-subword limit
    why = aligner.over_limit(long_side, ["haus"])
    assert why is not None and "limit of 126" in why
    assert aligner.over_limit(["the", "house"], ["das", "haus"]) is None


def test_similarity_is_bit_identical_to_simalign():
    import numpy as np
    from simalign import SentenceAligner

    from pipelines.parallel.simalign_batched import similarity

    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.standard_normal((int(rng.integers(1, 30)), 16)).astype(np.float32)
        y = rng.standard_normal((int(rng.integers(1, 30)), 16)).astype(np.float32)
        assert np.array_equal(similarity(x, y), SentenceAligner.get_similarity(x, y))


# --- shared priors (two-pass alignment) ----------------------------------------------------------


def test_prior_counts_are_eflomal_makepriors_statistics():
    """Our per-pair counts, summed, equal eflomal's own calculate_priors (what eflomal-makepriors writes)."""
    import random
    from collections import Counter

    import eflomal

    from pipelines.parallel.priors import pair_prior_counts

    rng = random.Random(5)
    src, tgt, fwd, rev = [], [], [], []
    for _ in range(60):
        s = [rng.choice("ab c d E f g".split()) for _ in range(rng.randint(1, 9))]
        t = [rng.choice("x y Z w v".split()) for _ in range(rng.randint(1, 9))]
        # forward: each target word at most one source word; reverse: each source word at most one target word
        f = sorted((rng.randrange(len(s)), j) for j in range(len(t)) if rng.random() < 0.8)
        r = sorted((i, rng.randrange(len(t))) for i in range(len(s)) if rng.random() < 0.8)
        src.append(s)
        tgt.append(t)
        fwd.append(f)
        rev.append(r)
    ours: Counter = Counter()
    for s, t, f, r in zip(src, tgt, fwd, rev, strict=True):
        ours.update(pair_prior_counts(s, t, f, r))
    pharaoh = lambda links: " ".join(f"{i}-{j}" for i, j in links)  # noqa: E731
    lex, hmmf, hmmr, ferf, ferr = eflomal.calculate_priors(
        [" ".join(s).lower() for s in src], [" ".join(t).lower() for t in tgt], map(pharaoh, fwd), map(pharaoh, rev))
    theirs: Counter = Counter()
    theirs.update({("LEX", a, b, 0): n for (a, b), n in lex.items()})
    theirs.update({("HMMF", "", "", k): n for k, n in hmmf.items()})
    theirs.update({("HMMR", "", "", k): n for k, n in hmmr.items()})
    theirs.update({("FERF", a, "", k): n for (a, k), n in ferf.items()})
    theirs.update({("FERR", "", b, k): n for (b, k), n in ferr.items()})
    assert ours == theirs
    assert {k[0] for k in ours} == {"LEX", "HMMF", "HMMR", "FERF", "FERR"}


def test_chunk_priors_keep_only_what_the_chunk_can_use():
    import pyarrow as pa

    from pipelines.parallel.priors import chunk_priors_lines, file_priors_lines, prior_line

    rows = [("LEX", "haus", "house", 0, 7), ("LEX", "haus", "home", 0, 2), ("LEX", "baum", "tree", 0, 3),
            ("FERF", "haus", "", 1, 9), ("FERF", "baum", "", 2, 1), ("FERR", "", "house", 1, 8),
            ("FERR", "", "tree", 1, 3), ("HMMF", "", "", 1, 40), ("HMMR", "", "", -2, 5)]
    table = pa.table({k: [r[i] for r in rows] for i, k in enumerate(("kind", "src", "tgt", "value", "count"))})
    got = chunk_priors_lines(table, {"haus", "klein"}, {"house", "small"})
    assert got == ["LEX\thaus\thouse\t7", "FERF\thaus\t1\t9", "FERR\thouse\t1\t8", "HMMF\t1\t40", "HMMR\t-2\t5"]
    all_lines = [prior_line(*r) for r in rows]
    assert list(file_priors_lines([x.replace("haus", "Haus") + "\n" for x in all_lines], {"haus"}, {"house"})) == [
        "LEX\tHaus\thouse\t7", "FERF\tHaus\t1\t9", "FERR\thouse\t1\t8", "HMMF\t1\t40", "HMMR\t-2\t5"]


def test_plan_builds_priors_only_for_pairs_of_several_chunks():
    from pipelines.parallel.priors import PriorsSettings, in_sample, plan_for, sample_chunk_of

    s = PriorsSettings(sample_size=300, sample_chunk_size=100)
    assert not plan_for(1000, 1000, s, True).priors  # one chunk: nothing to share
    assert not plan_for(5000, 1000, s, False).priors  # the aligner cannot use built priors
    assert not plan_for(5000, 1000, PriorsSettings(enabled=False), True).priors
    plan = plan_for(3000, 1000, s, True)
    assert (plan.n_chunks, plan.priors, plan.sample_chunks, plan.expected_sample) == (3, True, 3, 300)
    members = [f"p{k}" for k in range(3000) if in_sample(f"p{k}", plan)]
    assert 240 <= len(members) <= 360  # a hash sample of ~10 %
    assert members == [f"p{k}" for k in range(3000) if in_sample(f"p{k}", plan)]  # deterministic
    assert {sample_chunk_of(m, plan) for m in members} == {0, 1, 2}
    small = plan_for(1500, 1000, PriorsSettings(sample_size=200000), True)
    assert all(in_sample(f"p{k}", small) for k in range(1500))  # a pair below sample_size: all of it


def _chunked_aer(aligner, corpus, chunk: int, priors=None) -> float:
    from tests.align_gold import aer

    links = []
    for start in range(0, len(corpus.pairs), chunk):
        links += aligner.align(corpus.pairs[start : start + chunk], seed=start, priors=priors)
    return aer(links, corpus.gold)


def test_shared_priors_bring_chunked_alignment_back_to_one_chunk_quality():
    """On a planted Zipfian gold set, chunks of 300 pairs lose AER to one chunk; priors from pass 1
    (eflomal-makepriors statistics of the one-chunk links) win it back, at a quarter of the iterations."""
    from collections import Counter

    import pyarrow as pa

    from pipelines.parallel.priors import PriorsSettings, chunk_priors_lines, chunk_vocab, pair_prior_counts
    from tests.align_gold import GoldSpec, aer, make_gold

    corpus = make_gold(GoldSpec(n_pairs=1500, vocab=2500, mean_words=10, seed=3))
    aligner = EflomalAligner(EflomalParams(n_samplers=1, rel_iterations=0.5))
    runs = aligner.align_directional(corpus.pairs, seed=1)
    one_chunk = aer([grow_diag_final_and(f, r) for f, r in runs], corpus.gold)
    counts: Counter = Counter()
    for (s, t), (f, r) in zip(corpus.pairs, runs, strict=True):
        counts.update(pair_prior_counts(s, t, f, r))
    table = pa.table({k: [key[i] for key in counts] for i, k in enumerate(("kind", "src", "tgt", "value"))}
                     | {"count": list(counts.values())})

    def with_priors(chunk: int) -> float:
        links = []
        for start in range(0, len(corpus.pairs), chunk):
            part = corpus.pairs[start : start + chunk]
            links += aligner.align(part, seed=start, priors=chunk_priors_lines(table, *chunk_vocab(part)),
                                   iterations_scale=PriorsSettings().iterations_scale)
        return aer(links, corpus.gold)

    chunked, chunked_priors = _chunked_aer(aligner, corpus, 300), with_priors(300)
    assert chunked > one_chunk + 0.03  # chunking costs quality ...
    assert chunked_priors <= one_chunk + 0.01  # ... and shared priors bring it back


def test_a_users_priors_file_steers_the_links_and_a_bad_one_is_named(tmp_path):
    from flows.config import ConfigError, load_config
    from flows.stages.parallel import _check_aligner

    pairs = [(["a", "b", "c"], ["x", "y", "z"])] * 20  # co-occurrence alone cannot tell the words apart
    wanted = [(0, 1), (1, 2), (2, 0)]
    plain = EflomalAligner(EflomalParams(n_samplers=1)).align(pairs, seed=1)
    assert plain[0] != wanted
    priors = tmp_path / "priors.txt"
    priors.write_text("LEX\tA\ty\t1000\nLEX\tb\tz\t1000\nLEX\tc\tX\t1000\nLEX\tunseen\tword\t5\nHMMF\t1\t3\n",
                      encoding="utf-8")
    steered = EflomalAligner(EflomalParams(n_samplers=1, priors_path=str(priors))).align(pairs, seed=1)
    assert all(links == wanted for links in steered)  # the priors (case-folded, cut to the chunk) win
    cfg = load_config(None, {"out": str(tmp_path / "out"), "parallel": {"align": {"eflomal": {"priors_path": str(priors)}}}})
    _check_aligner(cfg)
    priors.write_text("LEX\ta\tz\t1000\nLEX\tc\tx\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"priors.txt line 2: LEX needs 4 tab-separated fields, found 3"):
        _check_aligner(cfg)
