"""pipelines.quality: language-aware signals and filters."""

from pipelines.quality import QualityFilters, quality_reason, quality_signals

ENG = "The library on the hill lends bicycles as well as books.\nIt is the busiest building in summer."


def test_signals_english():
    s = quality_signals(ENG)
    assert s.n_words == 18
    assert s.n_lines == 2
    assert s.punct_end_frac == 1.0
    assert s.dup_line_frac == 0.0
    assert 3.5 < s.mean_word_len < 5.5
    assert s.symbol_ratio < 0.05 and s.digit_ratio == 0


def test_unspaced_scripts_count_characters_as_words():
    zh = quality_signals("这个小镇位于河边，古老的石桥已经有三百多年的历史了。")
    assert zh.n_words == 24  # 24 Han characters; the two punctuation marks are not words
    th = quality_signals("หมู่บ้านเล็กๆ แห่งนี้ตั้งอยู่ริมแม่น้ำ")
    assert th.n_words > 10  # Thai letters, not 2 whitespace tokens
    ja = quality_signals("町の図書館は週末になると家族連れでにぎわいます。Tokyo Station")
    assert ja.n_words == 23 + 2


def test_combining_marks_are_not_symbols():
    hi = quality_signals("यह छोटा सा गाँव नदी के किनारे बसा है और यहाँ के लोग ज़्यादातर खेती करते हैं।")
    assert hi.symbol_ratio < 0.05
    assert hi.n_words == 17


def test_dup_lines_and_digits():
    s = quality_signals("same line\nsame line\nsame line\nother 123456")
    assert s.dup_line_frac == 0.5
    assert 0.15 < s.digit_ratio < 0.2  # 6 digits of 35 non-space chars


def test_filters_reasons_and_per_language_overrides():
    f = QualityFilters()
    assert quality_reason(quality_signals(ENG), "eng_Latn", f) is None
    assert quality_reason(quality_signals("Thanks for visiting."), "eng_Latn", f) == "too_short"
    junk = "#### $$$ word %%% &&& text *** ||| more ### @@@ !!! +++ " * 4
    assert quality_reason(quality_signals(junk), "eng_Latn", f) == "too_many_symbols"
    nums = "Index " + " ".join(str(1000 + 37 * i) for i in range(30))
    assert quality_reason(quality_signals(nums), "eng_Latn", f) == "too_many_digits"
    blob = " ".join(["QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 2] * 12)  # base64 runs
    assert quality_reason(quality_signals(blob), "eng_Latn", f) == "bad_word_length"
    # A short Chinese text passes by characters, and a per-language override can tighten it.
    zh = quality_signals("这个小镇位于河边，古老的石桥已经有三百多年的历史了。每天早上市场上都有农民。")
    assert quality_reason(zh, "zho_Hani", QualityFilters(min_chars=20)) is None
    strict = QualityFilters(min_chars=20, per_lang={"zho_Hani": {"min_words": 100}})
    assert quality_reason(zh, "zho_Hani", strict) == "too_short"
    # mean word length is not checked for unspaced scripts (a Han "word" is one character)
    assert quality_reason(zh, "zho_Hani", QualityFilters(min_chars=20, min_mean_word_len=3)) is None


def test_batch_equals_single_and_as_dict_is_complete():
    import dataclasses

    from pipelines.quality import quality_signals_batch

    texts = [ENG, "", "same line\nsame line\n\nother 123456", "这个小镇位于河边，古老的石桥。\nTokyo Station —", "\n\n"]
    batch = quality_signals_batch(texts)
    assert [b.as_dict() for b in batch] == [quality_signals(t).as_dict() for t in texts]
    assert all(b.as_dict() == dataclasses.asdict(b) for b in batch)
    assert batch[1].n_chars == 0 and batch[1].n_lines == 0 and batch[4].n_lines == 0
