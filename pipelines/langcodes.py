"""Language codes: ISO 639-1 / Wikipedia / LID-model codes → ISO 639-3, plus an ISO 15924 script.

Every product names languages as ``xxx_Scrp`` (``eng_Latn``, ``zho_Hani``, ``srp_Cyrl``). LID models
and dumps use other spellings (``en``, ``zh-yue``, ``als``, ``__label__eng_Latn``); this module maps
them. Macrolanguages keep their macrolanguage code (``ara``, ``zho``, ``fas``, ``msa``), which is what
a two-letter code means; a model that predicts individual languages (``arb``, ``cmn``) keeps those.
"""

from __future__ import annotations

import re

from pipelines.scripts import dominant_from_counts, script_counts

# ISO 639-1 → ISO 639-3 (all 184 two-letter codes).
_ISO1 = dict(
    pair.split(":")
    for pair in (
        "aa:aar ab:abk ae:ave af:afr ak:aka am:amh an:arg ar:ara as:asm av:ava ay:aym az:aze ba:bak be:bel "
        "bg:bul bh:bho bi:bis bm:bam bn:ben bo:bod br:bre bs:bos ca:cat ce:che ch:cha co:cos cr:cre cs:ces "
        "cu:chu cv:chv cy:cym da:dan de:deu dv:div dz:dzo ee:ewe el:ell en:eng eo:epo es:spa et:est eu:eus "
        "fa:fas ff:ful fi:fin fj:fij fo:fao fr:fra fy:fry ga:gle gd:gla gl:glg gn:grn gu:guj gv:glv ha:hau "
        "he:heb hi:hin ho:hmo hr:hrv ht:hat hu:hun hy:hye hz:her ia:ina id:ind ie:ile ig:ibo ii:iii ik:ipk "
        "io:ido is:isl it:ita iu:iku ja:jpn jv:jav ka:kat kg:kon ki:kik kj:kua kk:kaz kl:kal km:khm kn:kan "
        "ko:kor kr:kau ks:kas ku:kur kv:kom kw:cor ky:kir la:lat lb:ltz lg:lug li:lim ln:lin lo:lao lt:lit "
        "lu:lub lv:lav mg:mlg mh:mah mi:mri mk:mkd ml:mal mn:mon mr:mar ms:msa mt:mlt my:mya na:nau nb:nob "
        "nd:nde ne:nep ng:ndo nl:nld nn:nno no:nor nr:nbl nv:nav ny:nya oc:oci oj:oji om:orm or:ori os:oss "
        "pa:pan pi:pli pl:pol ps:pus pt:por qu:que rm:roh rn:run ro:ron ru:rus rw:kin sa:san sc:srd sd:snd "
        "se:sme sg:sag sh:hbs si:sin sk:slk sl:slv sm:smo sn:sna so:som sq:sqi sr:srp ss:ssw st:sot su:sun "
        "sv:swe sw:swa ta:tam te:tel tg:tgk th:tha ti:tir tk:tuk tl:tgl tn:tsn to:ton tr:tur ts:tso tt:tat "
        "tw:twi ty:tah ug:uig uk:ukr ur:urd uz:uzb ve:ven vi:vie vo:vol wa:wln wo:wol xh:xho yi:yid yo:yor "
        "za:zha zh:zho zu:zul mo:ron"
    ).split()
)

# Two-letter codes that were withdrawn (their languages have other codes): read, never written.
DEPRECATED_ISO1 = frozenset({"iw", "in", "ji", "jw", "mo", "sh", "bh"})
# ISO 639-3 → its current two-letter code (first alphabetically where several map to one language).
_ISO1_BY_ISO3: dict[str, str] = {}
for _code in sorted(_ISO1):
    if _code not in DEPRECATED_ISO1:
        _ISO1_BY_ISO3.setdefault(_ISO1[_code], _code)


def iso639_1(iso3: str) -> str | None:
    """The current ISO 639-1 code of an ISO 639-3 language; None when it has none (e.g. yue)."""
    return _ISO1_BY_ISO3.get(iso3)


# Wikipedia / lid.176 codes that are not ISO 639-3 codes of the language they name. `als` is
# Alemannic on Wikipedia (and in lid.176) but Tosk Albanian in ISO 639-3; `nrm` is Norman on
# Wikipedia but Narom in ISO 639-3 — so these must be mapped, not passed through.
_WIKI = {
    "als": "gsw", "nrm": "nrf", "simple": "eng", "be-tarask": "bel", "be-x-old": "bel", "zh-yue": "yue",
    "zh-min-nan": "nan", "zh-classical": "lzh", "zh-hans": "zho", "zh-hant": "zho", "roa-rup": "rup",
    "roa-tara": "nap", "bat-smg": "sgs", "fiu-vro": "vro", "nds-nl": "nds", "map-bms": "jav", "cbk-zam": "cbk",
    "eml": "egl", "bh": "bho", "sh": "hbs", "mo": "ron", "jw": "jav", "iw": "heb", "in": "ind", "ji": "yid",
}

# Default script of a language (for codes without one and texts without letters). Languages not
# listed here are written in Latin script by default (checked by a test for every lid.176 label).
DEFAULT_SCRIPT: dict[str, str] = {
    # Cyrillic
    **dict.fromkeys(
        "rus ukr bel bul mkd srp kaz kir tat bak chv sah che mhr mrj myv kom kpv koi udm oss tyv xal bxr krc "
        "lez ava rue tgk mon abk kbd ady alt chu".split(), "Cyrl"),
    # Arabic
    **dict.fromkeys("ara arb arz ary apc acm ajp fas pes prs urd pus pbu snd uig ckb azb mzn glk lrc pnb "
                    "skr bal kas".split(), "Arab"),
    **dict.fromkeys("hin mar nep san new bho mai mag awa gom dty kok bih doi".split(), "Deva"),
    **dict.fromkeys("ben asm bpy".split(), "Beng"),
    "pan": "Guru", "guj": "Gujr", "ori": "Orya", "ory": "Orya", "tam": "Taml", "tel": "Telu", "kan": "Knda",
    "mal": "Mlym", "sin": "Sinh", "tha": "Thai", "lao": "Laoo", "khm": "Khmr", "mya": "Mymr",
    "bod": "Tibt", "dzo": "Tibt", "kat": "Geor", "xmf": "Geor", "hye": "Armn", "ell": "Grek", "grc": "Grek",
    "heb": "Hebr", "yid": "Hebr", "lad": "Hebr", "div": "Thaa", "syr": "Syrc",
    "amh": "Ethi", "tir": "Ethi", "chr": "Cher", "iku": "Cans", "cre": "Cans",
    # CJK
    "jpn": "Jpan", "kor": "Hang", "zho": "Hani", "cmn": "Hani", "yue": "Hani", "wuu": "Hani", "lzh": "Hani",
    "gan": "Hani", "hak": "Hani", "hsn": "Hani", "iii": "Yiii",
}

_CODE_RE = re.compile(r"^[a-z]{2,3}$")
_SCRIPT_RE = re.compile(r"^[A-Z][a-z]{3}$")
# A text whose dominant script is one of these is written in the language's usual script family.
_SCRIPT_FAMILY = {
    "jpn": {"Hani": "Jpan", "Hira": "Jpan", "Kana": "Jpan", "Jpan": "Jpan"},
    "kor": {"Kore": "Hang", "Hang": "Hang"},
}


def to_iso639_3(code: str) -> str:
    """ISO 639-1, Wikipedia or LID code → ISO 639-3 (lowercase). 639-3 codes pass through.

    Region and script subtags are ignored (``pt-BR`` → ``por``, ``zh_Hant`` → ``zho``).
    Raises ValueError for something that is not a language code at all.
    """
    c = code.strip().replace("_", "-")
    if c.lower().startswith("__label__"):
        c = c[len("__label__"):]
    low = c.lower()
    if low in _WIKI:
        return _WIKI[low]
    base = low.split("-", 1)[0]
    if base in _WIKI:
        return _WIKI[base]
    if base in _ISO1:
        return _ISO1[base]
    if _CODE_RE.match(base) and len(base) == 3:
        return base
    raise ValueError(f"not a language code: {code!r} (expected ISO 639-1/639-3, e.g. 'en', 'eng', 'eng_Latn')")


def split_code(code: str) -> tuple[str, str | None]:
    """('eng', 'Latn') from 'eng_Latn' / 'en-Latn-US'; script is None when the code has none."""
    c = code.strip()
    if c.lower().startswith("__label__"):
        c = c[len("__label__"):]
    parts = re.split(r"[-_]", c)
    script = next((p for p in parts[1:] if _SCRIPT_RE.match(p)), None)
    return to_iso639_3(c), script


def default_script(iso3: str) -> str:
    """The usual script of an ISO 639-3 language; Latin when not listed."""
    return DEFAULT_SCRIPT.get(iso3, "Latn")


def _family_count(counts, script: str) -> int:
    if script == "Jpan":
        return counts.get("Hani", 0) + counts.get("Hira", 0) + counts.get("Kana", 0)
    if script in ("Hang", "Kore"):
        return counts.get("Hang", 0) + counts.get("Hani", 0)
    return counts.get(script, 0)


def script_of(iso3: str, text: str) -> str | None:
    """Script a text of language `iso3` is written in; None when the text has no letters.

    The language's usual script wins whenever it holds a fair share (≥ 25 %) of the letters, so an
    English cookie banner on a Chinese page does not make it ``zho_Latn``; otherwise the text's
    dominant script is taken (``srp`` in Latin letters → ``srp_Latn``).
    """
    counts = script_counts(text, 2000)
    if not counts:
        return None
    usual = default_script(iso3)
    if _family_count(counts, usual) >= 0.25 * max(counts.values()):
        return usual
    found = dominant_from_counts(counts)
    return _SCRIPT_FAMILY.get(iso3, {}).get(found, found)


def lang_code(code: str, text: str | None = None) -> str:
    """``xxx_Scrp`` for a language code: a script given in the code wins; else the script of `text`
    (see script_of); else the language's default script."""
    iso3, script = split_code(code)
    if script is None and text:
        script = script_of(iso3, text)
    if script is None:
        script = default_script(iso3)
    return f"{iso3}_{script}"
