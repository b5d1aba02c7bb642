"""Wiki stage, plain functions: titles, wikitext cleaning, dump/Wikidata readers, sentence splitting,
filters, language intersection, EntityCS switching and release lines."""

from __future__ import annotations

import bz2
import gzip
import io
import json

import pytest

from pipelines.wiki.codeswitch import (
    LinkedAnchor,
    candidate_languages,
    make_entitycs,
    release_line,
    sample_languages,
    switch_sentence,
)
from pipelines.wiki.dump import (
    DumpError,
    index_path_for,
    iter_pages,
    iter_stream_ranges,
    read_pages,
    read_siteinfo,
    read_stream_pages,
)
from pipelines.wiki.langs import project_labels, release_code
from pipelines.wiki.sentences import FilterOptions, filter_reason, split_sentences
from pipelines.wiki.titles import classify_link, normalize_title
from pipelines.wiki.wikidata import MalformedLine, check_wikidata, is_framing, iter_lines, parse_entity_line
from pipelines.wiki.wikitext import CleanOptions, clean_wikitext


def anchored(p):
    """[(anchor text, title)] of a paragraph / sentence."""
    return [(p.text[s:e], t) for s, e, t in p.anchors]


# --- titles ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("paris", "Paris"),
        ("New_York_City", "New York City"),
        ("  Foo   bar_ ", "Foo bar"),
        ("Paris#History", "Paris"),
        (":Paris", "Paris"),
        ("AT&amp;T", "AT&T"),
        ("éclair", "Éclair"),
        ("ßtraße", "ßtraße"),  # no one-to-one upper case: MediaWiki leaves it
        ("Caf%C3%A9", "Café"),
        ("#Section", ""),
    ],
)
def test_normalize_title(raw, expected):
    assert normalize_title(raw) == expected


@pytest.mark.parametrize(
    "target, kind, title",
    [
        ("Paris", "article", "Paris"),
        ("File:A b.jpg", "file", "A b.jpg"),
        ("image:x.png", "file", "X.png"),
        ("Category:Cities", "category", "Cities"),
        (":Category:Cities", "colon_link", "Category:Cities"),
        ("de:Paris", "interwiki", "Paris"),
        ("wikt:word", "interwiki", "Word"),
        ("Wikipedia:About", "other_namespace", "Wikipedia:About"),
        ("#History", "self_section", ""),
        ("Star Wars: Episode IV", "article", "Star Wars: Episode IV"),
    ],
)
def test_classify_link(target, kind, title):
    link = classify_link(target)
    assert (link.kind, link.title) == (kind, title)


# --- wikitext ---------------------------------------------------------------------------------------------

def test_clean_removes_templates_refs_tables_categories_interlanguage():
    text = (
        "{{Infobox city|country=[[France]]}}\n"
        "'''Paris''' ({{IPA|fr|paʁi}}) is the [[capital city|capital]] of [[France]].<ref>{{cite web|t=x}}</ref> "
        "It lies on the [[Seine]].<!-- note -->\n"
        '{| class="wikitable"\n|-\n| [[Lyon]] || 1\n|}\n'
        "[[Category:Cities]]\n[[de:Paris]]"
    )
    paras = clean_wikitext(text)
    assert [p.text for p in paras] == ["Paris is the capital of France. It lies on the Seine."]
    assert anchored(paras[0]) == [("capital", "Capital city"), ("France", "France"), ("Seine", "Seine")]


def test_clean_file_captions_links_trails_sections_and_markup():
    text = (
        "[[File:Tower.jpg|thumb|upright=1.2|The [[Eiffel Tower]] at night]]\n"
        "Many [[bus]]es run to the [[Paris#History|old town]] and the [[:Category:Parks|parks]]. "
        "See [http://example.org the site], ''[[Le Monde]]'' &amp; <span>more</span>.\n"
        "== Heading ==\n* First [[item]]\n* Second item"
    )
    paras = clean_wikitext(text)
    assert [p.text for p in paras] == [
        "The Eiffel Tower at night",
        "Many buses run to the old town and the parks. See the site, Le Monde & more.",
        "First item",
        "Second item",
    ]
    assert anchored(paras[0]) == [("Eiffel Tower", "Eiffel Tower")]
    assert anchored(paras[1]) == [("buses", "Bus"), ("Le Monde", "Le Monde")]  # section link: text only
    assert anchored(paras[2]) == [("item", "Item")]
    no_caption = clean_wikitext("[[File:x.jpg|thumb|200px]] Text with [[a link]] here.")
    assert [p.text for p in no_caption] == ["Text with a link here."]
    off = clean_wikitext("[[File:x.jpg|thumb|A [[caption]]]]\nBody [[text]].", CleanOptions(file_captions=False))
    assert [p.text for p in off] == ["Body text."]
    section = clean_wikitext("the [[Paris#History|old town]] x", CleanOptions(section_links="anchor"))
    assert anchored(section[0]) == [("old town", "Paris")]


def test_clean_offsets_survive_whitespace_and_leftover_cleanup():
    text = "Bob  ({{birth|1}}; born in [[Ohio]] ) was   a [[Singer| singer ]] ,\tfrom {{x}} [[Ohio]]."
    (p,) = clean_wikitext(text)
    assert p.text == "Bob (born in Ohio) was a singer, from Ohio."
    assert anchored(p) == [("Ohio", "Ohio"), ("singer", "Singer"), ("Ohio", "Ohio")]


# --- dump reader ---------------------------------------------------------------------------------------------

HEAD = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10"><siteinfo><dbname>enwiki'
        '</dbname><namespaces><namespace key="0" /><namespace key="14">Category</namespace>'
        '<namespace key="100">Portal</namespace></namespaces></siteinfo>')


def page(title, text, ns=0, redirect=None, pid=1):
    r = f'<redirect title="{redirect}" />' if redirect else ""
    return (f"<page><title>{title}</title><ns>{ns}</ns><id>{pid}</id>{r}<revision><id>1</id>"
            f'<text xml:space="preserve">{text}</text></revision></page>')


def test_iter_pages_redirects_and_namespaces():
    xml = HEAD + page("Paris", "x") + page("Lutetia", "#REDIRECT [[Paris#History]]", redirect="Paris#History") \
        + page("Eiffel_tower", "#redirect [[eiffel Tower]]") + page("Category:X", "y", ns=14) + "</mediawiki>"
    pages = list(iter_pages(io.BytesIO(xml.encode()), "t.xml"))
    assert [(p.title, p.ns, p.redirect) for p in pages] == [
        ("Paris", 0, None), ("Lutetia", 0, "Paris"), ("Eiffel tower", 0, "Eiffel Tower"), ("Category:X", 14, None)]


def test_compressed_dumps_siteinfo_and_bad_files(tmp_path):
    xml = (HEAD + page("A", "[[B]] text") + "</mediawiki>").encode()
    for name, data in (("d.xml.bz2", bz2.compress(xml)), ("d.xml.gz", gzip.compress(xml)), ("d.xml", xml)):
        (tmp_path / name).write_bytes(data)
        assert [p.title for p in read_pages(str(tmp_path / name))] == ["A"]
        info = read_siteinfo(str(tmp_path / name))
        assert info.dbname == "enwiki" and info.namespaces["Portal"] == 100
    (tmp_path / "notxml.bz2").write_bytes(bz2.compress(b"hello, not xml"))
    with pytest.raises(DumpError, match="notxml.bz2.*not a MediaWiki XML export"):
        read_siteinfo(str(tmp_path / "notxml.bz2"))
    (tmp_path / "other.xml").write_bytes(b"<html><body/></html>")
    with pytest.raises(DumpError, match="other.xml: root element <html>"):
        read_siteinfo(str(tmp_path / "other.xml"))
    (tmp_path / "trunc.xml.bz2").write_bytes(bz2.compress(xml)[:-40])
    with pytest.raises(DumpError, match="trunc.xml.bz2"):
        list(read_pages(str(tmp_path / "trunc.xml.bz2")))


def test_multistream_ranges_read_the_same_pages(tmp_path):
    from flows.demo.wiki import all_pages, write_multistream

    dump = tmp_path / "enwiki-x-pages-articles-multistream.xml.bz2"
    index = write_multistream(dump, all_pages(), per_stream=3)
    assert index_path_for(str(dump)) == str(index)
    assert index_path_for("enwiki-pages-articles-multistream3.xml-p1p2.bz2") == \
        "enwiki-pages-articles-multistream-index3.txt-p1p2.bz2"
    ranges = list(iter_stream_ranges(str(index), dump.stat().st_size))
    assert len(ranges) == -(-len(all_pages()) // 3) and ranges[-1][1] == dump.stat().st_size
    parallel = [p.title for r in ranges for p in read_stream_pages(str(dump), *r)]
    assert parallel == [p.title for p in read_pages(str(dump))]
    with pytest.raises(DumpError, match="index does not belong"):
        list(read_stream_pages(str(dump), ranges[0][0] + 1, ranges[0][1]))


# --- Wikidata ---------------------------------------------------------------------------------------------

def entity(qid="Q90", title="Paris", **labels):
    return json.dumps({"type": "item", "id": qid,
                       "labels": {k: {"language": k, "value": v} for k, v in labels.items()},
                       "aliases": {"hi": [{"language": "hi", "value": "पैरिस"}]},
                       "sitelinks": {"enwiki": {"site": "enwiki", "title": title}} if title else {}})


def test_parse_entity_line_labels_sitelinks_aliases():
    e = parse_entity_line(entity(title="Eiffel_tower", en="Paris", de="Paris") + ",\n")
    assert (e.qid, e.sitelink, e.labels) == ("Q90", "Eiffel tower", {"en": "Paris", "de": "Paris"})
    assert parse_entity_line(entity(en="x"), "dewiki").sitelink is None
    assert "hi" not in parse_entity_line(entity(en="x")).labels
    assert parse_entity_line(entity(en="x"), use_aliases=True).labels["hi"] == "पैरिस"
    for bad in ('{"id": "Q1", "labels": {', '[1, 2]', '{"labels": {}}', b'{"id": "Q\xff"}'):
        with pytest.raises(MalformedLine):
            parse_entity_line(bad)
    assert is_framing(b"[\n") and is_framing(b"]") and not is_framing(b"{}")


def test_wikidata_lines_stream_and_bad_file(tmp_path):
    body = "[\n" + entity() + ",\n{broken\n" + entity("Q142", "France") + "\n]\n"
    p = tmp_path / "wd.json.gz"
    p.write_bytes(gzip.compress(body.encode()))
    lines = list(iter_lines(str(p)))
    assert [n for n, line in lines if not is_framing(line)] == [2, 3, 4]
    check_wikidata(str(p))  # first entity line parses
    bad = tmp_path / "dump.xml.bz2"
    bad.write_bytes(bz2.compress(b"<mediawiki>\n<page/>\n"))
    with pytest.raises(DumpError, match="dump.xml.bz2: not a Wikidata JSON dump"):
        check_wikidata(str(bad))


def test_project_labels_and_release_codes():
    labels = {"de": "Paris", "en-gb": "Paris", "zh-hant": "巴黎 (繁)", "zh": "巴黎", "sr-el": "Pariz",
              "sr": "Париз", "mul": "Paris", "ja": "パリ", "": "x"}
    assert project_labels(labels) == {"deu_Latn": "Paris", "jpn_Jpan": "パリ", "srp_Cyrl": "Париз",
                                      "srp_Latn": "Pariz", "zho_Hani": "巴黎"}
    assert project_labels({"zh-hant": "巴黎"}) == {"zho_Hani": "巴黎"}  # a variant stands in for a missing base
    assert [release_code(c, "iso639_1") for c in ("deu_Latn", "jpn_Jpan", "srp_Latn", "yue_Hani")] == \
        ["de", "ja", "sr-Latn", "yue"]
    assert release_code("deu_Latn", "project") == "deu_Latn"


# --- sentences and filters ------------------------------------------------------------------------------------

def test_split_never_inside_an_anchor():
    text = "He joined the U.S. Army in 1942. Later he lived in Washington, D.C. Then Dr. Smith met J. R. Tolkien."
    anchors = [(14, 23, "United States Army"), (51, 67, "Washington, D.C.")]
    assert text[14:23] == "U.S. Army" and text[51:67] == "Washington, D.C."
    sents = split_sentences(text, anchors)
    assert [s.text for s in sents] == ["He joined the U.S. Army in 1942.", "Later he lived in Washington, D.C.",
                                       "Then Dr. Smith met J. R. Tolkien."]
    assert anchored(sents[0]) == [("U.S. Army", "United States Army")]
    assert anchored(sents[1]) == [("Washington, D.C.", "Washington, D.C.")]
    # a period inside an anchor followed by a capital never splits
    t2 = "The club St. Louis Blues won. Next."
    assert [s.text for s in split_sentences(t2, [(9, 23, "St. Louis Blues")])] == ["The club St. Louis Blues won.", "Next."]
    assert [s.text for s in split_sentences("東京は首都。大阪は都市。", [])] == ["東京は首都。", "大阪は都市。"]


@pytest.mark.parametrize(
    "text, anchors, reason",
    [
        ("A sentence without any link in it at all.", [], "no_link"),
        ("Paris is big.", [(0, 5, "Paris")], "too_short"),
        (" ".join(["w"] * 40), [(2 * i, 2 * i + 1, "W") for i in range(11)], "too_many_links"),
        ("The Mediterranean coast.", [(4, 17, "Mediterranean Sea")], "link_over_half"),
        ("Paris " + "word " * 130, [(0, 5, "Paris")], "too_long"),
        ('| style="x" | Paris is listed first in the table', [(14, 19, "Paris")], "table_markup"),
        ("Paris is the capital of France.", [(0, 5, "Paris"), (24, 30, "France")], None),
    ],
)
def test_each_filter(text, anchors, reason):
    assert filter_reason(text, anchors) == reason


def test_filter_thresholds_are_configurable():
    s = ("Paris is big and old.", [(0, 5, "Paris")])
    assert filter_reason(*s) is None and filter_reason(*s, FilterOptions(min_chars=30)) == "too_short"


# --- EntityCS --------------------------------------------------------------------------------------------------

PARIS = LinkedAnchor(0, 5, "Paris", "Q90", {"deu_Latn": "Paris", "rus_Cyrl": "Париж", "jpn_Jpan": "パリ",
                                            "eng_Latn": "Paris", "hin_Deva": "पेरिस"})
FRANCE = LinkedAnchor(24, 30, "France", "Q142", {"deu_Latn": "Frankreich", "rus_Cyrl": "Франция",
                                                 "jpn_Jpan": "フランス", "eng_Latn": "France"})
TEXT = "Paris is the capital of France, on the Seine."
SEINE = LinkedAnchor(39, 44, "Seine", None, {})


def test_candidate_languages_intersection():
    assert candidate_languages([PARIS, FRANCE, SEINE], None, "eng_Latn") == ["deu_Latn", "jpn_Jpan", "rus_Cyrl"]
    assert candidate_languages([PARIS, FRANCE], {"deu_Latn", "hin_Deva"}, "eng_Latn") == ["deu_Latn"]
    assert candidate_languages([PARIS], None, "eng_Latn") == ["deu_Latn", "hin_Deva", "jpn_Jpan", "rus_Cyrl"]
    assert candidate_languages([SEINE], None, "eng_Latn") == []
    assert make_entitycs("s", TEXT, [SEINE], "eng_Latn", None, 5, 0) == ([], "no_entity")
    assert make_entitycs("s", TEXT, [PARIS, FRANCE], "eng_Latn", {"hin_Deva"}, 5, 0) == ([], "no_common_language")


def test_sampling_is_seeded_by_sentence_id():
    cands = [f"l{i:02d}" for i in range(20)]
    a = sample_languages("sent-1", cands, 5, seed=0)
    assert a == sample_languages("sent-1", cands, 5, seed=0) == sorted(a) and len(a) == 5
    others = {tuple(sample_languages(f"sent-{i}", cands, 5, seed=0)) for i in range(20)}
    assert len(others) > 10
    assert any(sample_languages(f"sent-{i}", cands, 5, seed=1) != sample_languages(f"sent-{i}", cands, 5, seed=0)
               for i in range(5))
    assert sample_languages("x", cands[:3], 5, 0) == cands[:3]


def test_switch_markers_and_spans():
    s = switch_sentence(TEXT, [PARIS, FRANCE, SEINE], "rus_Cyrl", "eng_Latn")
    assert s["text"] == "Париж is the capital of Франция, on the Seine."
    assert [(s["text"][x["start"]:x["end"]], x["original"], x["lang"]) for x in s["spans"]] == [
        ("Париж", "Paris", "rus_Cyrl"), ("Франция", "France", "rus_Cyrl")]
    assert s["marked_text"] == "<rus_Cyrl>Париж</rus_Cyrl> is the capital of <rus_Cyrl>Франция</rus_Cyrl>, on the Seine."
    assert s["source_marked_text"] == \
        "<eng_Latn>Paris</eng_Latn> is the capital of <eng_Latn>France</eng_Latn>, on the Seine."
    records, reason = make_entitycs("sid", TEXT, [PARIS, FRANCE, SEINE], "eng_Latn", None, 2, 7)
    assert reason is None and len(records) == 2 and len({r["cs_id"] for r in records}) == 2
    for r in records:
        lang = r["spans"][0]["lang"]
        assert r["langs"] == sorted({"eng_Latn", lang}) and r["kind"] == "entitycs" and r["matrix_lang"] == "eng_Latn"
        assert [r["text"][x["start"]:x["end"]] for x in r["spans"]] == [PARIS.labels[lang], FRANCE.labels[lang]]
    line = json.loads(release_line(records[0] | switch_sentence(TEXT, [PARIS, FRANCE], "deu_Latn", "eng_Latn"),
                                   lambda c: release_code(c, "iso639_1")))
    assert line["language"] == "de"
    assert line["cs_sentence"] == "<de>Paris</de> is the capital of <de>Frankreich</de>, on the Seine."
    assert line["en_sentence"] == "<en>Paris</en> is the capital of <en>France</en>, on the Seine."
