"""pipelines.normalize: document normalization and the CCNet-style line dedup key."""

import unicodedata

from pipelines.normalize import dedup_key, fix_mojibake, join_lines, normalize_text, split_lines


def test_normalize_text_whitespace_controls_and_blank_runs():
    raw = "\n\n  Hello\u200b   world\t!\r\nsecond\x00 line\u00ad\n\n\n\n  third\u00a0 line  \n\n"
    assert normalize_text(raw) == "Hello world !\nsecond line\n\nthird line"


def test_normalize_text_nfc_and_keeps_zwnj():
    decomposed = "Cafe\u0301"  # e + combining acute
    assert normalize_text(decomposed) == "Caf\u00e9"
    persian = "می\u200cخواهم"  # ZWNJ is part of the spelling
    assert "\u200c" in normalize_text(persian)
    assert unicodedata.is_normalized("NFC", normalize_text("Ελληνικά\u0301 κείμενο"))


def test_mojibake_repaired_and_clean_text_untouched():
    assert fix_mojibake("Ã©tÃ© Ã  Paris â€” ok") == "été à Paris — ok"
    clean = "Ça va très bien — São Paulo, Zürich, naïve"
    assert fix_mojibake(clean) is clean
    assert normalize_text("Ð¿Ñ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€") == "привет мир"


def test_empty_after_normalization():
    assert normalize_text(" \u200b\n\t \n\x00") == ""
    assert split_lines("") == []


def test_split_and_join_lines_collapse_blank_runs():
    lines = split_lines("a\n\nb\nc\n\nd")
    assert lines == ["a", "", "b", "c", "", "d"]
    assert join_lines([ln for i, ln in enumerate(lines) if i not in (2, 3)]) == "a\n\nd"
    assert join_lines(["", "x", "", ""]) == "x"


def test_dedup_key_ccnet_style():
    a = dedup_key("Copyright © 2023 Café-Shop, All Rights Reserved!")
    b = dedup_key("copyright 1999 cafe shop   all rights reserved")
    assert a == b == "copyright 0000 cafe shop all rights reserved"
    assert dedup_key("Seite 12 von 40") != dedup_key("Seite von")  # digits → 0, not removed
    assert dedup_key("１２３ ٤٥٦ १२३") == "000 000 000"  # any decimal digit
    assert dedup_key("这是第3页。") == "这是第0页"
    assert dedup_key("Hello world") != dedup_key("Hello there world")


def test_dedup_keys_of_a_text_equal_dedup_key_per_line():
    from pipelines.normalize import dedup_keys

    text = "ΟΔΟΣ ΣΑΣ\nΣ\n\nİstanbul ÇAĞ 2024!\nCafe\u0301 — ok\n１２３ ٤٥٦\n这是第3页。\n---"
    assert dedup_keys(text) == [dedup_key(ln) for ln in split_lines(text)]
    assert dedup_keys("") == []
