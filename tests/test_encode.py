"""Encode stage: token shards per objective round-trip to the text, spans hit the right subwords,
shards memory-map and open with `datasets`, manifests and sampling.json agree with the shards."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
import sentencepiece as spm
from test_tokenizer import config, make_products, sentence

from pipelines.encode.blocks import PieceTables, boundary_ranks, split_blocks
from pipelines.encode.examples import plan_spans
from pipelines.shards import records
from pipelines.smoothing import raw_probs, smoothed_probs
from schemas.manifest import list_shards, validate
from schemas.tokens import OBJECTIVES

MAX = 64


def norm(sp: spm.SentencePieceProcessor, text: str) -> str:
    """SentencePiece's normalized form of a text, as decode gives it back ('▁' → space, no dummy prefix)."""
    return sp.normalize(text).replace("▁", " ").strip()


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    from flows.stages import encode, tokenizer

    out = tmp_path_factory.mktemp("enc") / "out"
    sizes = make_products(out)
    cfg = config(out)
    tokenizer.run(cfg)
    report = encode.run(cfg)
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer" / "spm.model"))
    by_obj = {obj: records(str(out / "tokens" / obj)) for obj in OBJECTIVES}
    return cfg, out, report, sp, by_obj, sizes


def _texts(out, rel, key):
    return {r[key]: r for r in records(str(out / rel))}


def test_counters_reconcile_and_drops_have_reasons(encoded):
    _, out, report, _, by_obj, sizes = encoded
    c = report.counters
    assert c["docs.read"] == sizes["documents"] and c["docs.dropped.empty"] == 1
    assert c["pairs.read"] == sizes["pairs"] and c["pairs.dropped.too_long"] == 1
    assert c["cs_samples.read"] == sizes["alm"] + sizes["dict"] and c["cs_samples.dropped.bad_span"] == 1
    assert c["entity_samples.kept"] == sizes["entitycs"]
    rejects = records(str(out / "rejects" / "encode"))
    assert sorted(r["reason"] for r in rejects) == ["bad_span", "empty", "too_long"]
    assert all(r["source"] and not r["source"].startswith("/") for r in rejects)
    for obj in OBJECTIVES:
        m = validate(str(out / "tokens" / obj))
        assert m.rows == len(by_obj[obj]) == c[f"{obj}.examples"]
        assert c[f"shuffle.tokens_{obj}.bytes"] > 0 and m.counters[f"shuffle.tokens_{obj}.elements"] > 0


def test_every_example_names_its_parent(encoded):
    """mlm blocks → their document, tlm → the pair, cs / entity → the sample's parent (pair, sentence);
    parent_hash is the split key the trainer reads."""
    from schemas.tokens import parent_hash

    _, out, _, _, by_obj, _ = encoded
    samples = {**_texts(out, "codeswitch/alm", "cs_id"), **_texts(out, "codeswitch/dict", "cs_id"),
               **_texts(out, "codeswitch/entitycs", "cs_id")}
    for e in by_obj["mlm"]:
        assert e["parent_id"] == e["example_id"].rsplit("-", 1)[0]
    assert all(e["parent_id"] == e["example_id"] for e in by_obj["tlm"])
    for e in by_obj["cs"] + by_obj["entity"]:
        assert e["parent_id"] == samples[e["example_id"]]["parent_id"] != e["example_id"]
    for e in [x for rows in by_obj.values() for x in rows]:
        assert e["parent_hash"] == parent_hash(e["parent_id"])
    blocks_per_doc = {}
    for e in by_obj["mlm"]:
        blocks_per_doc[e["parent_id"]] = blocks_per_doc.get(e["parent_id"], 0) + 1
    assert max(blocks_per_doc.values()) > 1  # a document split into blocks: one parent, several examples


def test_long_code_switched_samples_are_dropped_not_cut():
    from pipelines.encode.examples import Dropped, finish_spans

    ids = [np.arange(5, dtype=np.int32), np.arange(3, dtype=np.int32), np.arange(4, dtype=np.int32)]
    kept = finish_spans("cs1", "pair1", "cs", "eng_Latn", ids, max_tokens=12)
    assert kept["n_tokens"] == 12 and kept["parent_id"] == "pair1"
    dropped = finish_spans("cs1", "pair1", "cs", "eng_Latn", ids, max_tokens=11)
    assert isinstance(dropped, Dropped) and dropped.reason == "too_long" and "12 tokens" in dropped.detail


def test_mlm_blocks_round_trip(encoded):
    _, out, _, sp, by_obj, _ = encoded
    docs = _texts(out, "documents", "doc_id")
    blocks: dict[str, list[dict]] = {}
    for e in by_obj["mlm"]:
        assert e["objective"] == "mlm" and e["segment_start"] == -1 and e["lang2"] is None
        assert 0 < e["n_tokens"] == len(e["input_ids"]) <= MAX
        blocks.setdefault(e["example_id"].rsplit("-", 1)[0], []).append(e)
    assert len(blocks) == len(docs) - 1  # the blank document is dropped
    split = 0
    for doc_id, bs in blocks.items():
        bs.sort(key=lambda e: e["example_id"])
        doc = docs[doc_id]
        lines = [x.strip() for x in doc["text"].splitlines() if x.strip()]
        ids = [i for b in bs for i in b["input_ids"]]
        assert ids == [i for line in lines for i in sp.encode(line)]
        assert sp.decode(ids) == norm(sp, " ".join(lines))
        assert all(b["lang"] == doc["lang"] for b in bs)
        if len(bs) > 1:
            split += 1
            for b in bs[:-1]:  # cut at a line or sentence end, never inside a sentence here
                assert sp.decode(b["input_ids"])[-1] in ".!?。", sp.decode(b["input_ids"])
    assert split >= 1


def test_tlm_pairs(encoded):
    _, out, _, sp, by_obj, _ = encoded
    pairs = _texts(out, "pairs", "pair_id")
    assert len(by_obj["tlm"]) == len(pairs) - 1
    for e in by_obj["tlm"]:
        p = pairs[e["example_id"]]
        src, tgt = sp.encode(p["src_text"]), sp.encode(p["tgt_text"])
        assert e["input_ids"] == src + tgt and e["segment_start"] == len(src)
        assert (e["lang"], e["lang2"]) == (p["src_lang"], p["tgt_lang"])
        assert sp.decode(e["input_ids"][: e["segment_start"]]) == norm(sp, p["src_text"])
        assert len(src) <= 100 and len(tgt) <= 100
    assert {f.split("/")[0] for f in list_shards(str(out / "tokens" / "tlm"))} == {"deu_Latn-eng_Latn"}


@pytest.mark.parametrize("objective,rel", [("cs", "codeswitch/alm"), ("cs", "codeswitch/dict"),
                                           ("entity", "codeswitch/entitycs")])
def test_codeswitch_spans_point_at_their_subwords(encoded, objective, rel):
    _, out, _, sp, by_obj, _ = encoded
    samples = _texts(out, rel, "cs_id")
    got = {e["example_id"]: e for e in by_obj[objective]}
    checked = 0
    for cs_id, s in samples.items():
        if cs_id not in got:
            assert s["cs_id"] and any(sp_["end"] > len(s["text"]) for sp_ in s["spans"])  # the broken one
            continue
        e = got[cs_id]
        assert sp.decode(e["input_ids"]) == norm(sp, s["text"])
        assert len(e["entity_spans"]) == len(s["spans"])
        for tok, char in zip(e["entity_spans"], sorted(s["spans"], key=lambda x: x["start"]), strict=True):
            label = s["text"][char["start"]:char["end"]]
            assert sp.decode(e["input_ids"][tok["start"]:tok["end"]]) == label
            # the span's first subword starts the label: nothing of the text before it leaks in
            assert sp.decode(e["input_ids"][tok["start"]:tok["start"] + 1]).strip() == \
                sp.decode(sp.encode(label)[:1]).strip() or char["start"] > 0
        checked += 1
    assert checked >= 1
    if objective == "entity":
        assert {e["lang"] for e in by_obj["entity"]} == {"deu_Latn", "rus_Cyrl", "zho_Hani", "arb_Arab"}
    else:
        assert {e["lang"] for e in by_obj["cs"]} == {"eng_Latn"}


def test_glued_spans_tokenize_in_context():
    text = "Paris, then 北京!"
    spans = [{"start": 0, "end": 5}, {"start": 12, "end": 14}]
    assert plan_spans(text, spans) == [("", True), ("Paris", True), (", then ", False), ("北京", True), ("!", False)]
    assert plan_spans("a(USA)b", [{"start": 2, "end": 5}]) == [("a(", True), ("USA", False), (")b", False)]


def test_block_splitter_prefers_lines_then_sentences_then_words():
    pieces = ["<s>", "▁a", "▁b.", "▁c", "d", "▁e"]
    t = PieceTables(pieces)
    ids = np.array([1, 1, 2, 1, 1, 3, 4, 5, 3, 4], dtype=np.int32)  # a a b. a a c d e c d
    rank = boundary_ranks(ids, [0, 7], t)
    assert rank[3] == 1 and rank[7] == 0 and rank[1] == 2 and rank[6] == 3
    assert split_blocks(rank, 8) == [(0, 7), (7, 10)]
    assert split_blocks(rank, 4) == [(0, 3), (3, 7), (7, 10)]
    assert split_blocks(rank, 3) == [(0, 3), (3, 5), (5, 7), (7, 10)]
    assert split_blocks(np.full(11, 3, dtype=np.int8), 4) == [(0, 4), (4, 8), (8, 10)]  # no boundary: hard cuts
    for blocks in (split_blocks(rank, m) for m in range(1, 12)):
        assert blocks[0][0] == 0 and blocks[-1][1] == 10
        assert all(a < b and b == c for (a, b), (c, _) in zip(blocks, blocks[1:] + [(10, 0)], strict=True))


def test_shards_memory_map_and_open_with_datasets(encoded):
    _, out, _, _, by_obj, _ = encoded
    path = str(out / "tokens" / "mlm" / list_shards(str(out / "tokens" / "mlm"))[0])
    before = pa.total_allocated_bytes()
    with pa.memory_map(path) as source:
        table = ipc.open_file(source).read_all()
        n_ids = sum(len(chunk.values) for chunk in table.column("input_ids").chunks)
        assert pa.total_allocated_bytes() == before, "reading a mapped shard must not copy its buffers"
        assert table.schema.field("input_ids").type == pa.list_(pa.int32())
        assert n_ids == pa.compute.sum(table.column("n_tokens")).as_py()
    from datasets import load_dataset

    files = [str(out / "tokens" / "mlm" / f) for f in list_shards(str(out / "tokens" / "mlm"))]
    ds = load_dataset("arrow", data_files=files, split="train")
    assert len(ds) == len(by_obj["mlm"]) and set(ds.column_names) >= {"input_ids", "n_tokens", "lang"}
    rej = [str(out / "rejects" / "encode" / f) for f in list_shards(str(out / "rejects" / "encode"))]
    assert len(load_dataset("parquet", data_files=rej, split="train")) == 3


def test_sampling_json_matches_shards(encoded):
    cfg, out, _, sp, by_obj, _ = encoded
    s = json.loads((out / "tokens" / "sampling.json").read_text())
    assert s["format"] == 1 and s["alpha"] == 0.3 and s["seed"] == 0
    tok = s["tokenizer"]
    assert tok["vocab_size"] == sp.get_piece_size() and tok["special"] == {"bos": 0, "pad": 1, "eos": 2, "unk": 3,
                                                                          "mask": 4}
    assert (out / "tokens" / tok["model"]).is_file() and (out / "tokens" / tok["hf_dir"] / "tokenizer.json").is_file()
    assert tok["markers"]["deu_Latn"] == [sp.piece_to_id("<deu_Latn>"), sp.piece_to_id("</deu_Latn>")]
    assert tok["sha256"] == hashlib.sha256((out / "tokenizer" / "spm.model").read_bytes()).hexdigest()
    assert set(s["objectives"]) == set(OBJECTIVES)
    for obj, o in s["objectives"].items():
        streams = o["streams"]
        assert sum(st["examples"] for st in streams.values()) == len(by_obj[obj])
        assert sum(st["tokens"] for st in streams.values()) == sum(len(e["input_ids"]) for e in by_obj[obj])
        for st in streams.values():
            rows = [e for f in st["files"] for e in ipc.open_file(pa.memory_map(str(out / "tokens" / f))).read_all()
                    .to_pylist()]
            assert len(rows) == st["examples"] and sum(r["n_tokens"] for r in rows) == st["tokens"]
        if streams:
            assert sum(st["p_raw"] for st in streams.values()) == pytest.approx(1)
            assert sum(st["p_smoothed"] for st in streams.values()) == pytest.approx(1)
            tokens = {k: st["tokens"] for k, st in streams.items()}  # p ∝ tokens^α within the objective
            assert {k: st["p_smoothed"] for k, st in streams.items()} == pytest.approx(smoothed_probs(tokens, 0.3))
            assert {k: st["p_raw"] for k, st in streams.items()} == pytest.approx(raw_probs(tokens))
    mlm = s["objectives"]["mlm"]["streams"]
    assert mlm["arb_Arab"]["p_smoothed"] > mlm["arb_Arab"]["p_raw"]
    assert mlm["eng_Latn"]["p_smoothed"] < mlm["eng_Latn"]["p_raw"]


def test_rerun_is_byte_identical_with_two_workers_and_lz4_reads_back(encoded, tmp_path):
    from flows.config import load_config
    from flows.stages import encode

    cfg, out, _, _, by_obj, _ = encoded
    manifests = {obj: (out / "tokens" / obj / "manifest.json").read_text() for obj in OBJECTIVES}
    sampling = (out / "tokens" / "sampling.json").read_text()
    cfg2 = load_config(None, {**cfg.model_dump(), "runner": {"workers": 2}})
    encode.run(cfg2, force=True)  # same key (runner is not part of it): forced rerun, 2 processes
    for obj in OBJECTIVES:
        assert (out / "tokens" / obj / "manifest.json").read_text() == manifests[obj], obj
    assert (out / "tokens" / "sampling.json").read_text() == sampling
    cfg3 = load_config(None, {**cfg.model_dump(), "encode": {**cfg.encode.model_dump(), "compression": "lz4"}})
    encode.run(cfg3)
    lz4 = records(str(out / "tokens" / "entity"))
    assert sorted(lz4, key=lambda e: e["example_id"]) == sorted(by_obj["entity"], key=lambda e: e["example_id"])
    assert json.loads((out / "tokens" / "entity" / "manifest.json").read_text())["files"][0]["sha256"] != \
        json.loads(manifests["entity"])["files"][0]["sha256"]


def test_random_texts_round_trip_through_spans(encoded):
    """Spans at random word positions, glued to punctuation or not, always decode to their text."""
    from pipelines.encode.examples import Encoder, finish_spans, plan_spans

    _, out, _, sp, _, _ = encoded
    enc = Encoder((out / "tokenizer" / "spm.model").read_bytes())
    r = random.Random(0)
    for _ in range(100):
        lang = r.choice(["eng_Latn", "zho_Hani", "rus_Cyrl"])
        text = sentence(lang, r)
        a = r.randrange(0, len(text) - 2)
        b = r.randrange(a + 1, len(text))
        if not text[a:b].strip() or text[a:b] != text[a:b].strip():
            continue
        spans = [{"start": a, "end": b}]
        e = finish_spans("x", "p", "cs", lang, enc.encode(plan_spans(text, spans)), 10_000)
        (tok,) = e["entity_spans"]
        assert sp.decode(e["input_ids"][tok["start"]:tok["end"]]) == text[a:b]
        assert sp.decode(e["input_ids"]) == norm(sp, text)


def test_chunked_writer_matches_write_shards_byte_for_byte(encoded, tmp_path):
    """WriteTokenShards (Arrow chunks through the shuffle) writes exactly the files WriteShards would."""
    import apache_beam as beam

    from pipelines.encode.pipeline import partition_of
    from pipelines.encode.write import WriteTokenShards, to_chunk
    from pipelines.shards import WriteShards
    from schemas.tokens import TOKENS

    _, _, _, _, by_obj, _ = encoded
    rows = by_obj["mlm"] + by_obj["entity"]
    arrays = [{**e, "input_ids": np.array(e["input_ids"], dtype=np.int32)} for e in rows]
    groups: dict[str, list[dict]] = {}
    for i, e in enumerate(arrays):
        groups.setdefault(f"{partition_of(e)}|{i % 7}", []).append(e)  # several chunks per partition
    chunks = [(k.split("|")[0], to_chunk(v)) for k, v in sorted(groups.items())]
    a, b = tmp_path / "a", tmp_path / "b"
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = p | "Rows" >> beam.Create(rows) | WriteShards(str(a), TOKENS, partition_of, "example_id",
                                                          target_shard_bytes=3000, fmt="arrow")
        _ = p | "Chunks" >> beam.Create(chunks) | WriteTokenShards(str(b), target_shard_bytes=3000)
    files = list_shards(str(a))
    assert len(files) > 5 and files == list_shards(str(b))
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_document_batch_matches_one_document_at_a_time(encoded):
    """encode_documents (all lines of a batch in one call, blocks as ranges of one flat array,
    several languages in one batch) gives exactly the blocks of encoding and splitting each
    document on its own, and drops what it should."""
    from pipelines.encode.examples import Encoder
    from pipelines.encode.pipeline import EncodeSettings, encode_documents

    _, out, _, sp, _, _ = encoded
    enc = Encoder((out / "tokenizer" / "spm.model").read_bytes())
    r = random.Random(3)
    langs = ["eng_Latn", "zho_Hani", "rus_Cyrl", "deu_Latn"]
    docs = []
    for i in range(60):
        lang = r.choice(langs)
        lines = [" ".join(sentence(lang, r) for _ in range(r.randint(1, 4))) for _ in range(r.randint(1, 6))]
        if i % 7 == 0:
            lines.insert(1, "   ")  # blank lines inside a document
        docs.append({"doc_id": f"d{i:03d}", "lang": lang, "text": "\n".join(lines)})
    docs[5]["text"], docs[9]["text"] = " \n\t\n", None  # nothing to encode
    s = EncodeSettings(max_tokens=20, languages=frozenset(langs[:3]))
    cols = {k: [d[k] for d in docs] for k in ("doc_id", "lang", "text")}
    res = encode_documents(cols, enc, s)

    want_blocks, want_drops = {}, {}
    for i, d in enumerate(docs):
        if d["lang"] not in s.languages:
            want_drops[i] = "lang_not_in_set"
            continue
        line_ids = [sp.encode(x.strip()) for x in (d["text"] or "").splitlines() if x.strip()]
        line_ids = [x for x in line_ids if x]
        ids = np.array([t for x in line_ids for t in x], dtype=np.int32)
        if not len(ids):
            want_drops[i] = "empty"
            continue
        starts = np.cumsum([0] + [len(x) for x in line_ids[:-1]]).tolist()
        cuts = split_blocks(boundary_ranks(ids, starts, enc.tables), s.max_tokens)
        for k, (a, b) in enumerate(cuts):
            want_blocks[f"{d['doc_id']}-{k:05d}"] = (d["lang"], ids[a:b].tolist())
    assert {i: why.reason for i, why in res.dropped} == want_drops
    assert any(k.endswith("-00002") for k in want_blocks) and len(set(want_drops.values())) == 2
    got = {}
    for part, cols_ in res.examples.items():
        for row in cols_.table().to_pylist():
            assert row["lang"] == part and row["objective"] == "mlm" and row["n_tokens"] == len(row["input_ids"])
            got[row["example_id"]] = (row["lang"], row["input_ids"])
    assert len(res.examples) == 3 and got == want_blocks
    assert max(len(ids) for _, ids in got.values()) == s.max_tokens


def test_chunk_size_is_what_write_shards_would_count(encoded):
    """ExampleColumns.approx_bytes sums pipelines.shards.approx_bytes column by column: the shard
    count, and so every file, depends on it."""
    from pipelines.encode.write import ExampleColumns
    from pipelines.shards import approx_bytes

    _, _, _, _, by_obj, _ = encoded
    for obj in OBJECTIVES:
        cols = ExampleColumns()
        for e in by_obj[obj]:
            cols.add(e)
        assert len(cols) and cols.approx_bytes() == sum(approx_bytes(e) for e in by_obj[obj]), obj
