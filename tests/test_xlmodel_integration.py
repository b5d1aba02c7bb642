"""xlmodel end to end: HF export parity, DDP under torchrun, the train stage and CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from xlmodel.config import TrainSettings
from xlmodel.synthetic import write_synthetic_corpus
from xlmodel.train import read_metrics

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def out_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("out")
    write_synthetic_corpus(root, n_mono=120, n_pairs=80, n_entity=60, n_cs=40, hf_tokenizer=True, heldout_pairs=20)
    return root


def _settings(out_root, run_dir, **kw) -> TrainSettings:
    base = dict(tokens_dir=str(out_root / "tokens"), run_dir=str(run_dir), seq_len=64, batch_rows=4, steps=4,
                warmup_steps=2, log_every=1, progress=False, holdout_permille=100, dropout=0.0, lr=2e-3)
    base.update(kw)
    return TrainSettings(**base)


def test_hf_export_gives_the_same_logits(out_root, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from xlmodel.run import export_run
    from xlmodel.train import train

    s = _settings(out_root, tmp_path / "run", steps=3, dropout=0.1)
    train(s)
    hf_dir = export_run(s.run_dir)
    from xlmodel.evaluate import load_model

    ours, _, _ = load_model(s.run_dir)
    hf = AutoModelForMaskedLM.from_pretrained(str(hf_dir)).eval()
    tok = AutoTokenizer.from_pretrained(str(hf_dir))
    assert tok.mask_token_id == 4 and tok.pad_token_id == 1
    # An unpacked, right-padded batch of two sentences of different lengths.
    a = tok("schein geung auei", return_tensors="pt").input_ids[0]
    b = torch.randint(11, ours.config.vocab_size, (13,))
    b = torch.cat([torch.tensor([0]), b, torch.tensor([2])])
    n = max(len(a), len(b))
    ids = torch.ones(2, n, dtype=torch.long)
    ids[0, :len(a)], ids[1, :len(b)] = a, b
    attn = (ids != 1).long()
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=attn).logits
        pos = torch.arange(n).expand(2, n)
        doc = attn  # one example per row: doc 1, padding 0
        h = ours.encode(ids, pos, doc)
        got = ours.mlm_logits(h)
    keep = attn.bool()
    # fp32 on CPU: the two implementations differ only in op order.
    torch.testing.assert_close(got[keep], ref[keep], atol=1e-4, rtol=1e-4)


def test_ddp_two_ranks_match_one_rank_with_accumulation(out_root, tmp_path):
    """Also with dropout (seeded per global micro-batch, so each rank draws its own masks) and XLCO on:
    the key encoder and the queue (keys gathered over ranks) stay identical."""
    xl = dict(xlco_weight=1.0, xlco_pairs=4, xlco_queue=16, xlco_momentum=0.9, dropout=0.1)
    one = _settings(out_root, tmp_path / "one", grad_accum=2, steps=3, **xl)
    two = _settings(out_root, tmp_path / "two", grad_accum=1, steps=3, **xl)
    two.save(tmp_path / "two.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["-m", "xlmodel", "train", "--no-eval", "--no-export"]
    from xlmodel.train import train

    train(one)  # the reference: one process, two micro-batches per step
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    *common, "--settings", str(tmp_path / "two.json")], check=True, env=env,
                   capture_output=True)
    a, b = read_metrics(one.run_dir), read_metrics(two.run_dir)
    assert [r["predicted"] for r in a] == [r["predicted"] for r in b]  # the same global batch
    np.testing.assert_allclose([r["loss"] for r in a], [r["loss"] for r in b], rtol=1e-5)
    pa = torch.load(tmp_path / "one" / "checkpoints" / "step-00000003.pt", weights_only=False)["model"]
    pb = torch.load(tmp_path / "two" / "checkpoints" / "step-00000003.pt", weights_only=False)["model"]
    for k in pa:
        torch.testing.assert_close(pa[k], pb[k], atol=1e-5, rtol=1e-4)
    qa = torch.load(tmp_path / "one" / "checkpoints" / "step-00000003.pt", weights_only=False)["xlco"]
    qb = torch.load(tmp_path / "two" / "checkpoints" / "step-00000003.pt", weights_only=False)["xlco"]
    assert qa["filled"] == qb["filled"] == 16
    torch.testing.assert_close(qa["queue"], qb["queue"], atol=1e-5, rtol=1e-4)


def test_config_section_maps_onto_train_settings():
    from flows.config.train import TrainConfig

    stage_only = {"enabled", "tokens_path", "nproc", "resume"}
    filled = {"tokens_dir", "run_dir", "seed", "languages"}
    assert set(TrainConfig.model_fields) - stage_only == {f.name for f in dataclasses.fields(TrainSettings)} - filled
    cfg, settings = TrainConfig(), TrainSettings()
    for name in set(TrainConfig.model_fields) - stage_only:
        assert getattr(cfg, name) == getattr(settings, name), name


def test_train_stage_commits_model_and_skips_when_up_to_date(out_root, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import load_config
    from flows.stages import train as stage

    cfg = load_config(None, {"out": str(out_root), "train.steps": 6, "train.seq_len": 64, "train.batch_rows": 4,
                             "encode.max_tokens": 62, "encode.tlm_max_tokens_per_side": 30,
                             "train.warmup_steps": 2, "train.log_every": 2, "train.progress": False,
                             "train.holdout_permille": 100, "train.device": "cpu"})
    assert stage.enabled(cfg)
    report = stage.run(cfg, log_fn=lambda m: None)
    assert not report.skipped and report.counters["steps.completed"] == 6
    model = out_root / "model"
    assert (model / "checkpoints" / "latest").is_file() and (model / "metrics.jsonl").is_file()
    ev = json.loads((model / "eval.json").read_text())
    assert ev["step"] == 6 and "mlm" in ev["masked"] and ev["retrieval"]
    assert (model / "hf" / "config.json").is_file() and (model / "hf" / "tokenizer.json").is_file()
    assert report.counters["tokens.trained"] == sum(r["tokens"] for r in read_metrics(model))
    assert stage.run(cfg, log_fn=lambda m: None).skipped
    assert not list((out_root / "_runs").glob("train-*"))  # the run folder moved into OUT/model
    assert report.counters["examples.trained.mlm"] > 0 and report.counters["tokens.trained.tlm"] > 0
    summary = json.loads((model / "summary.json").read_text())
    assert sum(v["examples"] for v in summary["by_objective"].values()) == report.counters["examples.trained"]
    res = CliRunner().invoke(app, ["eval", str(out_root), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["masked"] == ev["masked"]
    assert ev["holdout"] == {"permille": 100, "split_by": "parent_id"}
    tsv = out_root / "heldout" / "synthetic.deu_Latn-eng_Latn.tsv"
    res = CliRunner().invoke(app, ["eval", str(out_root), "--json", "--pairs", str(tsv)])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)["retrieval_parallel"]["synthetic.deu_Latn-eng_Latn.tsv"]
    assert r["pairs"] == 20 and r["chance"] == 1 / 20 and 0 <= r["bag_of_ids_src2tgt"] <= 1
    bad = out_root / "heldout" / "bad.deu_Latn-eng_Latn.tsv"
    bad.write_text("no tab here\n")
    res = CliRunner().invoke(app, ["eval", str(out_root), "--pairs", str(bad)])
    assert res.exit_code == 2 and "expected 2 tab-separated columns" in res.output
    from flows.stage_summary import table_markdown

    md = table_markdown(stage.summarize(cfg, {"counters": report.counters}))  # the CLI table = the Prefect artifact
    assert "| trained | mlm (3 streams) |" in md and "bag of subword ids" in md and "held out by parent_id" in md
    res = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert res.exit_code == 2 and "no trained model" in res.output
