"""Wiki stage end to end (Beam, FnApiRunner) on the demo dumps, determinism, multistream vs single-stream
reading, bad inputs, and streaming under a memory cap."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows.config import Config, ConfigError
from flows.demo import wiki as demo
from flows.errors import InputError
from flows.stages import wiki as stage
from pipelines.shards import records
from pipelines.wiki.langs import project_labels
from schemas.manifest import validate

MARKER = re.compile(r"</?[a-z]{3}_[A-Z][a-z]{3}>")


def _tree_digest(root: Path, rel: str) -> dict[str, str]:
    base = root / rel
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    section = demo.make_section(data)
    out = tmp_path_factory.mktemp("out")
    cfg = Config.model_validate({"out": str(out), **section})
    report = stage.run(cfg, log_fn=lambda m: None)
    return cfg, report, out, data


def test_demo_counts_reconcile_and_cover_every_filter(demo_run):
    cfg, report, out, _ = demo_run
    c = report.counters
    assert c["pages.articles"] == len(demo.ARTICLES) >= 30
    assert c["pages.redirects"] == len(demo.REDIRECTS)
    assert c["pages.dropped.namespace"] == len(demo.OTHER_PAGES)
    assert report.extra["multistream"] and all(report.extra["multistream"].values())
    for reason in ("no_link", "too_short", "too_many_links", "link_over_half", "too_long", "table_markup"):
        assert c[f"sentences.dropped.{reason}"] >= 1, reason
    assert c["wikidata_lines.dropped.malformed"] == 1
    assert c["wikidata_lines.read"] == len(demo.ENTITIES) + 2  # + the malformed line + one property
    for rel in ("entity_sentences", "codeswitch/entitycs", "rejects/wiki"):
        validate(str(out / rel))  # files, hashes and counters reconcile
    rejects = records(str(out / "rejects/wiki"))
    (bad,) = [r for r in rejects if r["reason"] == "malformed"]
    assert bad["source"].endswith("wikidata-demo.json.bz2") and bad["offset"] == 9  # 1-based line number
    assert "Q999999" in bad["sample"]
    assert stage.summarize(cfg, {"counters": c}) is not None


def test_redirects_fragments_and_unresolved_links(demo_run):
    _, _, out, _ = demo_run
    qid_of = {}
    for s in records(str(out / "entity_sentences")):
        assert s["lang"] == "eng_Latn"
        for a in s["anchors"]:
            qid_of.setdefault(a["title"], set()).add(a["qid"])
            assert s["text"][a["start"]:a["end"]].strip()
    assert qid_of["Eiffel tower"] == {"Q243"}  # redirect → Eiffel Tower → Q243
    assert qid_of["French Republic"] == {"Q142"}
    assert qid_of["Lutetia"] == {"Q90"}  # redirect to "Paris#History": fragment dropped
    assert qid_of["Luxembourg"] == {None}  # no Wikidata entity
    assert qid_of["Le Havre"] == {None}  # entity without an enwiki sitelink


def test_codeswitch_spans_markers_and_language_intersection(demo_run):
    _, report, out, _ = demo_run
    labels = {qid: project_labels(lbl) for qid, _t, lbl in demo.ENTITIES}
    sentences = {s["sent_id"]: s for s in records(str(out / "entity_sentences"))}
    rows = records(str(out / "codeswitch/entitycs"))
    assert rows and report.counters["cs_sentences.kept"] == len({r["parent_id"] for r in rows})
    per_sentence: dict[str, int] = {}
    for r in rows:
        src = sentences[r["parent_id"]]
        lang = r["spans"][0]["lang"]
        qids = [a["qid"] for a in sorted(src["anchors"], key=lambda a: a["start"]) if a["qid"]]
        common = set.intersection(*(set(labels[q]) for q in qids)) - {"eng_Latn"}
        assert lang in common and r["langs"] == sorted({"eng_Latn", lang}) and r["matrix_lang"] == "eng_Latn"
        assert [r["text"][s["start"]:s["end"]] for s in r["spans"]] == [labels[q][lang] for q in qids]
        assert [s["original"] for s in r["spans"]] == [src["text"][a["start"]:a["end"]]
                                                       for a in sorted(src["anchors"], key=lambda a: a["start"]) if a["qid"]]
        assert MARKER.sub("", r["marked_text"]) == r["text"]
        assert MARKER.sub("", r["source_marked_text"]) == src["text"]
        assert r["marked_text"].count(f"<{lang}>") == len(qids) == r["source_marked_text"].count("<eng_Latn>")
        per_sentence[r["parent_id"]] = per_sentence.get(r["parent_id"], 0) + 1
    assert max(per_sentence.values()) == 5
    export = out / "exports/entitycs"
    files = sorted(p.name for p in export.glob("*.jsonl"))
    assert "de.jsonl" in files and "ja.jsonl" in files and len(files) >= 8
    lines = [json.loads(x) for p in export.glob("*.jsonl") for x in p.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(rows)
    de = [x for x in lines if x["language"] == "de"]
    assert de and all("<de>" in x["cs_sentence"] and "<en>" in x["en_sentence"] for x in de)


def test_rerun_is_skipped_and_byte_identical_and_single_stream_reads_the_same(demo_run, tmp_path):
    cfg, first, out, data = demo_run
    assert stage.run(cfg, log_fn=lambda m: None).skipped
    # The same dumps as one plain gzip XML file + a gzip Wikidata dump, read by one reader:
    xml = demo.SITEINFO + "".join(demo._xml_page(*p) for p in demo.all_pages()) + "</mediawiki>\n"
    (tmp_path / "enwiki-pages-articles.xml.gz").write_bytes(gzip.compress(xml.encode()))
    import bz2

    (tmp_path / "wd.json.gz").write_bytes(gzip.compress(bz2.decompress((data / "wiki/wikidata-demo.json.bz2").read_bytes())))
    single = Config.model_validate({
        "out": str(tmp_path / "out"),
        "wiki": {"wikipedia": {"inputs": [str(tmp_path / "enwiki-pages-articles.xml.gz")]},
                 "wikidata": {"inputs": [str(tmp_path / "wd.json.gz")]}, "export_release": True}})
    second = stage.run(single, log_fn=lambda m: None)
    assert not any(second.extra["multistream"].values())
    for rel in ("entity_sentences", "codeswitch/entitycs", "exports/entitycs"):
        a, b = _tree_digest(out, rel), _tree_digest(tmp_path / "out", rel)
        a.pop("manifest.json", None), b.pop("manifest.json", None)  # manifests name the input files
        assert a == b and a, rel
    # dump_parts.* count the reading units (bz2 streams vs one file); rejects rows name their dump file,
    # so the bytes the rejects writer shuffles differ with the file's path: the only counters that may differ
    def same(k: str) -> bool:
        return not k.startswith(("dump_parts.", "shuffle.write_rejects."))

    assert ({k: v for k, v in first.counters.items() if same(k)}
            == {k: v for k, v in second.counters.items() if same(k)})


def test_target_languages_restrict_the_samples(demo_run, tmp_path):
    _, _, _, data = demo_run
    cfg = Config.model_validate({
        "out": str(tmp_path / "out"), "languages": ["deu_Latn", "jpn_Jpan", "eng_Latn"], "seed": 3,
        "wiki": {**demo.make_section(tmp_path / "d")["wiki"], "max_languages": 1, "release_codes": "project",
                 "reject_filtered_sentences": False}})
    report = stage.run(cfg, log_fn=lambda m: None)
    rows = records(str(tmp_path / "out/codeswitch/entitycs"))
    assert {r["spans"][0]["lang"] for r in rows} == {"deu_Latn", "jpn_Jpan"}
    assert len({r["parent_id"] for r in rows}) == len(rows) == report.counters["cs_sentences.kept"]
    assert sorted(p.name for p in (tmp_path / "out/exports/entitycs").glob("*.jsonl")) == ["deu_Latn.jsonl", "jpn_Jpan.jsonl"]
    assert {r["reason"] for r in records(str(tmp_path / "out/rejects/wiki"))} == {"malformed"}


def test_bad_inputs_fail_with_one_clear_message(tmp_path):
    notdump = tmp_path / "enwiki.xml.bz2"
    notdump.write_bytes(b"plain text, not bz2 nor xml")
    wd = tmp_path / "wd.json"
    wd.write_text("[\n" + demo.entity_json("Q1", "A", {"en": "a"}) + "\n]\n")
    cfg = Config.model_validate({"out": str(tmp_path / "o"), "wiki": {
        "wikipedia": {"inputs": [str(notdump)]}, "wikidata": {"inputs": [str(wd)]}}})
    with pytest.raises(InputError, match="enwiki.xml.bz2"):
        stage.run(cfg)
    cfg = Config.model_validate({"out": str(tmp_path / "o"), "wiki": {"wikipedia": {"inputs": [str(notdump)]}}})
    with pytest.raises(ConfigError, match="wiki.wikidata.inputs"):
        stage.run(cfg)
    cfg = Config.model_validate({"out": str(tmp_path / "o"), "wiki": {
        "wikipedia": {"inputs": [str(tmp_path / "missing-*.xml.bz2")]}, "wikidata": {"inputs": [str(wd)]}}})
    with pytest.raises(ConfigError, match="no input file matches"):
        stage.run(cfg)


def test_reader_streams_a_dump_larger_than_its_memory_cap(tmp_path):
    """Read a 160 MB (uncompressed) dump in a process whose address space may grow only 80 MB."""
    dump = tmp_path / "big.xml.gz"
    body = "Text of the article with a [[Link]] and {{a template}}. " * 40
    with gzip.open(dump, "wt", encoding="utf-8", compresslevel=1) as f:
        f.write(demo.SITEINFO)
        n = 0
        while f.tell() < 160 * 1024 * 1024:  # uncompressed position
            f.write(demo._xml_page(n + 1, f"Page {n}", 0, body))
            n += 1
        f.write("</mediawiki>\n")
    code = textwrap.dedent("""
        import resource, sys
        from pipelines.wiki.dump import read_pages
        from pipelines.wiki.wikitext import clean_wikitext
        clean_wikitext("warm [[up]] {x}")
        vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1]) * 1024
        cap = vm + 80 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        try:
            bytearray(200 * 1024 * 1024)
            sys.exit("cap not enforced")
        except MemoryError:
            pass
        n = sum(1 for p in read_pages(sys.argv[1]) if p.text)
        print(n)
    """)
    res = subprocess.run([sys.executable, "-c", code, str(dump)], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout.strip()) == n
