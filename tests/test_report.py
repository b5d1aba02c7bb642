"""`xlcorpus report`: collected numbers, a self-contained HTML page, and any subset of products."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.report import collect, write_html
from schemas import CODESWITCH, DOCUMENTS
from schemas.manifest import build_manifest, write_manifest
from schemas.parallel import ALIGNMENTS, LEXICON

runner = CliRunner()


def _product(root: Path, rel: str, schema: pa.Schema, rows_by_part: dict[str, list[dict]], stage: str,
             counters: dict[str, int]) -> None:
    d = root / rel
    for part, rows in rows_by_part.items():
        (d / part).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), d / part / "part-00000.parquet")
    write_manifest(str(d), build_manifest(str(d), schema, stage, counters, "cfg", {}, "test"))


def _doc(i: int, lang: str, score: float, cluster: int) -> dict:
    return {"doc_id": f"{lang}{i:03d}", "source": "crawl.warc.gz", "lang": lang, "lang_score": score,
            "text": f"document {i}", "dup_cluster_id": f"c{i}", "dup_cluster_size": cluster}


def write_documents(root: Path) -> None:
    eng = [_doc(i, "eng_Latn", 0.95, 1 if i < 8 else 3) for i in range(10)]
    deu = [_doc(i, "deu_Latn", 0.55 if i < 2 else 0.85, 1) for i in range(4)]
    _product(root, "documents", DOCUMENTS, {"eng_Latn": eng, "deu_Latn": deu}, "mono",
             {"docs.read": 20, "docs.kept": 14, "docs.dropped.lid_low": 4, "docs.dropped.near_dup": 2})


def write_parallel(root: Path) -> None:
    def al(i: int) -> dict:
        return {"pair_id": f"p{i}", "src_lang": "deu_Latn", "tgt_lang": "eng_Latn", "src_tokens": ["a", "b", "c", "d"],
                "tgt_tokens": ["x", "y", "z"], "links": [{"src": 0, "tgt": 0}, {"src": 1, "tgt": 2}],
                "aligner": "eflomal", "params": "{}"}

    counters = {"pairs.read": 5, "pairs.kept": 3, "pairs.dropped.ratio": 2}
    _product(root, "alignments", ALIGNMENTS, {"deu_Latn-eng_Latn": [al(i) for i in range(3)]}, "parallel", counters)
    lex = [{"entry_id": "e1", "src_lang": "deu_Latn", "tgt_lang": "eng_Latn", "src": "haus", "tgt": "house",
            "p_tgt_given_src": 1.0, "p_src_given_tgt": 1.0, "count": 3}]
    _product(root, "lexicon", LEXICON, {"deu_Latn-eng_Latn": lex}, "parallel", counters)
    cs = [{"cs_id": f"s{i}", "parent_id": f"p{i}", "kind": "alm", "matrix_lang": "eng_Latn",
           "langs": ["deu_Latn", "eng_Latn"], "text": "the Haus is red",  # 15 chars, "Haus" switched
           "spans": [{"start": 4, "end": 8, "lang": "deu_Latn", "original": "house"}]} for i in range(2)]
    _product(root, "codeswitch/alm", CODESWITCH, {"eng_Latn": cs}, "parallel", counters)


def write_tokens_and_model(root: Path) -> None:
    (root / "tokens").mkdir(parents=True)
    sampling = {"format": 1, "alpha": 0.3, "objectives": {"mlm": {"streams": {
        "eng_Latn": {"examples": 90, "tokens": 9000, "p_raw": 0.9, "p_smoothed": 0.66, "files": []},
        "deu_Latn": {"examples": 10, "tokens": 1000, "p_raw": 0.1, "p_smoothed": 0.34, "files": []}}}}}
    (root / "tokens" / "sampling.json").write_text(json.dumps(sampling))
    (root / "model").mkdir()
    lines = [json.dumps({"step": s, "loss": 8.0 - s / 10, "lr": 1e-4, "tokens_per_s": 1000.0,
                         "loss_by_objective": {"mlm": 8.1 - s / 10, "tlm": 7.9 - s / 10}}) for s in range(1, 11)]
    (root / "model" / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (root / "model" / "eval.json").write_text(json.dumps({"mlm": {"loss": 6.5, "accuracy": 0.21}, "step": 10}))


@pytest.fixture
def full_out(tmp_path) -> Path:
    root = tmp_path / "out"
    write_documents(root)
    write_parallel(root)
    write_tokens_and_model(root)
    return root


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_collect_numbers(full_out):
    d = collect(full_out)
    assert d.problems == []
    assert set(d.manifests) == {"documents", "alignments", "lexicon", "codeswitch/alm"}
    assert {k: sum(v) for k, v in d.lid_hist.items()} == {"deu_Latn": 4, "eng_Latn": 10}
    assert d.lid_hist["deu_Latn"][11] == 2  # two scores of 0.55 fall in the [0.55, 0.60) bin
    assert d.dup_sizes == {1: 12, 3: 2}
    assert d.alignment["deu_Latn-eng_Latn"] == {"pairs": 3, "links": 6, "links_per_pair": 2.0, "links_per_src_token": 0.5}
    alm = d.codeswitch["alm"]
    assert (alm["samples"], alm["spans_per_sample"], alm["switched_frac"]) == (2, 1.0, 8 / 30)
    assert d.stages["mono"]["docs"].dropped == {"lid_low": 4, "near_dup": 2}
    assert d.stages["parallel"]["pairs"].kept == 3
    assert len(d.metrics) == 10 and d.evaluation["mlm"]["accuracy"] == 0.21


def test_html_is_self_contained_with_every_section(full_out, tmp_path):
    page = write_html(collect(full_out), tmp_path / "r" / "report.html").read_text()
    for title in ("Products", "Documents and tokens per language", "Language identification",
                  "Kept and dropped per stage", "Deduplication", "Alignments", "Code-switching", "Training"):
        assert f"<h2>{title}</h2>" in page
    images = _images(page)
    # documents/lang, mlm sizes + probs, LID, drops, dedup, alignment, codeswitch, training
    assert len(images) == 9 and all(i.startswith(b"\x89PNG\r\n\x1a\n") for i in images)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "lid_low=4" in page and "0.66" in page and "mlm.accuracy" in page
    assert "Not in this output" not in page
    assert "Stages marked done" not in page  # these test products have no completion markers


def test_stage_markers_are_listed(tmp_path):
    root = tmp_path / "out"
    write_documents(root)
    (root / "_stages").mkdir()
    (root / "_stages" / "mono.json").write_text(json.dumps({"stage": "mono", "key": "abc123", "counters": {}}))
    d = collect(root)
    assert d.stage_keys == {"mono": "abc123"}
    assert "mono <code>abc123</code>" in write_html(d, root / "r.html").read_text()


def test_column_scans_stop_at_the_cap_and_say_so(tmp_path, monkeypatch):
    import importlib

    # flows.report re-exports the function `collect`, which shadows the module of the same name.
    monkeypatch.setattr(importlib.import_module("flows.report.collect"), "MAX_SCAN_ROWS", 6)
    root = tmp_path / "out"
    write_documents(root)
    d = collect(root)
    assert (d.lid_scan.scanned, d.lid_scan.total) == (6, 14)
    assert sum(sum(v) for v in d.lid_hist.values()) == 6 and sum(d.dup_sizes.values()) == 6
    page = write_html(d, root / "report.html").read_text()
    assert page.count("documents: statistics from the first 6 of 14 rows.") == 2  # LID and dedup sections


def test_partial_output_only_documents(tmp_path):
    root = tmp_path / "out"
    write_documents(root)
    d = collect(root)
    page = write_html(d, root / "report.html").read_text()
    assert "<h2>Language identification</h2>" in page and "<h2>Training</h2>" not in page
    assert "Not in this output (stages not run yet): alignment, codeswitch, training." in page
    assert len(_images(page)) == 4


def test_cli_report_prints_summary_and_writes_html(full_out, tmp_path):
    target = tmp_path / "elsewhere" / "r.html"
    res = runner.invoke(app, ["report", str(full_out), "--html", str(target)])
    assert res.exit_code == 0, res.output
    assert target.is_file() and "kept / dropped per stage" in res.output and "sampling (alpha=0.3)" in res.output



def test_cli_report_default_html_path(tmp_path):
    root = tmp_path / "out"
    write_documents(root)
    res = runner.invoke(app, ["report", str(root)])
    assert res.exit_code == 0 and (root / "report.html").is_file()


def test_cli_report_bad_out(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "is not a directory" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no xlcorpus products" in res.output
    assert not (tmp_path / "empty" / "report.html").exists()
    res = runner.invoke(app, ["report", "gs://bucket/out"])
    assert res.exit_code == 2 and "reads a local output root" in res.output


def test_damaged_inputs_are_reported_not_skipped(tmp_path):
    root = tmp_path / "out"
    write_documents(root)
    write_tokens_and_model(root)
    (root / "rejects" / "mono").mkdir(parents=True)
    (root / "rejects" / "mono" / "manifest.json").write_text("{not json")
    with open(root / "model" / "metrics.jsonl", "a") as f:
        f.write('{"step": 11, "loss": 7.')  # a run killed mid-line
    d = collect(root)
    assert any("rejects/mono" in p for p in d.problems) and any("line 11" in p for p in d.problems)
    assert len(d.metrics) == 10 and set(d.manifests) == {"documents"}
    res = runner.invoke(app, ["report", str(root)])
    assert res.exit_code == 0 and res.output.count("warning:") == 2
    assert "rejects/mono" in (root / "report.html").read_text()


def test_script_attribution_and_line_lang_frac_in_the_report(tmp_path):
    docs = [{**_doc(i, "jpn_Jpan", 0.9, 1), "line_lang_frac": frac} for i, frac in enumerate((1.0, 0.25, 0.5))]
    docs.append({**_doc(9, "jpn_Jpan", 0.9, 1), "line_lang_frac": None})  # not labelled per line
    _product(tmp_path, "documents", DOCUMENTS, {"jpn_Jpan": docs}, "mono",
             {"docs.read": 3, "docs.created.split_mixed": 1, "docs.kept": 4, "lid.script_from_text": 3,
              "lid.script_corrected": 2, "mixed.docs_split": 1, "mixed_lines.read": 9, "mixed_lines.kept": 9})
    data = collect(tmp_path)
    assert data.line_lang == {"jpn_Jpan": {"docs": 3, "mean": pytest.approx(0.5833, abs=1e-3), "under_half": 1}}
    assert data.lid_counters["lid.script_corrected"] == 2 and data.stages["mono"]["docs"].created == {"split_mixed": 1}
    html = write_html(data, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "of which 2 corrected" in html and "1 documents split off" in html
    assert "line_lang_frac" in html and "3 + 1 created" in html
