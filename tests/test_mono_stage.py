"""The mono stage end to end on the demo crawl: reconciliation, every reject reason, near-dedup
wiring, determinism across two runs, skip when up to date, clear config errors."""

import pytest

import flows.stages.mono as mono
from flows.config import ConfigError, load_config
from flows.demo.crawl import make_section
from pipelines.shards import records
from schemas.manifest import read_manifest, reconcile

EXPECTED_LANGS = {"eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "rus_Cyrl", "ukr_Cyrl", "zho_Hani", "jpn_Jpan",
                  "ara_Arab", "hin_Deva", "tha_Thai", "ell_Grek"}
EXPECTED_REASONS = {"corrupt_record", "bad_http_payload", "non_text_content", "http_status", "undecodable_text",
                    "empty_text", "lid_below_threshold", "too_short", "exact_duplicate", "too_short_after_dedup",
                    "near_duplicate", "bad_record_length"}


def _cfg(data, out, **over):
    return load_config(None, {"out": str(out), "mono": data["mono"], "neardup.enabled": True, **over})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("mono")
    data = make_section(root / "data")
    cfg = _cfg(data, root / "out1")
    report = mono.run(cfg, log_fn=lambda s: None)
    return root, data, cfg, report


def test_reconciles_and_counts_every_reason(demo):
    _, _, cfg, report = demo
    c = report.counters
    assert reconcile(c) == []
    assert c["docs.read"] + c["docs.created.split_mixed"] == c["docs.kept"] + sum(
        v for k, v in c.items() if k.startswith("docs.dropped."))
    assert c["docs.created.split_mixed"] == 1  # the English section of the half-translated Greek page
    assert {k.split(".")[-1] for k in c if k.startswith("docs.dropped.")} == EXPECTED_REASONS
    assert c["lines.dropped.duplicate"] > 50  # nav / cookie / footer lines of every page but one
    m = read_manifest(f"{cfg.out}/documents")
    assert set(m.partitions) == EXPECTED_LANGS and m.rows == c["docs.kept"]
    rejects = read_manifest(f"{cfg.out}/rejects/mono")
    assert rejects.rows == sum(v for k, v in c.items() if k.startswith("docs.dropped."))
    assert set(rejects.partitions) == EXPECTED_REASONS


def test_documents_content(demo):
    _, _, cfg, _ = demo
    docs = records(f"{cfg.out}/documents")
    assert len({d["doc_id"] for d in docs}) == len(docs)
    assert sum(d["lines_removed"] > 0 for d in docs) > len(docs) // 2
    assert all(d["dup_cluster_size"] >= 1 and d["dup_cluster_id"] for d in docs)
    assert any(d["dup_cluster_size"] > 1 for d in docs)  # near-dup clusters were found and collapsed
    texts = "\n".join(d["text"] for d in docs)
    assert texts.count("We use cookies") == 1  # boilerplate kept once in the whole corpus
    assert "Le petit village se trouve au pied" in texts  # mojibake page repaired
    rej = records(f"{cfg.out}/rejects/mono")
    corrupt = next(r for r in rej if r["reason"] == "corrupt_record")
    assert corrupt["source"].endswith("demo-00000.warc.gz") and corrupt["offset"] > 0


def test_deterministic_and_skips_when_up_to_date(demo):
    root, data, cfg, report = demo
    again = mono.run(cfg, log_fn=lambda s: None)
    assert again.skipped and again.counters == report.counters
    cfg2 = _cfg(data, root / "out2")
    second = mono.run(cfg2, log_fn=lambda s: None)
    for product in ("documents", "rejects/mono"):
        a, b = read_manifest(f"{cfg.out}/{product}"), read_manifest(f"{cfg2.out}/{product}")
        assert [(f.path, f.sha256) for f in a.files] == [(f.path, f.sha256) for f in b.files]
    assert second.counters == report.counters


def test_allow_list_and_config_errors(tmp_path, demo):
    _, data, _, _ = demo
    with pytest.raises(ConfigError, match="no input file matches"):
        mono.run(_cfg({"mono": {"inputs": [str(tmp_path / "none*.warc.gz")]}}, tmp_path / "o"))
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"nope")
    with pytest.raises(ConfigError, match="lid_model_path"):
        mono.run(_cfg(data, tmp_path / "o", **{"mono.lid_model_path": str(bad)}))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ConfigError, match="unknown input format"):
        mono.run(_cfg({"mono": {"inputs": [str(tmp_path / "x.txt")]}}, tmp_path / "o"))


def test_summary_table(demo):
    from rich.console import Console

    _, _, cfg, report = demo
    console = Console(width=200, record=True)
    console.print(mono.summarize(cfg, {"counters": report.counters}))
    out = console.export_text()
    for lang in EXPECTED_LANGS:
        assert lang in out
    assert "(before LID)" in out and "corrupt_record 1" in out and "near-duplicate" in out
