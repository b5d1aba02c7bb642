"""xlmodel data: held out by parent, nothing truncated, schedules, held-out parallel files."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from xlmodel.config import TrainSettings
from xlmodel.packing import ExampleTooLong, check_fits, make_example
from xlmodel.parallel_files import ParallelFileError, read_parallel
from xlmodel.sampler import Sampler
from xlmodel.schedule import mask_rate_at, piecewise, state_at
from xlmodel.shards import DataError, open_tokens
from xlmodel.synthetic import write_synthetic_corpus

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokens_dir(tmp_path_factory):
    # Several code-switched samples per pair, several blocks per document, EntityCS in two languages
    # per sentence: a corpus where a split by example id leaks held-out parents into training.
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_mono=200, n_pairs=60, n_entity=80, n_cs=180,
                                  max_block_tokens=20)


def _parents(st, rows) -> set[str]:
    col = st.table.column("parent_id")
    return {col[int(r)].as_py() for r in rows}


def test_held_out_parents_are_never_trained_on_and_the_example_id_split_would_leak(tokens_dir):
    data = open_tokens(tokens_dir, holdout_permille=200)
    held, trained = set(), set()
    for st in data.streams:
        held |= _parents(st, st.eval_rows)
        trained |= _parents(st, st.train_rows)
    assert len(held) > 20 and not held & trained
    # every example of a held-out parent is held out, in every objective
    for st in data.streams:
        parents = st.table.column("parent_id").to_pylist()
        assert {i for i, p in enumerate(parents) if p in held} == set(st.eval_rows.tolist())
    # The old rule (crc32 of each example's own id) on the same corpus would train on code-switched
    # samples of held-out pairs and on other blocks of held-out documents.
    def rows(objective):
        return [(e, p) for st in data.streams if st.objective == objective
                for e, p in zip(st.table.column("example_id").to_pylist(), st.table.column("parent_id").to_pylist(),
                                strict=True)]

    def old_held(example_id: str) -> bool:
        return zlib.crc32(example_id.encode()) % 1000 < 200

    for parent_objective, derived in (("tlm", "cs"), ("mlm", "mlm")):
        held_parents = {p for e, p in rows(parent_objective) if old_held(e)}
        leaking = [e for e, p in rows(derived) if p in held_parents and not old_held(e)]
        assert leaking, f"the fixture must make the example-id split leak ({derived} of held-out {parent_objective})"


def test_examples_that_do_not_fit_a_row_are_refused_not_cut(tokens_dir):
    data = open_tokens(tokens_dir, holdout_permille=100)
    longest = max(st.max_tokens + (4 if st.objective == "tlm" else 2) for st in data.streams)
    check_fits(data, longest)  # exactly fits: fine
    with pytest.raises(DataError, match=rf"train.seq_len {longest - 1}.*encode.max_tokens"):
        check_fits(data, longest - 1)
    st = next(s for s in data.streams if s.max_tokens + (4 if s.objective == "tlm" else 2) == longest)
    row = next(r for r in range(len(st.table)) if len(st.example(r)[0]) == st.max_tokens)
    with pytest.raises(ExampleTooLong):
        make_example(st, row, False, data.vocab, longest - 1, None)
    assert len(make_example(st, row, False, data.vocab, longest, None).ids) == longest  # whole, not cut


def test_config_check_names_both_fields():
    from flows.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"train.seq_len 128 < encode.max_tokens 254"):
        load_config(None, {"train.seq_len": 128})
    with pytest.raises(ConfigError, match=r"train.seq_len 200 < 2 × encode.tlm_max_tokens_per_side 100"):
        load_config(None, {"train.seq_len": 200, "encode.max_tokens": 190})
    assert load_config(None, {"train.seq_len": 128, "train.tokens_path": "elsewhere"}).train.seq_len == 128
    assert load_config(None, {"train.seq_len": 128, "encode.max_tokens": 126,
                              "encode.tlm_max_tokens_per_side": 62}).train.seq_len == 128


def test_schedules_anneal_alpha_mask_rate_and_languages(tokens_dir, tmp_path):
    assert piecewise([[0.0, 0.7], [1.0, 0.3]], 0.5) == pytest.approx(0.5)
    assert piecewise([[0.2, 0.7], [0.5, 0.5], [0.5, 0.3]], 0.1) == 0.7
    assert piecewise([[0.2, 0.7], [0.5, 0.5], [0.5, 0.3]], 0.5) == 0.3
    data = open_tokens(tokens_dir, holdout_permille=100)
    s = TrainSettings(tokens_dir=str(tokens_dir), run_dir=str(tmp_path), steps=100,
                      alpha_schedule=[[0.0, 1.0], [1.0, 0.0]], mask_rate_schedule=[[0.0, 0.3], [1.0, 0.1]],
                      language_phases=[{"start": 0.0, "languages": ["eng_Latn", "deu_Latn"]},
                                       {"start": 0.5, "languages": ["fra_Latn"]}])
    s.validate()
    sampler = Sampler(data, s)
    mlm = [i for i, st in enumerate(data.streams) if st.objective == "mlm"]
    tokens = np.array([data.streams[i].tokens for i in mlm], dtype=float)
    fra = [j for j, i in enumerate(mlm) if data.streams[i].key == "fra_Latn"]
    early, late = sampler.weights_at(0)[mlm], sampler.weights_at(99)[mlm]
    assert early[fra].sum() == 0 and late[fra].sum() > 0  # fra introduced at half-way
    active = np.ones(len(mlm), bool)
    active[fra] = False
    want = tokens[active] / tokens[active].sum()  # α = 1 at step 0: proportional to tokens
    np.testing.assert_allclose(early[active] / early.sum(), want)
    np.testing.assert_allclose(late / late.sum(), np.full(len(mlm), 1 / len(mlm)), atol=0.03)  # α ≈ 0: uniform
    assert mask_rate_at(s, 0) == pytest.approx(0.3) and mask_rate_at(s, 50) == pytest.approx(0.2)
    assert state_at(s, 60)["languages"] == ["deu_Latn", "eng_Latn", "fra_Latn"]
    # the mask rate reaches the batches
    from xlmodel.batches import BatchMaker

    maker = BatchMaker(data, s)
    frac = [float(len(maker.micro_batch(st, 0).labels)) / maker.micro_batch(st, 0).n_tokens for st in (0, 99)]
    assert frac[0] > 2 * frac[1]
    bad = TrainSettings(tokens_dir=str(tokens_dir), run_dir=str(tmp_path),
                        language_phases=[{"start": 0.0, "languages": ["eng_Latn"]}])
    with pytest.raises(DataError, match="never introduces"):
        Sampler(data, bad)
    with pytest.raises(ValueError, match="alpha_schedule"):
        TrainSettings(alpha_schedule=[[0.5, 0.3], [0.2, 0.7]]).validate()


def test_parallel_files_in_tsv_moses_tatoeba_and_flores_layouts(tmp_path):
    langs = ["deu_Latn", "eng_Latn", "fra_Latn"]
    (tmp_path / "a.deu_Latn-eng_Latn.tsv").write_text("Hallo Welt\tHello world\n\t\nGuten Tag\tGood day\n")
    sets = read_parallel(tmp_path / "a.deu_Latn-eng_Latn.tsv", langs)
    assert [(s.src_lang, s.tgt_lang, len(s.pairs), s.dropped["empty"]) for s in sets] == \
        [("deu_Latn", "eng_Latn", 2, 1)]
    tat = tmp_path / "tatoeba"
    tat.mkdir()
    (tat / "tatoeba.fra-eng.fra").write_text("bonjour\nmerci\n")
    (tat / "tatoeba.fra-eng.eng").write_text("hello\nthanks\n")
    (sets,) = [read_parallel(tat / "tatoeba.fra-eng.fra", langs)]
    assert (sets[0].src_lang, sets[0].tgt_lang, sets[0].pairs) == ("fra_Latn", "eng_Latn",
                                                                 [("bonjour", "hello"), ("merci", "thanks")])
    assert len(read_parallel(tat, langs)) == 1  # a folder: the Moses pair once, not once per file
    flores = tmp_path / "devtest"
    flores.mkdir()
    for lang, text in (("eng_Latn", "one\ntwo\n"), ("deu_Latn", "eins\nzwei\n"), ("fra_Latn", "un\ndeux\n")):
        (flores / f"{lang}.devtest").write_text(text)
    got = {(s.src_lang, s.tgt_lang): s.pairs for s in read_parallel(flores, langs)}
    assert got == {("deu_Latn", "eng_Latn"): [("eins", "one"), ("zwei", "two")],
                   ("fra_Latn", "eng_Latn"): [("un", "one"), ("deux", "two")]}
    (tmp_path / "bad.deu_Latn-eng_Latn.tsv").write_text("only one column\n")
    with pytest.raises(ParallelFileError, match="line 1: expected 2 tab-separated columns"):
        read_parallel(tmp_path / "bad.deu_Latn-eng_Latn.tsv", langs)
    (tat / "tatoeba.cmn-eng.cmn").write_text("x\n")
    (tat / "tatoeba.cmn-eng.eng").write_text("x\ny\n")
    with pytest.raises(ParallelFileError, match="'cmn' matches none"):
        read_parallel(tat / "tatoeba.cmn-eng.cmn", langs)
