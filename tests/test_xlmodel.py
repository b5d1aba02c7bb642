"""xlmodel: reader, sampler/packing, masking, model, loop (resume), eval, export."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import torch

from xlmodel.batches import BatchMaker
from xlmodel.config import TrainSettings
from xlmodel.masking import IGNORE, mask_batch
from xlmodel.model import Encoder, ModelConfig
from xlmodel.packing import PackedBatch, strip_markers
from xlmodel.shards import OBJECTIVE_IDS, open_tokens
from xlmodel.synthetic import write_synthetic_corpus
from xlmodel.train import read_metrics, train

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokens_dir(tmp_path_factory):
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_mono=160, n_pairs=100, n_entity=80, n_cs=60)


def settings(tokens_dir, run_dir, **kw) -> TrainSettings:
    base = dict(tokens_dir=str(tokens_dir), run_dir=str(run_dir), seq_len=64, batch_rows=4, steps=30,
                warmup_steps=5, log_every=1, ckpt_every=1000, progress=False, holdout_permille=100, lr=2e-3)
    base.update(kw)
    return TrainSettings(**base)


# --- data -------------------------------------------------------------------------------------------

def test_shards_are_memory_mapped_and_split_deterministically(tokens_dir):
    before = pa.total_allocated_bytes()
    data = open_tokens(tokens_dir, holdout_permille=100)
    n_values = sum(len(s.table.column("input_ids").combine_chunks().values) for s in data.streams)
    # token ids stay in the mapped files: opening allocates far less than the id buffers themselves
    assert pa.total_allocated_bytes() - before < n_values * 4 // 2
    view = data.streams[0]._views[0]["values"]
    assert not view.flags.owndata and not view.flags.writeable
    again = open_tokens(tokens_dir, holdout_permille=100)
    for a, b in zip(data.streams, again.streams, strict=True):
        assert np.array_equal(a.eval_rows, b.eval_rows) and len(a.eval_rows) > 0
        assert not set(a.eval_rows) & set(a.train_rows)
        assert len(a.eval_rows) + len(a.train_rows) == len(a.table)
    only = open_tokens(tokens_dir, languages=["eng_Latn", "deu_Latn"])
    assert only.languages == ["deu_Latn", "eng_Latn"]
    assert {s.key for s in only.streams} == {"eng_Latn", "deu_Latn", "deu_Latn-eng_Latn"}


def test_micro_batches_are_pure_functions_of_seed_step_and_index(tokens_dir, tmp_path):
    s = settings(tokens_dir, tmp_path)
    a, b = BatchMaker(open_tokens(tokens_dir, holdout_permille=100), s), BatchMaker(open_tokens(tokens_dir, holdout_permille=100), s)
    x, y, z = a.micro_batch(7, 1), b.micro_batch(7, 1), a.micro_batch(8, 1)
    assert torch.equal(x.input_ids, y.input_ids) and torch.equal(x.labels, y.labels)
    assert not torch.equal(x.input_ids, z.input_ids)
    # dropout: one seed per (seed, step, global micro-batch): every rank and micro-batch its own masks
    seeds = {a.micro_batch(st, g).dropout_seed for st in (7, 8) for g in (0, 1, 2)}
    assert x.dropout_seed == y.dropout_seed and len(seeds) == 6
    assert x.n_tokens > 0.85 * s.batch_rows * s.seq_len  # packing fills the rows


def test_stream_weights_are_objective_weight_times_p_smoothed(tokens_dir):
    from xlmodel.sampler import stream_weights

    data = open_tokens(tokens_dir, holdout_permille=100)
    sampling = json.loads((tokens_dir / "sampling.json").read_text())
    w = stream_weights(data, {"mlm": 1.0, "tlm": 3.0})
    want = np.zeros(len(data.streams))
    for obj, ow in (("mlm", 1.0), ("tlm", 3.0)):
        idx = [i for i, st in enumerate(data.streams) if st.objective == obj]
        p = np.array([sampling["objectives"][obj]["streams"][data.streams[i].key]["p_smoothed"] for i in idx])
        want[idx] = ow * p / p.sum()
    np.testing.assert_allclose(w, want / want.sum())
    assert w[[i for i, st in enumerate(data.streams) if st.objective in ("cs", "entity")]].sum() == 0


def test_packing_layout_specials_positions_and_tlm_sides(tokens_dir, tmp_path):
    data = open_tokens(tokens_dir, holdout_permille=100)
    s = settings(tokens_dir, tmp_path, objective_weights={"tlm": 1.0})
    pb = BatchMaker(data, s).micro_batch(0, 0)
    ids, pos, doc, lang = (t.numpy() for t in (pb.input_ids, pb.position_ids, pb.doc_ids, pb.lang_ids))
    from xlmodel.sampler import Sampler  # noqa: F401  (sampler weights exclude other objectives)
    seen = 0
    for r in range(ids.shape[0]):
        for dd in set(doc[r]) - {0}:
            cols = np.flatnonzero(doc[r] == dd)
            assert np.all(np.diff(cols) == 1)  # contiguous
            restart = np.flatnonzero(pos[r, cols] == 0)
            assert len(restart) == 2  # src and tgt segments both start at position 0
            t0 = restart[1]
            assert ids[r, cols[0]] == data.vocab.bos and ids[r, cols[t0 - 1]] == data.vocab.eos
            assert ids[r, cols[t0]] == data.vocab.eos and ids[r, cols[-1]] == data.vocab.eos
            assert len(set(lang[r, cols[:t0]])) == 1 and len(set(lang[r, cols[t0:]])) == 1
            assert lang[r, cols[0]] != lang[r, cols[t0]]
            seen += 1
    assert seen >= 2
    assert (pb.input_ids[pb.doc_ids == 0] == data.vocab.pad).all()


def test_strip_markers_moves_entity_spans():
    ids = np.array([10, 5, 20, 21, 6, 11, 5, 22, 6], dtype=np.int32)
    spans = np.array([[2, 4], [7, 8]])
    out, new = strip_markers(ids, spans, np.array([5, 6]))
    assert out.tolist() == [10, 20, 21, 11, 22]
    assert [out[a:b].tolist() for a, b in new] == [[20, 21], [22]]


# --- masking ----------------------------------------------------------------------------------------

def _flat_batch(objective: str, n: int = 20000, entity_len: int = 4) -> PackedBatch:
    ids = np.arange(n, dtype=np.int64) % 300 + 20
    maskable = np.ones(n, dtype=bool)
    maskable[::50] = False  # special tokens
    ent = np.full(n, -1, dtype=np.int32)
    if objective == "entity":
        starts = np.arange(1, n - entity_len, 10)
        for k, a in enumerate(starts):
            ent[a:a + entity_len] = k
    one = lambda a: a[None, :]  # noqa: E731
    return PackedBatch(one(ids), one(np.zeros(n, np.int64)), one(np.ones(n, np.int32)), one(np.zeros(n, np.int32)),
                       one(np.full(n, OBJECTIVE_IDS[objective], np.int8)), one(maskable), one(ent), 1)


MASK, RANDOM_IDS = 4, np.arange(500, 600)


def _kinds(b, out, labels):
    pred = labels != IGNORE
    masked = pred & (out == MASK)
    random = pred & np.isin(out, RANDOM_IDS)
    same = pred & (out == b.input_ids)
    return pred, masked, random, same


def test_mlm_masking_80_10_10_and_never_specials():
    b = _flat_batch("mlm")
    out, labels = mask_batch(b, np.random.default_rng(0), mask_id=MASK, replacement_ids=RANDOM_IDS, mask_rate=0.15)
    pred, masked, random, same = _kinds(b, out, labels)
    assert not pred[~b.maskable].any()
    assert abs(pred.sum() / b.maskable.sum() - 0.15) < 0.01
    n = pred.sum()
    assert abs(masked.sum() / n - 0.8) < 0.03 and abs(random.sum() / n - 0.1) < 0.02 and abs(same.sum() / n - 0.1) < 0.02
    assert np.array_equal(labels[pred], b.input_ids[pred])
    assert (out[~pred] == b.input_ids[~pred]).all()
    out2, _ = mask_batch(b, np.random.default_rng(0), mask_id=MASK, replacement_ids=RANDOM_IDS, mask_rate=0.3)
    assert abs((out2 != b.input_ids).sum() / b.maskable.sum() - 0.3 * 0.9) < 0.02  # rate is configurable


@pytest.mark.parametrize("scheme", ["wep", "pep_mrs", "pep_ms", "pep_m", "wep+mlm", "pep_m+mlm"])
def test_entity_masking_schemes(scheme):
    b = _flat_batch("entity")
    out, labels = mask_batch(b, np.random.default_rng(1), mask_id=MASK, replacement_ids=RANDOM_IDS,
                             entity_masking=scheme, entity_prob=0.5)
    pred, masked, random, same = _kinds(b, out, labels)
    ent = b.entity_ids[0]
    in_ent = ent >= 0
    p = pred[0]
    n_ent = ent.max() + 1
    touched = np.zeros(n_ent, bool)
    np.logical_or.at(touched, ent[in_ent], p[in_ent])
    assert abs(touched.mean() - 0.5) < 0.05  # entities chosen with p
    chosen_tok = in_ent & touched[np.maximum(ent, 0)]
    base = scheme.split("+")[0]
    if base != "pep_m":
        assert np.array_equal(p[in_ent], chosen_tok[in_ent])  # loss on every subword of a chosen entity
    if base == "wep":
        m = masked[0]
        for e in np.flatnonzero(touched)[:200]:  # whole entity masked or whole entity kept
            assert m[ent == e].all() or not m[ent == e].any()
        frac_masked = np.mean([m[ent == e].all() for e in np.flatnonzero(touched)])
        assert abs(frac_masked - 0.8) < 0.05 and not random[0][in_ent].any()
    elif base == "pep_mrs":
        n = chosen_tok.sum()
        assert abs(masked[0][chosen_tok].sum() / n - 0.8) < 0.03 and abs(random[0][chosen_tok].sum() / n - 0.1) < 0.03
    elif base == "pep_ms":
        assert not random.any() and abs(masked.sum() / pred.sum() - 0.8) < 0.03
    elif base == "pep_m":
        assert np.array_equal(p[in_ent], masked[0][in_ent])  # loss only on masked subwords
        assert abs(p[chosen_tok].mean() - 0.8) < 0.03
    outside = b.maskable[0] & ~in_ent
    if scheme.endswith("+mlm"):
        assert abs(p[outside].mean() - 0.15) < 0.015
    else:
        assert not p[outside].any()


# --- model ------------------------------------------------------------------------------------------

def test_packed_examples_do_not_see_each_other():
    torch.manual_seed(0)
    m = Encoder(ModelConfig(vocab_size=50, dropout=0.0)).eval()
    a, b = torch.randint(5, 50, (7,)), torch.randint(5, 50, (9,))
    packed = torch.cat([a, b, torch.ones(4, dtype=torch.long)])[None]
    pos = torch.cat([torch.arange(7), torch.arange(9), torch.zeros(4, dtype=torch.long)])[None]
    doc = torch.tensor([1] * 7 + [2] * 9 + [0] * 4)[None]
    with torch.no_grad():
        hp = m.encode(packed, pos, doc)[0]
        ha = m.encode(a[None], torch.arange(7)[None], torch.ones(1, 7, dtype=torch.long))[0]
        hb = m.encode(b[None], torch.arange(9)[None], torch.ones(1, 9, dtype=torch.long))[0]
    torch.testing.assert_close(hp[:7], ha, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(hp[7:16], hb, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(hp).all()


# --- loop, checkpoints, eval ------------------------------------------------------------------------

def test_training_lowers_loss_and_logs(tokens_dir, tmp_path):
    s = settings(tokens_dir, tmp_path / "run", steps=60, batch_rows=8, log_every=10)
    summary = train(s)
    recs = read_metrics(s.run_dir)
    assert [r["step"] for r in recs] == [10, 20, 30, 40, 50, 60]
    assert recs[-1]["loss"] < recs[0]["loss"] - 0.3
    assert set(recs[-1]["loss_by_objective"]) == {"mlm", "tlm", "cs", "entity"}
    assert set(recs[-1]["loss_by_lang"]) == {"deu_Latn", "eng_Latn", "fra_Latn"}
    assert recs[-1]["tokens_per_s"] > 0 and 0 <= recs[-1]["data_wait_pct"] <= 100
    assert summary["tokens"] == sum(r["tokens"] for r in recs) and summary["steps"] == 60


ANNEALED = dict(xlco_weight=0.5, xlco_pairs=4, xlco_queue=24, xlco_momentum=0.9,
                alpha_schedule=[[0.0, 0.7], [1.0, 0.3]], mask_rate_schedule=[[0.0, 0.3], [1.0, 0.15]],
                language_phases=[{"start": 0.0, "languages": ["eng_Latn", "deu_Latn"]},
                                 {"start": 0.4, "languages": ["fra_Latn"]}])


def test_resume_continues_exactly(tokens_dir, tmp_path):
    """Bitwise, with XLCO (momentum encoder + queue) and every schedule on, the resume falling
    between two language phases and in the middle of the α and mask-rate ramps."""
    straight = settings(tokens_dir, tmp_path / "a", dropout=0.1, grad_accum=2, ckpt_every=15, **ANNEALED)
    train(straight)
    split = settings(tokens_dir, tmp_path / "b", dropout=0.1, grad_accum=2, ckpt_every=15, **ANNEALED)
    train(split, stop_at=15)
    assert len(read_metrics(split.run_dir)) == 15
    train(split, resume=True)
    la = [r["loss"] for r in read_metrics(straight.run_dir)]
    lb = [r["loss"] for r in read_metrics(split.run_dir)]
    assert len(la) == len(lb) == 30
    assert la == lb  # bitwise: same batches, masks, dropout seeds, optimizer, schedules, XLCO queue
    assert [r["loss_by_objective"]["xlco"] for r in read_metrics(straight.run_dir)] == \
        [r["loss_by_objective"]["xlco"] for r in read_metrics(split.run_dir)]
    ca = torch.load(tmp_path / "a" / "checkpoints" / "step-00000030.pt", weights_only=False)
    cb = torch.load(tmp_path / "b" / "checkpoints" / "step-00000030.pt", weights_only=False)
    a, b = ca["model"], cb["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(ca["xlco"]["queue"], cb["xlco"]["queue"]) and ca["xlco"]["ptr"] == cb["xlco"]["ptr"]
    assert all(torch.equal(ca["xlco"]["key_encoder"][k], cb["xlco"]["key_encoder"][k]) for k in a)
    assert cb["schedule"]["languages"] == ["deu_Latn", "eng_Latn", "fra_Latn"] and cb["schedule"]["alpha"] == 0.3
    seen = [set(r["loss_by_lang"]) for r in read_metrics(split.run_dir)]
    assert "fra_Latn" not in seen[0] and "fra_Latn" in seen[-1]  # languages introduced by phase
    changed = settings(tokens_dir, tmp_path / "b", **{**ANNEALED, "xlco_temperature": 0.2})
    with pytest.raises(ValueError, match="xlco_temperature"):
        train(changed, resume=True)


def test_eval_is_deterministic_and_covers_languages(tokens_dir, tmp_path):
    from xlmodel.evaluate import evaluate_run

    s = settings(tokens_dir, tmp_path / "run", steps=5)
    train(s)
    r1 = evaluate_run(s.run_dir)
    r2 = evaluate_run(s.run_dir, write=False)
    assert r1 == r2 and r1["step"] == 5
    assert json.loads((tmp_path / "run" / "eval.json").read_text()) == r1
    assert set(r1["masked"]["mlm"]) == {"deu_Latn", "eng_Latn", "fra_Latn"}
    for v in r1["masked"]["mlm"].values():
        assert v["predicted"] > 0 and 0 <= v["accuracy"] <= 1 and v["loss"] > 0
    assert set(r1["retrieval"]) == {"deu_Latn-eng_Latn", "fra_Latn-eng_Latn"}
    for v in r1["retrieval"].values():
        assert v["pairs"] >= 2 and v["chance"] == 1 / v["pairs"] and v["last_layer"] == 2 and v["layer"] == 1
        assert {"src2tgt", "tgt2src", "last_src2tgt", "last_tgt2src", "bag_of_ids_src2tgt"} <= set(v)
