"""Parallel stage: readers, every reject reason, tokenization, phrase extraction, ALM and dictionary
code-switching, and the whole stage (products, reconciled counters, byte-identical reruns)."""

from __future__ import annotations

import itertools
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.parallel.alm import AlmSettings, alm_samples, extract_phrases, is_consistent
from pipelines.parallel.clean import CleanSettings, check_lid, check_pair, pair_dedup_key, prepare_pair
from pipelines.parallel.dictcs import DictSettings, best_candidates, dict_samples
from pipelines.parallel.readers import ParallelInputError, check_spec, make_spec, pair_from_name, read_input
from pipelines.parallel.tokenize import word_tokens

# --- readers -------------------------------------------------------------------------------------


def test_moses_reader_and_line_count_mismatch(tmp_path):
    de, en = tmp_path / "c.de", tmp_path / "c.en"
    de.write_bytes("Guten Morgen.\nGr\xfc\xdfe.\n".encode("latin-1"))  # line 2 is not UTF-8
    en.write_text("Good morning.\nGreetings.\n", encoding="utf-8")
    spec = make_spec({"format": "moses", "src_path": str(de), "tgt_path": str(en), "src_lang": "de", "tgt_lang": "en"})
    assert (spec.src_lang, spec.tgt_lang, spec.corpus) == ("deu_Latn", "eng_Latn", "c")
    check_spec(spec)
    recs = list(read_input(spec))
    assert recs[0]["src_text"] == "Guten Morgen." and recs[0]["offset"] == 1
    assert recs[1]["reason"] == "bad_encoding" and recs[1]["offset"] == 2 and recs[1]["source"] == str(de)
    en.write_text("Good morning.\nGreetings.\nOne more.\n", encoding="utf-8")
    check_spec(spec)  # reads first lines only: a length mismatch is found while reading
    bad = [r for r in read_input(spec) if r.get("reason") == "length_mismatch"]
    assert len(bad) == 1 and bad[0]["source"] == str(en) and bad[0]["offset"] == 3
    assert str(de) in bad[0]["detail"] and str(en) in bad[0]["detail"] and "has 2 lines" in bad[0]["detail"]
    assert f"{en} has 3" in bad[0]["detail"]
    de.write_text("a\nb\nc\n", encoding="utf-8")  # the source side longer by exactly one line
    en.write_text("a\nb\n", encoding="utf-8")
    recs = list(read_input(spec))
    assert [r.get("reason") for r in recs] == [None, None, "length_mismatch"]
    assert f"{de} has 3 lines, {en} has 2" in recs[-1]["detail"]


def test_tsv_reader_malformed_line_has_line_number(tmp_path):
    path = tmp_path / "news.fr-en.tsv"
    path.write_text("Bonjour.\tHello.\nsans tabulation\na\tb\tc\n", encoding="utf-8")
    spec = make_spec({"input_path": str(path)})  # format from the extension, pair from the name
    assert (spec.format, spec.src_lang, spec.tgt_lang) == ("tsv", "fra_Latn", "eng_Latn")
    recs = list(read_input(spec))
    assert recs[0]["tgt_text"] == "Hello."
    assert [(r["reason"], r["offset"]) for r in recs[1:]] == [("malformed_line", 2), ("malformed_line", 3)]
    assert "line 3 has 3" in recs[2]["detail"]


def test_tmx_reader_picks_configured_pair_and_drops_inline_codes(tmp_path):
    path = tmp_path / "mem.tmx"
    path.write_text(
        '<?xml version="1.0"?><tmx version="1.4"><header srclang="en"/><body>'
        '<tu><tuv xml:lang="en-US"><seg>The <bpt i="1">&lt;b&gt;</bpt>cat<ept i="1">&lt;/b&gt;</ept> sleeps.</seg></tuv>'
        '<tuv xml:lang="de-DE"><seg>Die Katze schläft.</seg></tuv><tuv xml:lang="fr"><seg>Le chat dort.</seg></tuv></tu>'
        '<tu><tuv xml:lang="en"><seg>Only English.</seg></tuv></tu>'
        '<tu><tuv lang="FR"><seg>Le <hi>grand</hi> chien.</seg></tuv><tuv lang="EN"><seg>The big dog.</seg></tuv></tu>'
        "</body></tmx>",
        encoding="utf-8",
    )
    recs = list(read_input(make_spec({"format": "tmx", "input_path": str(path), "src_lang": "fra", "tgt_lang": "eng"})))
    assert (recs[0]["src_text"], recs[0]["tgt_text"]) == ("Le chat dort.", "The cat sleeps.")
    assert recs[1]["reason"] == "missing_language" and recs[1]["offset"] == 2
    assert (recs[2]["src_text"], recs[2]["tgt_text"]) == ("Le grand chien.", "The big dog.")
    broken = tmp_path / "broken.tmx"
    broken.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    recs = list(read_input(make_spec({"format": "tmx", "input_path": str(broken), "src_lang": "de", "tgt_lang": "en"})))
    assert recs[-1]["reason"] == "malformed_xml" and "XML error" in recs[-1]["detail"]


def test_jsonl_and_parquet_readers(tmp_path):
    jl = tmp_path / "p.jsonl"
    jl.write_text(json.dumps({"es": "Hola.", "en": "Hello."}) + "\n{broken\n" + json.dumps({"es": 1, "en": "x"}) + "\n")
    spec = make_spec({"input_path": str(jl), "src_lang": "es", "tgt_lang": "en", "src_field": "es", "tgt_field": "en"})
    recs = list(read_input(spec))
    assert recs[0]["src_text"] == "Hola." and [r.get("reason") for r in recs[1:]] == ["malformed_line"] * 2
    pqf = tmp_path / "p.parquet"
    pq.write_table(pa.table({"src": ["Hallo.", None], "tgt": ["Hello.", "x"]}), pqf)
    spec = make_spec({"input_path": str(pqf), "src_lang": "de", "tgt_lang": "en"})
    check_spec(spec)
    recs = list(read_input(spec))
    assert recs[0]["tgt_text"] == "Hello." and recs[1]["reason"] == "malformed_line"
    bad = make_spec({"input_path": str(pqf), "src_lang": "de", "tgt_lang": "en", "src_field": "de"})
    with pytest.raises(ParallelInputError, match="no column de"):
        check_spec(bad)


def test_language_pair_from_names_and_errors():
    assert pair_from_name("data/europarl.de-en.tsv") == ("deu_Latn", "eng_Latn")
    assert pair_from_name("rus_Cyrl-eng_Latn.tmx") == ("rus_Cyrl", "eng_Latn")
    assert pair_from_name("corpus.tsv") is None
    with pytest.raises(ParallelInputError, match="no language pair"):
        make_spec({"input_path": "corpus.tsv"})
    with pytest.raises(ParallelInputError, match="src_path and tgt_path"):
        make_spec({"format": "moses", "src_path": "a.de", "src_lang": "de", "tgt_lang": "en"})


# --- cleaning: every reason ------------------------------------------------------------------------


def _raw(src: str, tgt: str, src_lang="deu_Latn", tgt_lang="eng_Latn") -> dict:
    return {"pair_id": "p", "corpus": "c", "source": "f", "offset": 1, "src_lang": src_lang, "tgt_lang": tgt_lang,
            "src_text": src, "tgt_text": tgt}


@pytest.mark.parametrize(
    "src,tgt,reason",
    [
        ("Das Haus.", "  ", "empty_side"),
        ("Berlin", "berlin", "identical"),
        ("Wort " * 300, "word " * 300, "too_long"),
        ("Ja.", "Yes, that is what I have been saying for the whole afternoon.", "length_ratio"),
        ("Das Haus ist klein.", "The house is small.", None),
    ],
)
def test_check_pair_reasons(src, tgt, reason):
    got = check_pair(prepare_pair(_raw(src, tgt)), CleanSettings())
    assert (got[0] if got else None) == reason


def test_lid_mismatch_with_real_fasttext():
    from pipelines.lid import LanguageIdentifier

    lid = LanguageIdentifier()
    s = CleanSettings()
    good = prepare_pair(_raw("Die Kinder spielen im Garten hinter der Schule.", "The children play in the garden."))
    assert check_lid(good, *lid.predict_batch([good["src_text"], good["tgt_text"]]), s) is None
    assert good["src_lid_score"] > 0.5
    bad = prepare_pair(_raw("The children are playing in the garden.", "He reads the newspaper every morning."))
    reason, detail = check_lid(bad, *lid.predict_batch([bad["src_text"], bad["tgt_text"]]), s)
    assert reason == "lid_mismatch" and "identified eng_Latn" in detail


def test_dedup_key_folds_case_whitespace_punctuation():
    a = prepare_pair(_raw("Das Haus ist klein.", "The house is small."))
    b = prepare_pair(_raw("  das  HAUS ist klein!", "The house is small"))
    assert pair_dedup_key(a) == pair_dedup_key(b)


# --- tokens, phrases, code-switching --------------------------------------------------------------


def test_word_tokens_offsets_and_unspaced_scripts():
    text = "L'homme don't stop, 东京很大. हिन्दी"
    toks, offs = word_tokens(text)
    assert [text[a:b] for a, b in offs] == toks
    assert toks == ["L'homme", "don't", "stop", ",", "东", "京", "很", "大", ".", "हिन्दी"]
    assert all(" " not in t for t in toks)
    # an apostrophe joins only two spaced-script word characters
    assert word_tokens("x'东 a'b ก'x")[0] == ["x", "'", "东", "a'b", "ก", "'", "x"]


def test_phrase_extraction_is_exactly_the_consistent_boxes():
    rng = random.Random(3)
    for _ in range(30):
        n, m = rng.randint(1, 7), rng.randint(1, 7)
        links = sorted({(rng.randrange(n), rng.randrange(m)) for _ in range(rng.randint(0, 9))})
        got = set(extract_phrases(n, m, links, max_words=4))
        want = set()
        for s1, t1 in itertools.product(range(n), range(m)):
            for s2, t2 in itertools.product(range(s1, min(n, s1 + 4)), range(t1, min(m, t1 + 4))):
                box = (s1, s2, t1, t2)
                # tight boxes: the target span is exactly the span of the source span's links
                tgts = [j for i, j in links if s1 <= i <= s2]
                if is_consistent(box, links) and tgts and (min(tgts), max(tgts)) == (t1, t2):
                    want.add(box)
        assert got == want
        assert all(is_consistent(p, links) for p in got)


def _aligned(src: str, tgt: str, links, src_lang="deu_Latn", tgt_lang="eng_Latn") -> dict:
    p = prepare_pair(_raw(src, tgt, src_lang, tgt_lang))
    p["pair_id"] = f"id-{src}"
    p["links"] = [{"src": i, "tgt": j} for i, j in links]
    return p


def test_alm_samples_respect_ratio_and_spans():
    src = "Der alte Mann liest jeden Morgen die Zeitung im Garten ."
    tgt = "The old man reads the newspaper every morning in the garden ."
    links = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 6), (5, 7), (6, 4), (7, 5), (8, 8), (8, 9), (9, 10), (10, 11)]
    rec = _aligned(src, tgt, links)
    samples = alm_samples(rec, AlmSettings(samples=3), seed=7)
    assert {s["matrix_lang"] for s in samples} == {"deu_Latn", "eng_Latn"}
    assert len(samples) == 6
    for s in samples:
        matrix, other = (src, tgt) if s["matrix_lang"] == "deu_Latn" else (tgt, src)
        n_matrix = len(word_tokens(matrix)[0])
        assert 0 < s["switched_fraction"] <= 0.3
        switched = sum(len(word_tokens(sp["original"])[0]) for sp in s["spans"])
        assert switched <= 0.3 * n_matrix
        for sp in s["spans"]:
            assert s["text"][sp["start"] : sp["end"]] in other  # the inserted phrase, from the other side
            assert sp["original"] in matrix and sp["lang"] != s["matrix_lang"]
            assert f"<{sp['lang']}>{s['text'][sp['start']:sp['end']]}</{sp['lang']}>" in s["marked_text"]
        assert s["marked_text"].replace(f"<{s['spans'][0]['lang']}>", "").replace(f"</{s['spans'][0]['lang']}>", "") == s["text"]
    assert alm_samples(rec, AlmSettings(samples=3), seed=7) == samples  # seeded
    assert alm_samples(rec, AlmSettings(samples=3), seed=8) != samples
    # too short for 30 %: nothing to switch
    assert alm_samples(_aligned("Haus .", "House .", [(0, 0), (1, 1)]), AlmSettings(), seed=0) == []


def test_dict_samples_multiple_languages_and_spans():
    text = "The house is small ."
    toks, offs = word_tokens(text)
    sent = {"sent_id": "x:tgt", "parent_id": "x", "lang": "eng_Latn", "text": text, "tokens": toks,
            "offsets": [{"start": a, "end": b} for a, b in offs], "pair": "deu_Latn-eng_Latn"}
    cands = {1: best_candidates([("deu_Latn", "haus", 0.9), ("fra_Latn", "maison", 0.8), ("deu_Latn", "gebäude", 0.1)], 5),
             3: [("deu_Latn", "klein", 1.0)], 0: [("fra_Latn", "le", 0.7)]}
    samples = dict_samples(sent, cands, DictSettings(p=1.0, samples=4), seed=0)
    assert len(samples) == 4
    langs_seen = set()
    for s in samples:
        assert len(s["spans"]) == 3
        for sp in s["spans"]:
            langs_seen.add(sp["lang"])
            assert s["text"][sp["start"] : sp["end"]] in {"Le", "haus", "maison", "klein"}
        assert {sp["original"] for sp in s["spans"]} == {"The", "house", "small"}
        assert s["text"].startswith("Le ")  # case of the original kept
    assert langs_seen == {"deu_Latn", "fra_Latn"}
    assert dict_samples(sent, cands, DictSettings(p=0.0001), seed=0) == []


# --- the stage ------------------------------------------------------------------------------------


def test_stage_end_to_end_products_rejects_and_reruns(tmp_path):
    import yaml

    from flows.config import load_config
    from flows.demo.parallel import make_section
    from flows.stages import parallel as stage
    from pipelines.shards import records
    from schemas.manifest import validate

    data = tmp_path / "data"
    data.mkdir()
    section = make_section(data, n_combined=12)
    section["parallel"]["align"]["eflomal"] = {"n_samplers": 1, "rel_iterations": 0.3}
    cfg_path = data / "p.yaml"
    cfg_path.write_text(yaml.safe_dump({"out": "../out", **section}), encoding="utf-8")
    cfg = load_config(cfg_path)
    assert stage.enabled(cfg)
    report = stage.run(cfg)
    c = report.counters
    reasons = {k.rsplit(".", 1)[-1] for k in c if k.startswith("pairs.dropped.")}
    assert reasons == {"empty_side", "identical", "too_long", "length_ratio", "lid_mismatch", "duplicate",
                       "malformed_line", "bad_encoding", "missing_language", "malformed_xml"}
    assert c["pairs.kept"] == c["align.read"] == c["align.kept"] == c["alm.read"]
    out = tmp_path / "out"
    manifests = {rel: validate(str(out / rel)) for rel in
                 ("pairs", "alignments", "lexicon", "codeswitch/alm", "codeswitch/dict", "rejects/parallel")}
    assert set(manifests["pairs"].partitions) == {"deu_Latn-eng_Latn", "fra_Latn-eng_Latn", "rus_Cyrl-eng_Latn"}
    assert manifests["rejects/parallel"].partitions["duplicate"] == c["pairs.dropped.duplicate"]
    assert manifests["lexicon"].partitions and set(manifests["lexicon"].partitions) <= set(manifests["pairs"].partitions)
    pairs = records(str(out / "pairs"))
    assert {"pair_id", "src_lang", "tgt_lang", "src_text", "tgt_text"} <= set(pairs[0])
    for p in pairs[:50]:
        assert [p["src_text"][o["start"]:o["end"]] for o in p["src_offsets"]] == p["src_tokens"]
    alm = records(str(out / "codeswitch" / "alm"))
    assert alm and all(s["kind"] == "alm" and s["spans"] for s in alm)
    for s in alm[:100]:
        for sp in s["spans"]:
            assert s["text"][sp["start"]:sp["end"]] and sp["original"]
    dict_cs = records(str(out / "codeswitch" / "dict"))
    assert any(len(s["langs"]) >= 3 for s in dict_cs)  # English switched into several languages
    lex = records(str(out / "lexicon"))
    assert all(e["count"] >= 2 and 0 < e["p_tgt_given_src"] <= 1 for e in lex)
    table = stage.summarize(cfg, {"counters": c})
    assert table.row_count == 3

    # rerun: skipped; forced rerun elsewhere: byte-identical shards
    assert stage.run(cfg).skipped
    cfg2 = cfg.model_copy(update={"out": str(tmp_path / "out2")})
    stage.run(cfg2, force=True)
    for rel, m in manifests.items():
        again = validate(str(tmp_path / "out2" / rel))
        assert [(f.path, f.sha256) for f in again.files] == [(f.path, f.sha256) for f in m.files], rel


# --- corpus scale: shared priors, hot keys, worker counts ----------------------------------------


def test_salted_join_spreads_a_hot_key_and_loses_nothing():
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    from pipelines.counters import metrics_by_name
    from pipelines.parallel.hotkeys import SaltedJoin

    many = [("the", f"s{k}") for k in range(500)] + [("haus", "s1"), ("haus", "s2")]
    one = [("the", "der"), ("haus", "house"), ("baum", "tree")]
    p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    joined = ({"one": p | "One" >> beam.Create(one), "many": p | "Many" >> beam.Create(many)}
              | SaltedJoin("t", "words", max_group=50, salt_of=str)
              | beam.FlatMap(lambda kv: [(kv[0], o, m) for o in kv[1]["one"] for m in kv[1]["many"]]))
    # every value joined exactly once, to its key's one-side value
    assert_that(joined, equal_to([(k, dict(one)[k], v) for k, v in many]))
    result = p.run()
    result.wait_until_finish()
    c = metrics_by_name(result, "t")
    assert c["skew.words.hot_keys"] == 1  # "the" (500 values > 50) was salted over 10 keys
    assert c["skew.words.max_group"] <= 50 + 25  # ~50 per salt (hash spread) + its one-side copy, not 501
    assert c["shuffle.words.elements"] == len(many) + 10 + 2  # "the"'s translation copied to each of 10 salts


def _stage_config(tmp_path, name: str, workers: int, max_group: int = 10000):
    import yaml

    from flows.config import load_config
    from flows.demo.parallel import make_section

    data = tmp_path / name / "data"
    data.mkdir(parents=True)
    section = make_section(data, n_combined=36)  # ~80 clean pairs per language pair: two chunks of 45
    section["parallel"]["align"].update({"chunk_size": 45, "eflomal": {"n_samplers": 1, "rel_iterations": 0.3}})
    section["parallel"]["hot_key_max_group"] = max_group
    (data / "p.yaml").write_text(yaml.safe_dump({"out": "../out", "runner": {"workers": workers}, **section}),
                                 encoding="utf-8")
    return load_config(data / "p.yaml")


def test_two_pass_alignment_byte_identical_at_one_and_two_workers_and_salted(tmp_path):
    """Pairs of several chunks get shared priors (pass 1), a product of their own; products are
    byte-identical with 1 worker or 2 worker processes, and with hot words salted or not."""
    from flows.stages import parallel as stage
    from pipelines.shards import records
    from schemas.manifest import validate

    one = stage.run(_stage_config(tmp_path, "one", workers=1))
    c = one.counters
    assert c["align.with_priors"] == c["align.kept"] > 0  # every language pair has 2+ chunks
    assert c["align_priors.sample.kept"] == c["align.kept"]  # a pair below sample_size: all of it in pass 1
    out = tmp_path / "one" / "out"
    priors = validate(str(out / "align_priors"))
    assert set(priors.partitions) == set(validate(str(out / "pairs")).partitions)
    assert priors.rows == sum(v for k, v in c.items() if k.startswith("align_priors.entries."))
    assert {r["kind"] for r in records(str(out / "align_priors"))} == {"LEX", "FERF", "FERR", "HMMF", "HMMR"}
    params = json.loads(records(str(out / "alignments"))[0]["params"])
    assert params["priors"]["source"] == "align_priors" and len(params["priors"]["digest"]) == 16
    assert 0 < c["skew.align_chunks.max_group"] <= 45 * 2  # a chunk is ~chunk_size pairs
    assert c["skew.dict_words.max_group"] > 20  # frequent words ("the") make large groups unsalted ...

    two = stage.run(_stage_config(tmp_path, "two", workers=2, max_group=20))
    assert two.counters["skew.dict_words.hot_keys"] > 0 and two.counters["skew.lexicon_src.max_group"] <= 20 + 20
    assert two.counters["skew.dict_words.max_group"] < c["skew.dict_words.max_group"]  # ... and salting cuts them
    for rel in ("alignments", "align_priors", "lexicon", "codeswitch/alm", "codeswitch/dict", "pairs"):
        a, b = validate(str(out / rel)), validate(str(tmp_path / "two" / "out" / rel))
        assert [(f.path, f.sha256) for f in a.files] == [(f.path, f.sha256) for f in b.files], rel
