"""pipelines.langcodes and pipelines.lid on the real embedded lid.176 model."""

import pytest

from flows.demo.crawl_text import SENTENCES
from pipelines.langcodes import lang_code, to_iso639_3
from pipelines.lid import LanguageIdentifier, LidModelError, default_model_path, label_to_code

EXPECTED = {"eng": "eng_Latn", "deu": "deu_Latn", "fra": "fra_Latn", "spa": "spa_Latn", "rus": "rus_Cyrl",
            "ukr": "ukr_Cyrl", "ara": "ara_Arab", "hin": "hin_Deva", "zho": "zho_Hani", "jpn": "jpn_Jpan",
            "tha": "tha_Thai", "ell": "ell_Grek"}


@pytest.fixture(scope="module")
def lid():
    return LanguageIdentifier()


def test_to_iso639_3():
    assert [to_iso639_3(c) for c in ("en", "zh", "als", "sh", "bh", "nds", "arz", "wuu", "pt-BR", "zh_Hant",
                                     "eng", "simple", "zh-yue", "iw")] == [
        "eng", "zho", "gsw", "hbs", "bho", "nds", "arz", "wuu", "por", "zho", "eng", "eng", "yue", "heb"]
    with pytest.raises(ValueError, match="not a language code"):
        to_iso639_3("english")


def test_lang_code_scripts():
    assert lang_code("eng_Latn") == "eng_Latn"
    assert lang_code("zh-Hant") == "zho_Hant"
    assert lang_code("sr", "Ово је текст") == "srp_Cyrl"
    assert lang_code("sr", "Ovo je tekst") == "srp_Latn"
    assert lang_code("sr") == "srp_Cyrl" and lang_code("ko") == "kor_Hang" and lang_code("ja") == "jpn_Jpan"
    assert lang_code("en", "1234 !!") == "eng_Latn"  # no letters → default script
    assert lang_code("fr") == "fra_Latn" and lang_code("xx" + "x") == "xxx_Latn"
    # An English cookie banner does not turn a Chinese page into zho_Latn.
    assert lang_code("zh", "We use cookies. Accept all cookies. 这个小镇位于河边，古老的石桥已经有历史了。") == "zho_Hani"
    assert lang_code("ja", "東京駅") == "jpn_Jpan"  # kanji only is still Japanese script


def test_label_to_code():
    assert label_to_code("__label__en", "hello") == "eng_Latn"
    assert label_to_code("__label__eng_Latn", "") == "eng_Latn"  # GlotLID / OpenLID labels pass through
    assert label_to_code("__label__als", "Grüezi mitenand") == "gsw_Latn"


def test_default_model_is_packaged():
    path = default_model_path()
    assert path.endswith("lid.176.ftz")


def test_lid_twelve_languages(lid):
    texts = {lang: " ".join(s[:2]) for lang, s in SENTENCES.items()}
    preds = lid.predict_batch(list(texts.values()))
    got = {lang: code for lang, (code, _) in zip(texts, preds, strict=True)}
    assert got == EXPECTED
    assert all(0.5 < p <= 1.0 for _, p in preds)
    # single and batch agree; a multi-line document is scored as one line
    assert lid.predict(texts["deu"])[0] == "deu_Latn"
    assert lid.predict("\n".join(SENTENCES["ukr"][:3]))[0] == "ukr_Cyrl"


def test_predict_lines(lid):
    lines = [SENTENCES["eng"][0], SENTENCES["spa"][0], SENTENCES["rus"][0]]
    assert [c for c, _ in lid.predict_lines(lines)] == ["eng_Latn", "spa_Latn", "rus_Cyrl"]
    assert lid.predict_batch([]) == []


def test_bad_model_paths(tmp_path):
    with pytest.raises(LidModelError, match="not found"):
        LanguageIdentifier(str(tmp_path / "missing.bin"))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"definitely not fastText")
    with pytest.raises(LidModelError, match="not a fastText model"):
        LanguageIdentifier(str(bad))
