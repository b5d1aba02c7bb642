"""xlmodel objectives and loop: XLCO, unpadded attention, counters and totals, retrieval that is learned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xlmodel.batches import BatchMaker
from xlmodel.config import TrainSettings
from xlmodel.model import Encoder, ModelConfig
from xlmodel.shards import open_tokens
from xlmodel.synthetic import write_synthetic_corpus
from xlmodel.train import read_metrics, train
from xlmodel.xlco import Xlco

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    tokens = write_synthetic_corpus(root, langs=("eng_Latn", "deu_Latn"), n_mono=200, n_pairs=400, n_entity=40,
                                    n_cs=200, heldout_pairs=60)
    return tokens, root / "heldout"


def settings(tokens, run_dir, **kw) -> TrainSettings:
    base = dict(tokens_dir=str(tokens), run_dir=str(run_dir), seq_len=96, batch_rows=4, steps=12, warmup_steps=3,
                log_every=1, ckpt_every=1000, progress=False, holdout_permille=100, lr=2e-3)
    base.update(kw)
    return TrainSettings(**base)


def test_unpadded_attention_matches_the_dense_mask(corpus, tmp_path):
    tokens, _ = corpus
    data = open_tokens(tokens, holdout_permille=100)
    mb = BatchMaker(data, settings(tokens, tmp_path), unpadded=True).micro_batch(3, 0)
    assert mb.layout is not None and mb.n_examples > 4
    torch.manual_seed(0)
    dense = Encoder(ModelConfig(vocab_size=data.vocab.size, dropout=0.0))
    nested = Encoder(ModelConfig(vocab_size=data.vocab.size, dropout=0.0), attention="nested")
    nested.load_state_dict(dense.state_dict())
    args = (mb.input_ids, mb.position_ids, mb.doc_ids, mb.pred_index, mb.labels)
    a, b = dense(*args), nested(*args, layout=mb.layout)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    a.sum().backward()
    b.sum().backward()
    for (name, p), q in zip(dense.named_parameters(), nested.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=name)
    real = mb.doc_ids > 0  # every layer's hidden states agree on the real tokens (padding is not read)
    for ha, hb in zip(dense.encode(*args[:3], all_layers=True), nested.encode(*args[:3], all_layers=True),
                      strict=True):
        torch.testing.assert_close(ha[real], hb[real], atol=1e-5, rtol=1e-5)


def test_xlco_queue_and_losses(corpus, tmp_path):
    tokens, _ = corpus
    data = open_tokens(tokens, holdout_permille=100)
    s = settings(tokens, tmp_path, xlco_weight=1.0, xlco_pairs=6, xlco_queue=16, xlco_temperature=0.5)
    maker = BatchMaker(data, s)
    mb = maker.micro_batch(0, 0)
    assert mb.xlco.n == 12 and (mb.xlco.content.sum(1) > 0).all()
    model = Encoder(ModelConfig(vocab_size=data.vocab.size, dropout=0.0))
    x = Xlco(model, s, torch.device("cpu"))
    _, vecs = model(mb.input_ids, mb.position_ids, mb.doc_ids, mb.pred_index, mb.labels, xlco=mb.xlco,
                    xlco_layer=x.layer)
    import contextlib

    losses, hits, keys = x.losses(vecs, mb.xlco, contextlib.nullcontext())
    # the key encoder starts as a copy of the model: keys are the queries' own vectors
    torch.testing.assert_close(keys, torch.nn.functional.normalize(vecs, dim=-1), atol=1e-6, rtol=1e-5)
    assert losses.shape == (12,) and (losses > 0).all() and hits.dtype == torch.bool
    # empty queue: 6 candidates per query, so the loss is at most log-sum-exp over 6 cosines / t
    assert float(losses.max()) < np.log(6) + 2 / 0.5
    for n in (10, 10, 10):  # circular queue: keeps the newest 16
        x.enqueue(torch.arange(n, dtype=torch.float32)[:, None].expand(n, model.config.d_model) + x.ptr * 100)
    assert x.filled == 16 and x.ptr == 14
    losses2, _, _ = x.losses(vecs, mb.xlco, contextlib.nullcontext())
    assert losses2.shape == (12,) and (losses2 >= losses - 1e-6).all()  # more negatives: never an easier task
    ib = Xlco(model, settings(tokens, tmp_path, xlco_weight=1.0, xlco_negatives="in_batch", xlco_pairs=6),
              torch.device("cpu"))
    assert ib.key_encoder is None and ib.queue.shape[0] == 0
    l_ib, _, k_ib = ib.losses(vecs, mb.xlco, contextlib.nullcontext())
    assert l_ib.requires_grad and l_ib.shape == (12,) and k_ib.shape[0] == 0


def test_counters_per_objective_and_stream_and_totals_whatever_log_and_ckpt_every(corpus, tmp_path):
    tokens, _ = corpus
    kw = dict(xlco_weight=0.5, xlco_pairs=4, xlco_queue=32, steps=12)
    straight = train(settings(tokens, tmp_path / "a", log_every=12, **kw))
    part = settings(tokens, tmp_path / "b", log_every=7, ckpt_every=5, **kw)
    train(part, stop_at=8)  # checkpoint at 5 and 8 (the end), logs at 7 and 8
    resumed = train(part, resume=True)
    for k in ("tokens", "predicted", "examples", "by_objective", "by_stream"):
        assert resumed[k] == straight[k], k
    assert set(straight["by_objective"]) == {"mlm", "tlm", "cs", "entity", "xlco"}
    assert straight["by_objective"]["xlco"]["examples"] == 12 * 4  # pairs, every step
    assert sum(v["tokens"] for v in straight["by_stream"].values()) == \
        sum(v["tokens"] for v in straight["by_objective"].values())
    recs = read_metrics(part.run_dir)
    assert [r["step"] for r in recs] == [7, 8, 12]
    assert recs[-1]["totals"]["by_stream"] == straight["by_stream"]
    per_window = {}
    for r in recs:
        for k, v in r["tokens_by_stream"].items():
            per_window[k] = per_window.get(k, 0) + v
    assert per_window == {k: v["tokens"] for k, v in straight["by_stream"].items()}
    assert "xlco" in recs[-1]["loss_by_objective"] and 0 <= recs[-1]["xlco_accuracy"] <= 1


def test_retrieval_is_learned_far_above_chance_and_above_bag_of_ids(corpus, tmp_path):
    """The synthetic lexicon corpus: after a short run with TLM + XLCO, held-out translations (fresh
    sentences in a TSV file, and the held-out split) are retrieved far above chance and above the
    bag-of-subword-ids baseline on the same sentences."""
    from xlmodel.evaluate import evaluate_run

    tokens, heldout = corpus
    s = settings(tokens, tmp_path / "run", steps=60, batch_rows=8, warmup_steps=6, lr=3e-3, dropout=0.0,
                 objective_weights={"mlm": 1.0, "tlm": 1.0, "cs": 1.0}, xlco_weight=1.0, xlco_pairs=32,
                 xlco_queue=256, xlco_momentum=0.99, eval_parallel=[str(heldout)])
    train(s)
    ev = evaluate_run(s.run_dir)
    (r,) = ev["retrieval_parallel"].values()
    assert r["pairs"] == 60 and r["chance"] == pytest.approx(1 / 60)
    acc = (r["src2tgt"] + r["tgt2src"]) / 2
    base = (r["bag_of_ids_src2tgt"] + r["bag_of_ids_tgt2src"]) / 2
    assert acc > 10 * r["chance"] and acc > base + 0.1, r
    split = ev["retrieval"]["deu_Latn-eng_Latn"]
    assert (split["src2tgt"] + split["tgt2src"]) / 2 > 5 * split["chance"], split
