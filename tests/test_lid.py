"""pipelines.lid on the real embedded lid.176 model (and small fastText models trained here):
labels with the script of their language, per-line labels, mixed-language documents, threshold tables."""

import json

import pytest

from flows.demo.crawl_text import CODE_PAGES, HALF_TRANSLATED, SENTENCES
from pipelines.langcodes import lang_code
from pipelines.lid import (
    LanguageIdentifier,
    LidModelError,
    LidThresholdsError,
    default_model_path,
    label_to_code,
    load_lid_thresholds,
    merged_thresholds,
)
from pipelines.mono.params import LidParams
from pipelines.mono.steps import identify_batch, label_lines
from pipelines.scripts import dominant_script

EXPECTED = {"eng": "eng_Latn", "deu": "deu_Latn", "fra": "fra_Latn", "spa": "spa_Latn", "rus": "rus_Cyrl",
            "ukr": "ukr_Cyrl", "ara": "ara_Arab", "hin": "hin_Deva", "zho": "zho_Hani", "jpn": "jpn_Jpan",
            "tha": "tha_Thai", "ell": "ell_Grek"}


@pytest.fixture(scope="module")
def lid():
    return LanguageIdentifier()


def _train(tmp_path, rows: list[tuple[str, str]], name: str = "m.bin") -> str:
    """A small real fastText model over (label, text) rows (labels as a model would spell them).
    These settings train without fastText's sporadic "Encountered NaN" on so little data."""
    import fasttext

    train = tmp_path / f"{name}.txt"
    train.write_text("".join(f"__label__{lab} {text}\n" for lab, text in rows * 20), encoding="utf-8")
    model = fasttext.train_supervised(str(train), epoch=100, lr=0.1, minn=1, maxn=3, dim=16, bucket=100000,
                                      thread=1, seed=0, verbose=0)
    path = tmp_path / name
    model.save_model(str(path))
    return str(path)


def test_default_model_is_packaged():
    assert default_model_path().endswith("lid.176.ftz")


def test_lid_twelve_languages(lid):
    texts = {lang: " ".join(s[:2]) for lang, s in SENTENCES.items()}
    preds, how = lid.predict_batch_counted(list(texts.values()))
    got = {lang: code for lang, (code, _) in zip(texts, preds, strict=True)}
    assert got == EXPECTED
    assert all(0.5 < p <= 1.0 for _, p in preds)
    assert how == {"script_from_text": 12}  # plain pages: the text's script is the language's
    # single and batch agree; a multi-line document is scored as one line
    assert lid.predict(texts["deu"])[0] == "deu_Latn"
    assert lid.predict("\n".join(SENTENCES["ukr"][:3]))[0] == "ukr_Cyrl"


@pytest.mark.parametrize("lang, script", [("jpn", "Jpan"), ("rus", "Cyrl"), ("ara", "Arab")])
def test_page_full_of_latin_code_terms_keeps_its_script(lid, lang, script):
    text = "\n".join(CODE_PAGES[lang])
    assert dominant_script(text) == "Latn"  # most letters are command names and options
    (code, score), = lid.predict_batch(([text]))
    assert code == f"{lang}_{script}" and score >= 0.5  # kept by the default threshold too
    _, how = lid.predict_batch_counted([text])
    assert how == {"script_from_text": 1, "script_corrected": 1}


def test_arabic_page_with_four_latin_letters_to_one_arabic(lid):
    extra = ["git fetch --prune --tags", "git bisect start HEAD v2.3.0", "git worktree add ../xlc-hotfix hotfix/2.4",
             "git gc --aggressive --prune=now", "git blame -L 10,40 src/lid.py", "git show --name-only 9c1e44a"]
    text = "\n".join(CODE_PAGES["ara"][:-1] + extra + CODE_PAGES["ara"][-1:])
    from pipelines.scripts import script_counts
    counts = script_counts(text)
    assert counts["Arab"] < 0.25 * counts["Latn"]  # the rule before this one gave ara_Latn here
    assert lid.predict(text)[0] == "ara_Arab"


def test_serbian_in_both_scripts_and_other_latin_languages(lid):
    cyr = "Београд је главни и највећи град Србије. Налази се на ушћу Саве у Дунав."
    lat = "Beograd je glavni i najveći grad Srbije. Nalazi se na ušću Save u Dunav. Grad ima dugu i bogatu istoriju."
    aze = "Bakı Azərbaycanın paytaxtı və ən böyük şəhəridir. Şəhər Xəzər dənizinin sahilində yerləşir."
    assert [c for c, _ in lid.predict_batch([cyr, lat, aze])] == ["srp_Cyrl", "srp_Latn", "aze_Latn"]
    # a Serbian Latin page with a Cyrillic quotation stays Latin: both are Serbian scripts, Latin has more
    assert lang_code("sr", lat + " Цитат: „Добар дан“.") == "srp_Latn"


def test_script_given_by_the_model_wins(tmp_path):
    path = _train(tmp_path, [("srp_Cyrl", "Ово је реченица на српском језику ."),
                             ("srp_Latn", "Ovo je rečenica na srpskom jeziku ."),
                             ("hin_Latn", "yeh ek vaakya hai jo hindi mein likha hai ."),
                             ("jpn_Jpan", "これは 日本語 の 文 です 。")])
    model = LanguageIdentifier(path)
    texts = ["Ovo je moja kuća .", "Ово је моја кућа .", "yeh mera ghar hai", "これは 私 の 家 です 。 ls -la git"]
    preds, how = model.predict_batch_counted(texts)
    assert [c for c, _ in preds] == ["srp_Latn", "srp_Cyrl", "hin_Latn", "jpn_Jpan"]  # romanized Hindi stays
    assert how == {"script_from_model": 4}


def test_model_with_labels_that_are_no_language(tmp_path):
    path = _train(tmp_path, [("english", "this is english ."), ("eng_Latn", "and this too .")], "bad.bin")
    with pytest.raises(LidModelError, match="1 label.*english"):
        LanguageIdentifier(path)


def test_label_to_code():
    assert label_to_code("__label__en", "hello") == "eng_Latn"
    assert label_to_code("__label__eng_Latn", "") == "eng_Latn"  # GlotLID / OpenLID labels pass through
    assert label_to_code("__label__als", "Grüezi mitenand") == "gsw_Latn"
    assert label_to_code("__label__ja", "ls -la /usr/bin と入力します") == "jpn_Jpan"


def test_predict_lines(lid):
    lines = [SENTENCES["eng"][0], SENTENCES["spa"][0], SENTENCES["rus"][0]]
    assert [c for c, _ in lid.predict_lines(lines)] == ["eng_Latn", "spa_Latn", "rus_Cyrl"]
    assert lid.predict_batch([]) == [] and lid.predict_batch_counted([]) == ([], {})


def test_bad_model_paths(tmp_path):
    with pytest.raises(LidModelError, match="not found"):
        LanguageIdentifier(str(tmp_path / "missing.bin"))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"definitely not fastText")
    with pytest.raises(LidModelError, match="not a fastText model"):
        LanguageIdentifier(str(bad))


# --- mixed-language documents (real per-line labels) --------------------------------------------


def _doc(text: str, doc_id: str = "parent") -> dict:
    return {"doc_id": doc_id, "source": "crawl.warc.gz", "source_offset": 7, "url": "https://x.example/",
            "date": None, "text": text}


def _half_translated() -> str:
    return "\n\n".join("\n".join(part) for part in HALF_TRANSLATED)


def test_half_translated_page_split(lid):
    doc = _doc(_half_translated())
    params = LidParams(split_mixed=True, split_mixed_min_lines=3)
    kept, rejects = identify_batch(lid, [doc], params, "mono")
    assert rejects == [] and [d["lang"] for d in kept] == ["ell_Grek", "eng_Latn"]
    main, new = kept
    assert main["doc_id"] == "parent" and "translated" not in main["text"] and main["line_lang_frac"] == 1.0
    assert main["text"].startswith(HALF_TRANSLATED[0][0]) and main["text"].endswith(HALF_TRANSLATED[2][-1])
    assert new["text"] == "\n".join(HALF_TRANSLATED[1]) and new["lang_score"] > 0.8
    assert new["doc_id"] != "parent" and (new["source"], new["source_offset"], new["url"]) == (
        "crawl.warc.gz", 7, "https://x.example/")
    again, _ = identify_batch(lid, [doc], params, "mono")
    assert again == kept  # same ids and texts on every run


def test_half_translated_page_drop_allow_list_and_short_runs(lid):
    doc = _doc(_half_translated())
    kept, _ = identify_batch(lid, [doc], LidParams(split_mixed=True, split_mixed_action="drop"), "mono")
    assert len(kept) == 1 and "translated" not in kept[0]["text"]
    # a split-off document goes through the allow-list like any other
    kept, rejects = identify_batch(lid, [doc], LidParams(split_mixed=True, languages=("ell_Grek",)), "mono")
    assert [d["lang"] for d in kept] == ["ell_Grek"] and [r["reason"] for r in rejects] == ["lang_not_wanted"]
    assert rejects[0]["step"] == "SplitMixed" and rejects[0]["record_id"] != "parent"
    # runs shorter than N stay in the document; per_line alone only measures
    kept, _ = identify_batch(lid, [doc], LidParams(split_mixed=True, split_mixed_min_lines=5), "mono")
    assert len(kept) == 1 and kept[0]["text"] == doc["text"] and kept[0]["line_lang_frac"] == pytest.approx(6 / 10)
    kept, _ = identify_batch(lid, [doc], LidParams(per_line=True), "mono")
    assert kept[0]["text"] == doc["text"] and kept[0]["line_lang_frac"] == pytest.approx(6 / 10)
    kept, _ = identify_batch(lid, [doc], LidParams(), "mono")
    assert kept[0]["line_lang_frac"] is None


def test_label_lines_aligns_with_blank_lines(lid):
    labels = label_lines(lid, ["a line here\n\nanother line", ""])
    assert [lab is None for lab in labels[0]] == [False, True, False] and labels[1] == []


# --- per-language threshold tables --------------------------------------------------------------


def test_threshold_table_tsv_and_json(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("lang\tthreshold\n# calibrated on held-out lines\nsrp_Latn\t0.3\n\nhrv_Latn\t0.45  # note\n")
    assert load_lid_thresholds(str(tsv)) == {"hrv_Latn": 0.45, "srp_Latn": 0.3}
    js = tmp_path / "t.json"
    js.write_text(json.dumps({"srp_Latn": 0.3, "bos_Latn": 0.4}))
    assert load_lid_thresholds(str(js)) == {"bos_Latn": 0.4, "srp_Latn": 0.3}
    # inline mono.lid_thresholds wins over the file
    assert merged_thresholds(str(js), {"srp_Latn": 0.6}) == {"bos_Latn": 0.4, "srp_Latn": 0.6}
    assert merged_thresholds(None, {"x": 0.1}) == {"x": 0.1}


@pytest.mark.parametrize("name, content, match", [
    ("a.tsv", "srp_Latn 0.3\n", r"a.tsv:1: expected 'xxx_Scrp<TAB>threshold'"),
    ("a.tsv", "srp_Latn\t0.3\nqqq_Latn\t0.2\n", r"a.tsv:2: 'qqq_Latn': 'qqq' is not an ISO 639-3"),
    ("a.tsv", "sr\t0.3\n", r"a.tsv:1: 'sr' is not a language code of the form xxx_Scrp"),
    ("a.tsv", "srp_Latn\t1.5\n", r"a.tsv:1: threshold '1.5' of srp_Latn is not a number in \[0, 1\]"),
    ("a.tsv", "srp_Latn\tlow\n", r"threshold 'low'"),
    ("a.tsv", "srp_Latn\t0.3\nsrp_Latn\t0.4\n", r"a.tsv:2: srp_Latn is listed twice"),
    ("a.json", "{not json", r"a.json: not valid JSON"),
    ("a.json", "[1, 2]", r"expected a JSON object"),
    ("a.json", '{"srp_Latn": true}', r"threshold True"),
])
def test_threshold_table_errors(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(LidThresholdsError, match=match):
        load_lid_thresholds(str(path))


def test_threshold_table_missing(tmp_path):
    with pytest.raises(LidThresholdsError, match="cannot read the LID threshold table"):
        load_lid_thresholds(str(tmp_path / "none.tsv"))


def test_calibrate_thresholds_for_a_target_precision(tmp_path):
    from pipelines.lid import calibrate_thresholds, write_thresholds_tsv

    # srp_Latn predictions: right when confident, Croatian lines predicted as Serbian below 0.6
    preds = [("srp_Latn", 0.9 - i * 0.01) for i in range(20)] + [("srp_Latn", 0.55 - i * 0.01) for i in range(10)]
    truth = ["srp_Latn"] * 20 + ["hrv_Latn"] * 5 + ["srp_Latn"] * 5
    preds += [("eng_Latn", 0.99)] * 5  # too few lines to calibrate
    truth += ["eng_Latn"] * 5
    cal = calibrate_thresholds(preds, truth, target_precision=0.96, min_lines=10)
    assert cal.thresholds == {"srp_Latn": 0.71}  # lowest cut with ≥ 96 % Serbian above it: 0.9 … 0.71
    assert calibrate_thresholds(preds, truth, 0.9, min_lines=10).thresholds == {"srp_Latn": 0.54}  # 20 of 22
    assert cal.precision["srp_Latn"] == 1.0 and cal.recall["srp_Latn"] == pytest.approx(20 / 25)
    assert "eng_Latn" in cal.skipped and "5 predicted lines" in cal.skipped["eng_Latn"]
    out = tmp_path / "t.tsv"
    write_thresholds_tsv(cal, str(out), 0.96)
    assert load_lid_thresholds(str(out)) == {"srp_Latn": 0.71}  # the table the stage reads
    hopeless = calibrate_thresholds([("bos_Latn", 0.9)] * 10, ["hrv_Latn"] * 10, 0.5, min_lines=5)
    assert hopeless.thresholds == {} and "precision 0.000 at best" in hopeless.skipped["bos_Latn"]
