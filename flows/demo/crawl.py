"""Demo crawl: a real ``.warc.gz`` (HTML responses via warcio) and a ``.warc.wet.gz`` (conversion
records), generated deterministically from the sentences in flows/demo/crawl_text.py.

What it plants, so every part of the mono stage has something to do:
12 languages in 8 scripts; shared navigation / cookie / footer lines (line dedup); an exact copy of a
page under another URL (exact_duplicate); near-duplicate pages (same sentences, lines regrouped, one
word edited — only MinHash near-dedup catches them); a code-switched page; pages in windows-1251,
Shift_JIS (declared in <meta> only) and with mojibake; and bad records: a junk page, a number table,
a short page, a page that is nothing but boilerplate, an image/png response, a 301 redirect, a
page with no text, a garbled HTTP payload, a truncated gzip member, a PDF served as text/html, a record
whose Content-Length lies (too long: it ends inside the next record, read after a resync) and a WET
record that is not UTF-8.
"""

from __future__ import annotations

import gzip
import io
from html import escape
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from flows.demo.crawl_text import CODE_PAGES, HALF_TRANSLATED, SENTENCES

NAV = "Home | World | Culture | Science | Weather | Contact"
COOKIE = "We use cookies to improve your experience. Accept all cookies or manage your privacy settings."
FOOTER = "© 2024 Polyglot Daily. All rights reserved. Terms of use · Privacy policy"
WARC_LANGS = ("eng", "deu", "fra", "spa", "rus", "ukr", "zho", "jpn")
WET_LANGS = ("ara", "hin", "tha", "ell")
DATE = "2024-05-01T12:00:00Z"


def _pages(lang: str) -> list[list[str]]:
    """Three pages per language, each two paragraphs of two sentences (no sentence shared)."""
    s = SENTENCES[lang]
    sep = "" if lang in ("zho", "jpn", "tha") else " "
    return [[sep.join(s[4 * k:4 * k + 2]), sep.join(s[4 * k + 2:4 * k + 4])] for k in range(3)]


def _html(title: str, paragraphs: list[str], charset: str | None = "utf-8", boilerplate: bool = True) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    nav = f"<nav>{NAV}</nav>" if boilerplate else ""
    tail = f'<div class="cookies">{COOKIE}</div><footer>{FOOTER}</footer>' if boilerplate else ""
    return (f"<!DOCTYPE html><html><head>{meta}<title>{title}</title><style>p{{margin:0}}</style>"
            f"<script>var x = 1;</script></head><body>{nav}<h1>{title}</h1>{body}{tail}</body></html>")


def _near_duplicate(paragraphs: list[str], old: str, new: str) -> list[str]:
    """Same sentences in one paragraph (so no line is shared) with one word edited."""
    merged = " ".join(paragraphs)
    assert old in merged, old
    return [merged.replace(old, new, 1)]


def _response(writer: WARCWriter, url: str, body: bytes, content_type: str, status: str = "200 OK",
              extra: list[tuple[str, str]] | None = None) -> None:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra or [])]
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                    warc_headers_dict={"WARC-Date": DATE, "WARC-Record-ID": f"<urn:demo:{url}>"})
    writer.write_record(rec)


def _raw_member(rec_type: str, url: str, block: bytes, content_type: str, length_delta: int = 0) -> bytes:
    """A hand-written WARC record in its own gzip member (for payloads warcio refuses to write);
    `length_delta` makes its Content-Length lie by that many bytes."""
    head = (f"WARC/1.0\r\nWARC-Type: {rec_type}\r\nWARC-Target-URI: {url}\r\nWARC-Date: {DATE}\r\n"
            f"WARC-Record-ID: <urn:demo:{url}>\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(block) + length_delta}\r\n\r\n").encode()
    return gzip.compress(head + block + b"\r\n\r\n", mtime=0)


def write_warc(path: Path) -> None:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True, warc_version="1.0")
    html = "text/html; charset=utf-8"
    for lang in WARC_LANGS:
        for k, paras in enumerate(_pages(lang)):
            url = f"https://{lang}.example.org/page-{k}"
            if lang == "rus" and k == 0:  # charset in the HTTP header only, bytes in windows-1251
                _response(w, url, _html(f"{lang} {k}", paras, None).encode("cp1251", "xmlcharrefreplace"), "text/html; charset=windows-1251")
            elif lang == "jpn" and k == 0:  # charset declared only in <meta>
                _response(w, url, _html(f"{lang} {k}", paras, "shift_jis").encode("shift_jis", "xmlcharrefreplace"), "text/html")
            elif lang == "fra" and k == 0:  # UTF-8 that was once decoded as cp1252: mojibake for ftfy
                _response(w, url, _html(f"{lang} {k}", paras).encode("utf-8").decode("cp1252", "replace")
                          .encode("utf-8"), html)
            else:
                _response(w, url, _html(f"{lang} {k}", paras).encode(), html)
    eng0, deu0, rus1 = _pages("eng")[0], _pages("deu")[0], _pages("rus")[1]
    # Exact duplicate: the same page under another URL.
    _response(w, "https://mirror.example.net/eng/page-0", _html("eng 0", eng0).encode(), html)
    # Near duplicates: regrouped lines + one edited word.
    _response(w, "https://copy.example.net/eng", _html("eng copy", _near_duplicate(eng0, "slowly", "gently")).encode(), html)
    _response(w, "https://copy.example.net/deu", _html("deu copy", _near_duplicate(deu0, "kleine", "hübsche")).encode(), html)
    _response(w, "https://copy.example.net/rus",
              _html("rus copy", _near_duplicate(rus1, "бесплатные", "весёлые")).encode(), html)
    # Code-switched page: mostly English, with Spanish sentences in between.
    mixed = [f"{SENTENCES['eng'][i]} {SENTENCES['spa'][i]} {SENTENCES['eng'][i + 1]}" for i in range(0, 9, 3)]
    _response(w, "https://mix.example.org/en-es", _html("mix", mixed).encode(), html)
    # Translated manuals full of Latin command names (labelled jpn_Jpan, rus_Cyrl, ara_Arab: lid.script_corrected)
    # and a half-translated handbook page (Greek with an English section: mono.split_mixed splits it off).
    for lang, lines in CODE_PAGES.items():
        _response(w, f"https://docs.example.org/{lang}/manual", _html(f"{lang} manual", [escape(x) for x in lines],
                                                                     boilerplate=False).encode(), html)
    _response(w, "https://docs.example.org/ell/install",
              _html("ell install", [escape(x) for part in HALF_TRANSLATED for x in part], boilerplate=False).encode(), html)
    # Bad or unwanted records.
    _response(w, "https://junk.example.org/", _html("#", ["#### $$$ %%% &&& *** 1234 5678 9012 ||| ### @@@ !!! +++"] * 3,
                                                      boilerplate=False).encode(), html)
    table = ["Stock 10231 20.44 31.09 442.1 5.01 6610 77.2 810.3 9.94 1017 12.7 13.8 14.91 1502 16.7 17.0"] * 1 + [
        "Index 2024 " + " ".join(str(1000 + 37 * i) for i in range(30))]
    _response(w, "https://numbers.example.org/", _html("numbers", table, boilerplate=False).encode(), html)
    _response(w, "https://short.example.org/", _html("x", ["Thanks for visiting our site."], boilerplate=False).encode(), html)
    _response(w, "https://boiler.example.org/", _html("Contact", ["Contact us."]).encode(), html)
    _response(w, "https://img.example.org/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
    _response(w, "https://old.example.org/", b"", "text/html", status="301 Moved Permanently",
              extra=[("Location", "https://new.example.org/")])
    _response(w, "https://empty.example.org/", b"<html><head><script>var a = 1;</script></head><body></body></html>", html)
    _response(w, "https://docs.example.org/annual-report", _pdf(" ".join(SENTENCES["eng"][:4])), html)  # sniffed: a PDF
    data = buf.getvalue()
    garbled = _raw_member("response", "https://garbled.example.org/", b"\x00\x13 not an http response \xff\r\n\r\n<p>hi</p>",
                          "application/http; msgtype=response")
    truncated = gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\n" + b"x" * 400, mtime=0)[:40]
    path.write_bytes(data + garbled + truncated + _lying_length_member() + _raw_member(
        "response", "https://after.example.org/", _http_page(_html("eng 3", [SENTENCES["eng"][0] + " Last page."])),
        "application/http; msgtype=response"))


def _pdf(text: str) -> bytes:
    """An uncompressed one-page PDF whose content stream holds `text` (readable as plain bytes)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
            + f"4 0 obj << /Length {len(stream)} >> stream\n".encode() + stream
            + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def _lying_length_member() -> bytes:
    """One gzip member holding two records; the first declares 60 bytes more than it has, so its
    declared block ends inside the second record's WARC headers (bad_record_length). The second,
    a real page, is read after the reader resyncs at its WARC/1.0 line."""
    first = _raw_member("response", "https://liar.example.org/", _http_page(_html("liar", [SENTENCES["deu"][0]])),
                        "application/http; msgtype=response", length_delta=60)
    second = _raw_member("response", "https://resync.example.org/", _http_page(_html("eng 4", [
        " ".join(SENTENCES["eng"][i] for i in (1, 6, 11)), " ".join(SENTENCES["eng"][i] for i in (3, 8))])),
        "application/http; msgtype=response")
    return gzip.compress(gzip.decompress(first) + gzip.decompress(second), mtime=0)


def _http_page(html: str) -> bytes:
    body = html.encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def write_wet(path: Path) -> None:
    members = []
    for lang in WET_LANGS:
        for k, paras in enumerate(_pages(lang)):
            text = "\n".join([NAV, *paras, FOOTER])
            members.append(_raw_member("conversion", f"https://{lang}.example.org/page-{k}", text.encode(), "text/plain"))
    members.append(_raw_member("conversion", "https://latin1.example.org/", "Caf\u00e9 cr\u00e8me".encode("latin-1") * 20,
                               "text/plain"))
    members.append(_raw_member("warcinfo", "", b"software: xlcorpus demo\r\n", "application/warc-fields"))
    path.write_bytes(b"".join(members))


def make_section(data_dir: Path) -> dict:
    crawl = Path(data_dir) / "crawl"
    crawl.mkdir(parents=True, exist_ok=True)
    write_warc(crawl / "demo-00000.warc.gz")
    write_wet(crawl / "demo-00000.warc.wet.gz")
    return {"mono": {"inputs": [str(crawl / "*.warc.gz"), str(crawl / "*.warc.wet.gz")], "split_mixed": True},
            "neardup": {"enabled": True}}
