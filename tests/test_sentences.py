"""pipelines.sentences: ICU sentence boundaries + the project's rules, in many languages."""

import pytest

from pipelines.sentences import icu_locale, sentences, split_sentences
from pipelines.wiki.sentences import split_sentences as wiki_split

# Three sentences per language (written for this project), joined as that language joins them.
CASES = {
    "eng_Latn": ["Dr. Smith moved to Washington, D.C. in 1998.", "She met Mr. Jones at the U.S. embassy!",
                 "Did J. R. R. Tolkien ever visit the town?"],
    "deu_Latn": ["Der Zug fährt am 3. Mai um acht Uhr ab.", "Bitte bringen Sie z. B. einen Ausweis mit.",
                 "»Wir kommen pünktlich!«, sagte der Schaffner."],
    "fra_Latn": ["M. Dupont habite près de la gare depuis dix ans.", "Il a crié : « Attendez-moi ! »",
                 "Personne ne l'a entendu."],
    "spa_Latn": ["¿Dónde está la biblioteca municipal?", "Está al lado del mercado, frente a la iglesia.",
                 "¡Qué suerte tenemos hoy!"],
    "rus_Cyrl": ["Музей открыт с десяти утра до шести вечера.", "Билеты можно купить в кассе, т. е. у входа.",
                 "Вы уже были там?"],
    "ukr_Cyrl": ["Бібліотека працює щодня, крім неділі.", "Нові книжки надходять щомісяця.",
                 "Чи можна взяти їх додому?"],
    "ell_Grek": ["Το πλοίο φεύγει στις οκτώ το πρωί.", "Έχετε ήδη εισιτήριο;", "Ναι, το αγόρασα χθες."],
    "ara_Arab": ["هل زرت المتحف الجديد في وسط المدينة؟", "نعم، زرته مع عائلتي يوم الجمعة.",
                 "كانت التجربة رائعة!"],
    "urd_Arab": ["یہ شہر اپنے باغوں کے لیے مشہور ہے۔", "کیا آپ نے پرانا قلعہ دیکھا ہے؟",
                 "ہم کل وہاں جائیں گے۔"],
    "fas_Arab": ["کتابخانه هر روز ساعت نه باز می‌شود.", "آیا کارت عضویت دارید؟", "بله، پارسال گرفتم."],
    "hin_Deva": ["गाँव में एक नया पुस्तकालय खुला है।", "क्या आप वहाँ गए हैं?", "मैं कल अपने भाई के साथ जाऊँगा।"],
    "ben_Beng": ["নদীর ধারে একটি ছোট গ্রাম আছে।", "সেখানে প্রতি শুক্রবার হাট বসে।", "আপনি কি কখনও গিয়েছেন?"],
    "amh_Ethi": ["ከተማው በጣም ትልቅ ነው።", "ብዙ ሰዎች በገበያው ይሰራሉ።", "ነገ እንሄዳለን?"],
    "zho_Hani": ["这个小镇位于河边。", "你去过那座古老的石桥吗？", "明天我们一起去吧！"],
    "jpn_Jpan": ["駅前に新しいパン屋ができました。", "もう行きましたか？", "とてもおいしかったです！"],
    "kor_Hang": ["도서관은 아침 아홉 시에 문을 엽니다.", "회원증이 있으십니까?", "네, 작년에 만들었습니다."],
    "mya_Mymr": ["ဒီမြို့က အရမ်းလှပါတယ်။", "မနက်ဖြန် ဈေးကို သွားမယ်။", "ခင်ဗျား လိုက်ခဲ့မလား။"],
    "tha_Thai": ["ตลาดเปิดทุกเช้าตั้งแต่หกโมง", "ชาวบ้านนำผักและผลไม้มาขาย", "นักท่องเที่ยวชอบมาเดินเล่นที่นี่"],
}
UNSPACED = {"zho_Hani", "jpn_Jpan"}


@pytest.mark.parametrize("lang", sorted(CASES))
def test_three_sentences_in_each_language(lang):
    sents = CASES[lang]
    text = ("" if lang in UNSPACED else " ").join(sents)
    assert sentences(text, lang) == sents
    spans = split_sentences(text, lang)
    assert [text[a:b] for a, b in spans] == sents  # offsets index the text itself


def test_at_least_twelve_languages_and_scripts():
    assert len(CASES) >= 12
    assert len({lang.split("_")[1] for lang in CASES}) >= 12


def test_language_codes_and_locales():
    assert icu_locale("deu_Latn") == "de" and icu_locale("de") == "de" and icu_locale("yue_Hani") == "yue"
    assert icu_locale(None) == "" and icu_locale("not a code") == ""
    # without a language ICU's root rules still split; Greek's ';' question mark needs the locale
    text = "Έχετε εισιτήριο; Ναι."
    assert sentences(text, "ell_Grek") == ["Έχετε εισιτήριο;", "Ναι."]
    assert sentences("One. Two!", None) == ["One.", "Two!"]


def test_ordinals_initials_abbreviations():
    assert sentences("Er kam 1942. Dann ging er.", "deu_Latn") == ["Er kam 1942.", "Dann ging er."]
    # an English "3." before a capital is a sentence end; a German one is an ordinal
    assert sentences("We counted to 3. Then we stopped.", "eng_Latn") == ["We counted to 3.", "Then we stopped."]
    assert sentences("Am 3. Mai war es kalt.", "deu_Latn") == ["Am 3. Mai war es kalt."]
    assert sentences("They lived in the U.K. The weather was mild.", "eng_Latn") == [
        "They lived in the U.K. The weather was mild."]  # "U.K." before a capital: kept (documented)


def test_offsets_with_astral_characters_and_line_breaks():
    text = "Emoji 😀 here. 𠀋 is a rare character! Next line\nstarts here."
    spans = split_sentences(text, "eng_Latn")
    assert [text[a:b] for a, b in spans] == ["Emoji 😀 here.", "𠀋 is a rare character!", "Next line",
                                             "starts here."]


def test_thai_spaces_but_not_around_numbers():
    text = "ปี 2020 ฝนตกมาก ชาวนาดีใจ"
    assert sentences(text, "tha_Thai") == ["ปี 2020 ฝนตกมาก", "ชาวนาดีใจ"]


def test_keep_together_spans_and_empty_text():
    text = "He joined the U.S. Army. Later he left."
    assert sentences(text, "eng_Latn") == ["He joined the U.S. Army.", "Later he left."]
    t = "Visit St. Louis. Then go."
    assert split_sentences(t, "eng_Latn", keep_together=[(6, 15)]) == [(0, 16), (17, 25)]
    assert split_sentences("   ", "eng_Latn") == [] and split_sentences("", None) == []


def test_wiki_anchors_in_hindi_arabic_and_japanese():
    hin = "दिल्ली भारत की राजधानी है। [[यमुना नदी]] शहर से होकर बहती है।"
    a = hin.index("[[")
    anchors = [(a, a + len("[[यमुना नदी]]"), "यमुना")]
    got = wiki_split(hin, anchors, "hin_Deva")
    assert [s.text for s in got] == ["दिल्ली भारत की राजधानी है।", "[[यमुना नदी]] शहर से होकर बहती है।"]
    assert got[1].anchors == [(0, len("[[यमुना नदी]]"), "यमुना")]
    ara = "هل تعرف القاهرة؟ إنها عاصمة مصر."
    assert [s.text for s in wiki_split(ara, [], "ara_Arab")] == ["هل تعرف القاهرة؟", "إنها عاصمة مصر."]
    jpn = "東京は日本の首都です。「東京。タワー」は有名です。"
    b = jpn.index("「")
    sents = wiki_split(jpn, [(b, b + len("「東京。タワー」"), "東京タワー")], "jpn_Jpan")
    assert [s.text for s in sents] == ["東京は日本の首都です。", "「東京。タワー」は有名です。"]  # no cut inside


def test_each_sentence_alone_is_one_sentence():
    # lines without an inner terminator skip ICU (most lines of a crawl): same answer either way
    for lang, sents in CASES.items():
        for s in sents:
            assert sentences(s, lang) == [s], (lang, s)
    assert sentences("  a line without a stop  ", None) == ["a line without a stop"]


def test_tokenizer_sample_units_are_sentences():
    from pipelines.tokenizer.sources import sample_units

    text = "Der Zug fährt am 3. Mai ab. Er ist pünktlich!\n\n  Zweite Zeile ohne Punkt  \n"
    assert sample_units(text, "deu_Latn") == ["Der Zug fährt am 3. Mai ab.", "Er ist pünktlich!",
                                              "Zweite Zeile ohne Punkt"]
    assert sample_units("東京です。大阪です。", "jpn_Jpan") == ["東京です。", "大阪です。"]
    assert sample_units(None, "eng_Latn") == []


def test_encode_blocks_share_the_punctuation():
    from pipelines.encode.blocks import SENTENCE_END, UNSPACED_END
    from pipelines.sentences import SENTENCE_FINAL, UNSPACED_FINAL

    assert (SENTENCE_END, UNSPACED_END) == (SENTENCE_FINAL, UNSPACED_FINAL)
    assert set("।؟。۔።") <= set(SENTENCE_END)
