"""Tokenizer stage: smoothed sample, deterministic SentencePiece, markers kept whole, HF export.

`make_products` (also used by test_encode.py) writes small text products with the real schemas:
documents, pairs, and ALM / dictionary / EntityCS code-switched samples in five scripts.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pytest
import sentencepiece as spm

from flows.config import load_config
from pipelines.ids import stable_id
from pipelines.shards import write_table
from schemas.codeswitch import CODESWITCH
from schemas.documents import DOCUMENTS
from schemas.manifest import build_manifest, write_manifest
from schemas.parallel import PAIRS

WORDS = {
    "eng_Latn": "the house river city people water green small large walk speak write read morning evening "
                "friend market school bread music summer winter garden window teacher".split(),
    "deu_Latn": "das Haus Fluss Stadt Leute Wasser grün klein groß gehen sprechen schreiben lesen Morgen Abend "
                "Freund Markt Schule Brot Musik Sommer Winter Garten Fenster Lehrer".split(),
    "rus_Cyrl": "дом река город люди вода зелёный маленький большой идти говорить писать читать утро вечер "
                "друг рынок школа хлеб музыка лето зима сад окно учитель".split(),
    "zho_Hani": "房子 河流 城市 人们 水 绿色 小 大 走 说 写 读 早晨 晚上 朋友 市场 学校 面包 音乐 夏天 冬天 花园 窗户 老师".split(),
    "arb_Arab": "بيت نهر مدينة ناس ماء أخضر صغير كبير يمشي يتكلم يكتب يقرأ صباح مساء صديق سوق مدرسة خبز "
                "موسيقى صيف شتاء حديقة نافذة معلم".split(),
}
COUNTS = {"eng_Latn": 240, "deu_Latn": 90, "rus_Cyrl": 40, "zho_Hani": 30, "arb_Arab": 12}
TINY = {"vocab_size": 700, "sample_sentences": 3000, "hard_vocab_limit": False}


def sentence(lang: str, r: random.Random, n: int | None = None) -> str:
    words = [r.choice(WORDS[lang]) for _ in range(n or r.randint(4, 11))]
    if lang == "zho_Hani":
        return "".join(words) + "。"
    return " ".join(words).capitalize() + r.choice([".", ".", "!", "?"])


def _write(out: Path, rel: str, schema: pa.Schema, rows: list[dict], part_key) -> None:
    d = out / rel
    parts: dict[str, list[dict]] = {}
    for row in rows:
        parts.setdefault(part_key(row), []).append(row)
    for part, rs in sorted(parts.items()):
        full = [{f.name: r.get(f.name) for f in schema} for r in rs]
        write_table(pa.Table.from_pylist(full, schema=schema), str(d / part / "part-00000.parquet"), "parquet", None)
    n = len(rows)
    write_manifest(str(d), build_manifest(str(d), schema, "fixture", {"rows.read": n, "rows.kept": n}, "h", {}, "v"))


def _doc(lang: str, i: int, text: str) -> dict:
    return {"doc_id": stable_id(lang, i), "source": "fixture", "lang": lang, "lang_score": 1.0, "text": text}


def _cs(kind: str, i: int, matrix: str, parts: list[tuple[str, str | None, str | None]]) -> dict:
    """parts: (text, span lang or None, original) concatenated into text/spans/marked_text."""
    text, marked, spans = "", "", []
    for chunk, lang, original in parts:
        if lang:
            spans.append({"start": len(text), "end": len(text) + len(chunk), "lang": lang, "original": original})
            marked += f"<{lang}>{chunk}</{lang}>"
        else:
            marked += chunk
        text += chunk
    langs = sorted({matrix, *(s["lang"] for s in spans)})
    return {"cs_id": stable_id(kind, i), "parent_id": stable_id("p", i), "kind": kind, "matrix_lang": matrix,
            "langs": langs, "text": text, "spans": spans, "marked_text": marked, "source_marked_text": None}


ENTITY_SAMPLES = [
    ("deu_Latn", [("Yesterday we flew from ", None, None), ("Paris", "deu_Latn", "Paris"), (" to ", None, None),
                  ("Frankreichs Hauptstadt", "deu_Latn", "France's capital"), (", then home.", None, None)]),
    ("deu_Latn", [("The ", None, None), ("Vereinigten Staaten", "deu_Latn", "United States"),
                  (" (", None, None), ("USA", "deu_Latn", "USA"), (") grow.", None, None)]),
    ("rus_Cyrl", [("Москва", "rus_Cyrl", "Moscow"), (" is large; ", None, None),
                  ("Санкт-Петербург", "rus_Cyrl", "Saint Petersburg"), ("'s river flows.", None, None)]),
    ("zho_Hani", [("We visited ", None, None), ("北京", "zho_Hani", "Beijing"), (" and ", None, None),
                  ("上海", "zho_Hani", "Shanghai"), ("!", None, None)]),
    ("arb_Arab", [("The city of ", None, None), ("القاهرة", "arb_Arab", "Cairo"), (" is old.", None, None)]),
]


def make_products(out: Path, seed: int = 1) -> dict[str, int]:
    """Write documents, pairs, codeswitch/{alm,dict,entitycs} under out; returns row counts."""
    r = random.Random(seed)
    docs = []
    for lang, n in COUNTS.items():
        for i in range(n):
            lines = [" ".join(sentence(lang, r) for _ in range(r.randint(1, 3))) for _ in range(r.randint(1, 4))]
            docs.append(_doc(lang, i, "\n".join(lines)))
    # a long multi-line document (block splitting) and an empty one (dropped)
    docs.append(_doc("eng_Latn", 10_000, "\n".join(" ".join(sentence("eng_Latn", r) for _ in range(6))
                                                    for _ in range(12))))
    docs.append(_doc("eng_Latn", 10_001, "  \n \n"))
    pairs = []
    for i in range(60):
        pairs.append({"pair_id": stable_id("pair", i), "corpus": "fixture", "src_lang": "deu_Latn",
                      "tgt_lang": "eng_Latn", "src_text": sentence("deu_Latn", r), "tgt_text": sentence("eng_Latn", r),
                      "src_tokens": [], "tgt_tokens": [], "src_offsets": [], "tgt_offsets": []})
    pairs.append({**pairs[0], "pair_id": stable_id("pair", "long"), "src_text": sentence("deu_Latn", r, 400)})
    alm, dic = [], []
    for i in range(40):
        a, b = sentence("eng_Latn", r, 3), sentence("eng_Latn", r, 4)
        alm.append(_cs("alm", i, "eng_Latn", [(a[:-1] + " ", None, None), (r.choice(WORDS["deu_Latn"]), "deu_Latn",
                                                                              "x"), (" " + b, None, None)]))
        dic.append(_cs("dict", i, "eng_Latn", [(a[:-1] + " ", None, None), (r.choice(WORDS["rus_Cyrl"]), "rus_Cyrl",
                                                                              "y"), (" " + b, None, None)]))
    bad = _cs("alm", 999, "eng_Latn", [("broken", None, None)])
    bad["spans"] = [{"start": 3, "end": 99, "lang": "deu_Latn", "original": "z"}]
    alm.append(bad)
    ent = [_cs("entitycs", i, "eng_Latn", parts) for i, (_, parts) in enumerate(ENTITY_SAMPLES)]
    _write(out, "documents", DOCUMENTS, docs, lambda d: d["lang"])
    _write(out, "pairs", PAIRS, pairs, lambda p: f"{p['src_lang']}-{p['tgt_lang']}")
    _write(out, "codeswitch/alm", CODESWITCH, alm, lambda s: "deu_Latn-eng_Latn")
    _write(out, "codeswitch/dict", CODESWITCH, dic, lambda s: "eng_Latn-rus_Cyrl")
    _write(out, "codeswitch/entitycs", CODESWITCH, ent, lambda s: s["spans"][0]["lang"])
    return {"documents": len(docs), "pairs": len(pairs), "alm": len(alm), "dict": len(dic), "entitycs": len(ent)}


def config(out: Path, **tokenizer):
    return load_config(None, {"out": str(out), "tokenizer": {**TINY, **tokenizer},
                              "encode": {"max_tokens": 64, "target_shard_mb": 0.004}})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from flows.stages import tokenizer

    out = tmp_path_factory.mktemp("tok") / "out"
    make_products(out)
    cfg = config(out)
    report = tokenizer.run(cfg)
    return cfg, out, report


def test_stage_writes_model_vocab_stats_and_hf(built):
    cfg, out, report = built
    tok = out / "tokenizer"
    assert {"spm.model", "spm.vocab", "sample_stats.json", "hf"} <= {p.name for p in tok.iterdir()}
    stats = json.loads((tok / "sample_stats.json").read_text())
    assert stats["alpha"] == 0.3 and stats["seed"] == 0
    langs = stats["languages"]
    assert set(langs) == set(WORDS)
    assert sum(v["sampled"] for v in langs.values()) == stats["sample_lines"]
    assert sum(v["target"] for v in langs.values()) == 3000  # quotas sum exactly; the draw is ±√n
    for v in langs.values():
        assert abs(v["sampled"] - v["target"]) <= 5 * v["target"] ** 0.5 + 1, v
    # smoothing: the smallest language gets far more than its raw share, and is repeated to get it
    arb = langs["arb_Arab"]
    assert arb["p_smoothed"] > 2 * arb["p_raw"]
    assert arb["sampled"] > arb["available"] and arb["distinct"] == arb["available"]
    assert report.counters["sentences.read"] == report.counters["sentences.kept"]


def test_hash_threshold_draw_hits_the_smoothed_shares():
    """Per-language shares of the draw (plain functions, no Beam) are the smoothed probabilities
    within binomial noise, and a language with too few sentences is repeated whole."""
    from pipelines.smoothing import smoothed_probs
    from pipelines.tokenizer.sample import SampleSettings, draw_times, plan_rates

    available = {"eng_Latn": 40_000, "deu_Latn": 9_000, "rus_Cyrl": 2_000, "zho_Hani": 300, "arb_Arab": 40}
    s = SampleSettings(total=20_000, alpha=0.3, seed=11)
    rates = plan_rates(available, s)
    p = smoothed_probs(available, s.alpha)
    drawn = {lang: sum(draw_times(rates[lang], s.seed, f"{lang}-doc{i}\x000") for i in range(n))
             for lang, n in available.items()}
    total = sum(drawn.values())
    assert abs(total - s.total) <= 5 * s.total ** 0.5
    for lang, n in available.items():
        frac = rates[lang] - int(rates[lang])
        sd = (n * frac * (1 - frac)) ** 0.5
        assert abs(drawn[lang] - rates[lang] * n) <= 5 * sd + 1, lang
        assert abs(drawn[lang] / total - p[lang]) < 0.01, lang
    assert rates["arb_Arab"] > 1 and drawn["arb_Arab"] >= int(rates["arb_Arab"]) * 40
    # the draw of a sentence depends only on (seed, key): another seed draws other sentences
    keys = [f"eng_Latn-doc{i}\x000" for i in range(2000)]
    assert [draw_times(0.3, 11, k) for k in keys] != [draw_times(0.3, 12, k) for k in keys]


def test_sample_files_are_what_the_plain_draw_gives(tmp_path):
    """The Beam pipeline's sample files hold, shard by shard and in row order, exactly the lines the
    plain per-shard draw gives (each sentence repeated as often as drawn)."""
    import apache_beam as beam

    from pipelines.tokenizer.sample import (
        DrawSample,
        SampleReader,
        SampleSettings,
        count_shard,
        describe,
        draw_shard,
        list_sample_files,
        plan_rates,
    )
    from pipelines.tokenizer.sources import shard_paths

    out = tmp_path / "p"
    make_products(out)
    shards = [p for rel in ("codeswitch/alm", "documents", "pairs") for p in shard_paths(str(out / rel))]
    s = SampleSettings(total=900, alpha=0.5, seed=3, max_chars=300)
    sample_dir = str(tmp_path / "sample")
    with beam.Pipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=FnApiRunner"])) as p:
        _ = p | DrawSample(shards, sample_dir, s)
    files = list_sample_files(sample_dir)
    available: dict = {}
    for path in shards:
        for lang, n in count_shard(path, s)[0].items():
            available[lang] = available.get(lang, 0) + n
    rates = plan_rates(available, s)
    want = [line for path in shards for _, line, times in draw_shard(path, rates, s) for line in [line] * times]
    reader = SampleReader(files)
    assert list(reader) == want and reader.lines == len(want)
    assert [f.rsplit("/", 1)[-1] for f in files] == sorted(f.rsplit("/", 1)[-1] for f in files)
    counters = {"sample[x_Latn].available": 0}  # describe() reads only counters: a language with none
    assert describe(counters, files, s).languages["x_Latn"]["sampled"] == 0


def test_special_ids_and_markers_kept_whole(built):
    cfg, out, _ = built
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer" / "spm.model"))
    assert [sp.id_to_piece(i) for i in range(5)] == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    assert (sp.bos_id(), sp.pad_id(), sp.eos_id(), sp.unk_id()) == (0, 1, 2, 3)
    for lang in WORDS:
        pieces = sp.encode(f"we saw <{lang}>Haus</{lang}> today", out_type=str)
        assert f"<{lang}>" in pieces and f"</{lang}>" in pieces
    assert "<mask>" in sp.encode("a <mask> b", out_type=str)
    # byte fallback: a character never seen still round-trips, without <unk>
    ids = sp.encode("snow ☃ 𝄞")
    assert sp.unk_id() not in ids and sp.decode(ids) == "snow ☃ 𝄞"


def test_training_is_deterministic(built, tmp_path):
    from flows.stages import tokenizer

    cfg, out, _ = built
    out2 = tmp_path / "again"
    make_products(out2)
    tokenizer.run(config(out2))
    for name in ("spm.model", "spm.vocab", "sample_stats.json", "hf/tokenizer.json"):
        assert (out / "tokenizer" / name).read_bytes() == (out2 / "tokenizer" / name).read_bytes(), name
    # and a different seed draws a different sample
    out3 = tmp_path / "seed"
    make_products(out3)
    cfg3 = load_config(None, {"out": str(out3), "seed": 7, "tokenizer": TINY})
    tokenizer.run(cfg3)
    s1 = json.loads((out / "tokenizer" / "sample_stats.json").read_text())
    s3 = json.loads((out3 / "tokenizer" / "sample_stats.json").read_text())
    assert s1["sample_sha256"] != s3["sample_sha256"]


def test_hf_tokenizer_gives_spm_ids(built):
    from transformers import AutoTokenizer

    _, out, _ = built
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer" / "spm.model"))
    hf = AutoTokenizer.from_pretrained(str(out / "tokenizer" / "hf"))
    assert (hf.bos_token_id, hf.pad_token_id, hf.eos_token_id, hf.unk_token_id) == (0, 1, 2, 3)
    assert hf.mask_token == "<mask>" and hf.mask_token_id == sp.piece_to_id("<mask>")
    r = random.Random(5)
    texts = [sentence(lang, r) for lang in WORDS for _ in range(4)]
    texts += ["  leading and  double  spaces  ", "tab\there\nnewline", "Ｆｕｌｌｗｉｄｔｈ ﬁ ①", "emoji 😀 ☃", "",
              "日本語のテキスト", "Ελληνικά κείμενα", "हिन्दी पाठ"]
    for t in texts:
        assert hf(t, add_special_tokens=False)["input_ids"] == sp.encode(t), t
        assert hf(t)["input_ids"] == [0] + sp.encode(t) + [2]
    ids = sp.encode(texts[0])
    assert hf.decode(ids) == sp.decode(ids)


def test_bpe_option_and_language_filter(tmp_path):
    from flows.stages import tokenizer

    out = tmp_path / "bpe"
    make_products(out)
    cfg = load_config(None, {"out": str(out), "languages": ["eng_Latn", "deu_Latn"],
                             "tokenizer": {**TINY, "model_type": "bpe", "vocab_size": 600}})
    report = tokenizer.run(cfg)
    stats = json.loads((out / "tokenizer" / "sample_stats.json").read_text())
    assert set(stats["languages"]) == {"eng_Latn", "deu_Latn"}
    assert report.counters["sentences.dropped.lang_not_in_set"] > 0
    assert set(stats["tokenizer"]["markers"]) == {"eng_Latn", "deu_Latn"}
    from transformers import AutoTokenizer

    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer" / "spm.model"))
    hf = AutoTokenizer.from_pretrained(str(out / "tokenizer" / "hf"))
    r = random.Random(3)
    for t in [sentence("eng_Latn", r) for _ in range(5)] + [sentence("deu_Latn", r) for _ in range(5)]:
        assert hf(t, add_special_tokens=False)["input_ids"] == sp.encode(t), t


def test_too_small_vocab_is_a_clear_error(tmp_path):
    from flows.config import ConfigError
    from flows.stages import tokenizer

    out = tmp_path / "small"
    make_products(out)
    with pytest.raises(ConfigError, match="vocab_size"):
        tokenizer.run(load_config(None, {"out": str(out), "tokenizer": {**TINY, "vocab_size": 300}}))
    with pytest.raises(ConfigError, match="vocab_size"):
        tokenizer.run(load_config(None, {"out": str(out),
                                         "tokenizer": {**TINY, "vocab_size": 30000, "hard_vocab_limit": True}}))


def test_dry_run_builds_the_sample_pipeline_and_trains_nothing(tmp_path):
    from flows.stage_runner import dry_run
    from flows.stages import tokenizer

    out = tmp_path / "dry"
    make_products(out)
    with dry_run(str(tmp_path / "graphs")) as plan:
        report = tokenizer.run(config(out))
    assert report.extra == {"dry_run": True, "pipeline": True, "up_to_date": False}
    names = [t["name"] for t in plan.graphs["tokenizer"]["transforms"]]
    assert names == ["Sample"]
    assert not (out / "tokenizer").exists() and not (out / "_stages").exists()
