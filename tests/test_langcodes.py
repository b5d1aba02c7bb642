"""pipelines.langcodes: ISO 639 tables and scripts from langcodes / CLDR, Wikipedia quirks by hand."""

from collections import Counter

import pytest

from pipelines.langcodes import (
    FALLBACK_SCRIPT,
    UnknownLanguageError,
    check_project_code,
    choose_script,
    default_script,
    is_known_language,
    iso639_1,
    lang_code,
    language_scripts,
    split_code,
    to_iso639_3,
)
from pipelines.lid import LanguageIdentifier

# lid.176's labels: every one must map, to a language whose usual script is the one written here.
LID176_SCRIPTS = {
    "ar": "Arab", "arz": "Arab", "azb": "Arab", "ckb": "Arab", "fa": "Arab", "lrc": "Arab", "mzn": "Arab",
    "pnb": "Arab", "ps": "Arab", "sd": "Arab", "ug": "Arab", "ur": "Arab", "ru": "Cyrl", "sr": "Cyrl",
    "bxr": "Cyrl", "mhr": "Cyrl", "xal": "Cyrl", "tt": "Cyrl", "kk": "Cyrl", "hi": "Deva", "ne": "Deva",
    "bh": "Deva", "new": "Deva", "gom": "Deva", "bn": "Beng", "bpy": "Beng", "ja": "Jpan", "ko": "Hang",
    "zh": "Hani", "yue": "Hani", "wuu": "Hani", "el": "Grek", "he": "Hebr", "yi": "Hebr", "th": "Thai",
    "ka": "Geor", "xmf": "Geor", "hy": "Armn", "am": "Ethi", "dv": "Thaa", "my": "Mymr", "bo": "Tibt",
    "sh": "Latn", "az": "Latn", "uz": "Latn", "en": "Latn", "tl": "Latn", "eml": "Latn", "als": "Latn",
}


def test_to_iso639_3():
    assert [to_iso639_3(c) for c in ("en", "zh", "als", "sh", "bh", "nds", "arz", "wuu", "pt-BR", "zh_Hant",
                                     "eng", "simple", "zh-yue", "iw", "mo", "tl", "ger", "cmn", "arb", "eml",
                                     "be-tarask", "__label__fr")] == [
        "eng", "zho", "gsw", "hbs", "bho", "nds", "arz", "wuu", "por", "zho", "eng", "eng", "yue", "heb",
        "ron", "tgl", "deu", "cmn", "arb", "egl", "bel", "fra"]


@pytest.mark.parametrize("code, match", [("english", "not a language code"), ("xxx", "unknown language code 'xxx'"),
                                         ("qqq_Latn", "'qqq' is not a registered"), ("zz", "'zz' is not a registered")])
def test_unknown_codes_are_errors(code, match):
    with pytest.raises(UnknownLanguageError, match=match):
        to_iso639_3(code)
    with pytest.raises(ValueError):  # UnknownLanguageError is a ValueError: old callers still catch it
        lang_code(code)


def test_iso639_1_both_ways():
    assert [iso639_1(c) for c in ("eng", "heb", "ron", "tgl", "ind", "yid", "hbs", "yue", "srp", "zho")] == [
        "en", "he", "ro", "tl", "id", "yi", None, None, "sr", "zh"]
    from langcodes.data_dicts import LANGUAGE_ALPHA3
    for two, three in LANGUAGE_ALPHA3.items():  # every current two-letter code round-trips
        if len(two) == 2 and two not in ("iw", "in", "ji", "jw", "mo", "sh", "bh"):  # withdrawn / Wikipedia's
            assert iso639_1(to_iso639_3(two)) == two, two


def test_split_code_and_known_languages():
    assert split_code("en-Latn-US") == ("eng", "Latn") and split_code("__label__srp_Cyrl") == ("srp", "Cyrl")
    assert split_code("de") == ("deu", None)
    assert is_known_language("eng") and is_known_language("gsw") and not is_known_language("xxx")
    assert check_project_code("srp_Latn") == "srp_Latn"
    for bad, match in (("srp", "form xxx_Scrp"), ("xxx_Latn", "'xxx' is not an ISO 639-3"),
                       ("srp_Abcd", "'Abcd' is not an ISO 15924")):
        with pytest.raises(UnknownLanguageError, match=match):
            check_project_code(bad)


def test_scripts_from_cldr():
    assert language_scripts("srp") == ("Cyrl", "Latn")
    assert language_scripts("aze") == ("Latn", "Arab", "Cyrl")
    assert language_scripts("zho") == ("Hani",) and language_scripts("yue") == ("Hani",)  # Hans/Hant → Hani
    assert language_scripts("kor") == ("Hang",) and language_scripts("jpn") == ("Jpan",)
    assert language_scripts("hin") == ("Deva",)  # Latin is a secondary script of Hindi: not counted
    assert language_scripts("mhr") == ("Cyrl",)  # from its macrolanguage (chm)
    assert language_scripts("cbk") == () and default_script("cbk") == FALLBACK_SCRIPT


def test_every_lid176_label_maps(tmp_path):
    lid = LanguageIdentifier()
    labels = [lab.removeprefix("__label__") for lab in lid.model.get_labels()]
    assert len(labels) == 176
    for label in labels:
        iso3 = to_iso639_3(label)
        assert is_known_language(iso3), label
    for label, script in LID176_SCRIPTS.items():
        assert default_script(to_iso639_3(label)) == script, label


def test_choose_script():
    c = Counter
    # Japanese with mostly Latin letters (command names): still Japanese script, and marked corrected
    assert choose_script("jpn", c(Latn=240, Hira=20, Kana=20, Hani=10)).script == "Jpan"
    assert choose_script("jpn", c(Latn=240, Hira=20, Kana=20, Hani=10)).corrected
    assert choose_script("jpn", c(Hani=12)).script == "Jpan" and not choose_script("jpn", c(Hani=12)).corrected
    assert choose_script("kor", c(Hang=50, Hani=10, Latn=200)).script == "Hang"
    # Serbian: both its scripts count, the larger wins
    assert choose_script("srp", c(Latn=90, Cyrl=10)).script == "Latn"
    assert choose_script("srp", c(Latn=10, Cyrl=90)).script == "Cyrl"
    # romanized text (own script under 5 % of the letters) keeps the text's script
    assert choose_script("hin", c(Latn=500, Deva=3)).script == "Latn"
    assert choose_script("rus", c(Latn=500, Cyrl=30)).script == "Cyrl"
    # a language CLDR does not describe: the text decides; no letters: the default script
    assert choose_script("cbk", c(Latn=40)).script == "Latn"
    d = choose_script("ell", c())
    assert (d.script, d.how) == ("Grek", "default")


def test_lang_code_scripts():
    assert lang_code("eng_Latn") == "eng_Latn"
    assert lang_code("zh-Hant") == "zho_Hant"  # a script in the code wins
    assert lang_code("sr", "Ово је текст") == "srp_Cyrl"
    assert lang_code("sr", "Ovo je tekst") == "srp_Latn"
    assert lang_code("sr") == "srp_Cyrl" and lang_code("ko") == "kor_Hang" and lang_code("ja") == "jpn_Jpan"
    assert lang_code("sh") == "hbs_Latn" and lang_code("azb") == "azb_Arab"
    assert lang_code("en", "1234 !!") == "eng_Latn"  # no letters → default script
    # An English cookie banner does not turn a Chinese page into zho_Latn.
    assert lang_code("zh", "We use cookies. Accept all cookies. 这个小镇位于河边，古老的石桥已经有历史了。") == "zho_Hani"
    assert lang_code("ja", "東京駅") == "jpn_Jpan"  # kanji only is still Japanese script
