"""Language codes: ISO 639-1 / Wikipedia / LID-model codes → ISO 639-3, plus an ISO 15924 script.

Every product names languages as ``xxx_Scrp`` (``eng_Latn``, ``zho_Hani``, ``srp_Cyrl``). LID models
and dumps use other spellings (``en``, ``zh-yue``, ``als``, ``__label__eng_Latn``); this module maps
them. The tables come from `langcodes` and its data package `language_data`: the IANA subtag
registry (which codes exist, ISO 639-1 ↔ 639-3) and CLDR (the scripts each language is written in,
and its most likely one). Only Wikipedia's own codes that mean something else in ISO 639 (`als`,
`simple`, `zh-yue`, `be-tarask`, …) are kept by hand.

Macrolanguages keep their macrolanguage code (``ara``, ``zho``, ``fas``, ``msa``), which is what a
two-letter code means; a model that predicts individual languages (``arb``, ``cmn``) keeps those.
Chinese is ``Hani`` whatever CLDR's Hans/Hant says, unless a model names Hans or Hant itself.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from importlib.resources import files

from langcodes import Language
from langcodes.data_dicts import (
    LANGUAGE_ALPHA3,
    LANGUAGE_ALPHA3_BIBLIOGRAPHIC,
    LANGUAGE_REPLACEMENTS,
    LIKELY_SUBTAGS,
    MACROLANGUAGES,
)
from langcodes.registry_parser import parse_file

from pipelines.scripts import dominant_from_counts, script_counts


class UnknownLanguageError(ValueError):
    """A code that names no language: not ISO 639-1/639-3, nor a Wikipedia code we know."""


# Wikipedia / lid.176 codes that are not the ISO code of the language they name. `als` is Alemannic
# on Wikipedia (and in lid.176) but Tosk Albanian in ISO 639-3; `nrm` is Norman on Wikipedia but
# Narom in ISO 639-3; `sh` is Serbo-Croatian (hbs), not Serbian; `bh` is Bhojpuri, not the Bihari group.
_WIKI = {
    "als": "gsw", "nrm": "nrf", "simple": "eng", "be-tarask": "bel", "be-x-old": "bel", "zh-yue": "yue",
    "zh-min-nan": "nan", "zh-classical": "lzh", "zh-hans": "zho", "zh-hant": "zho", "roa-rup": "rup",
    "roa-tara": "nap", "bat-smg": "sgs", "fiu-vro": "vro", "nds-nl": "nds", "map-bms": "jav", "cbk-zam": "cbk",
    "eml": "egl", "bh": "bho", "sh": "hbs",
}
# Wikipedia languages CLDR has no script data for (everything else comes from CLDR).
_WIKI_SCRIPTS = {"azb": ("Arab",), "pnb": ("Arab",), "bxr": ("Cyrl",), "hbs": ("Latn", "Cyrl")}
# CLDR script → the script code this project writes: Chinese is Hani whichever variant, Korean is
# Hangul (Hanja counts towards it, see script_letters).
PROJECT_SCRIPT = {"Hans": "Hani", "Hant": "Hani", "Hanb": "Hani", "Kore": "Hang"}
FALLBACK_SCRIPT = "Latn"  # a language CLDR does not describe, in a text without letters

_CODE_RE = re.compile(r"^[a-z]{2,3}$")
_SCRIPT_RE = re.compile(r"^[A-Z][a-z]{3}$")
_BIBLIOGRAPHIC = {b: LANGUAGE_ALPHA3[two] for two, b in LANGUAGE_ALPHA3_BIBLIOGRAPHIC.items()}  # ger → deu
# Two-letter codes ISO withdrew (iw, in, ji, jw, mo, sh): read, never written. CLDR also replaces
# `tl` by `fil`, but ISO 639 keeps tl = Tagalog (tgl), which is what lid.176 means by it.
_WITHDRAWN_ISO1 = frozenset(c for c in LANGUAGE_REPLACEMENTS if len(c) == 2) - {"tl"}
# ISO 639-3 → its current two-letter code.
_ISO1_BY_ISO3 = {three: two for two, three in sorted(LANGUAGE_ALPHA3.items())
                 if len(two) == 2 and two not in _WITHDRAWN_ISO1}


@functools.cache
def registered_subtags() -> tuple[frozenset[str], frozenset[str]]:
    """(ISO 639-3 languages, ISO 15924 scripts) from the IANA subtag registry shipped with `langcodes`.

    The registry lists a language by its two-letter code where it has one (BCP 47 prefers `en` to
    `eng`); those are added as their ISO 639-3 code."""
    langs, scripts = set(), set()
    with (files("langcodes") / "data" / "language-subtag-registry.txt").open(encoding="utf-8") as f:
        for item in parse_file(f):
            sub = item.get("Subtag", "")
            if item.get("Type") == "language" and len(sub) == 3:
                langs.add(sub)
            elif item.get("Type") == "language" and len(sub) == 2:
                langs.add(Language.get(sub, normalize=False).to_alpha3())
            elif item.get("Type") == "script":
                scripts.add(sub)
    return frozenset(langs), frozenset(scripts)


def is_known_language(iso3: str) -> bool:
    """Whether `iso3` is a registered ISO 639-3 code."""
    return iso3 in registered_subtags()[0]


_PROJECT_CODE_RE = re.compile(r"([a-z]{3})_([A-Z][a-z]{3})")


def check_project_code(code: str) -> str:
    """`code` when it is a known ``xxx_Scrp`` code (registered ISO 639-3 + ISO 15924), else
    UnknownLanguageError saying which part is wrong."""
    m = _PROJECT_CODE_RE.fullmatch(code) if isinstance(code, str) else None
    if not m:
        raise UnknownLanguageError(f"{code!r} is not a language code of the form xxx_Scrp "
                                   "(ISO 639-3 + script, e.g. eng_Latn)")
    langs, scripts = registered_subtags()
    if m[1] not in langs:
        raise UnknownLanguageError(f"{code!r}: {m[1]!r} is not an ISO 639-3 language code")
    if m[2] not in scripts:
        raise UnknownLanguageError(f"{code!r}: {m[2]!r} is not an ISO 15924 script code")
    return code


def _two_letter_to_iso3(base: str) -> str:
    if base in _WITHDRAWN_ISO1:  # iw → he → heb
        return Language.get(base).to_alpha3()
    return LANGUAGE_ALPHA3.get(base) or ""


def to_iso639_3(code: str) -> str:
    """ISO 639-1, Wikipedia or LID code → ISO 639-3 (lowercase). Registered 639-3 codes pass through.

    Region and script subtags are ignored (``pt-BR`` → ``por``, ``zh_Hant`` → ``zho``).
    Raises UnknownLanguageError for a code that names no language (``english``, ``xxx``).
    """
    c = code.strip()
    if c.lower().startswith("__label__"):
        c = c[len("__label__"):]
    c = c.replace("_", "-")
    low = c.lower()
    if low in _WIKI:
        return _WIKI[low]
    base = low.split("-", 1)[0]
    if base in _WIKI:
        return _WIKI[base]
    if _CODE_RE.match(base):
        iso3 = _two_letter_to_iso3(base) if len(base) == 2 else _BIBLIOGRAPHIC.get(base, base)
        if iso3 and is_known_language(iso3):
            return iso3
        raise UnknownLanguageError(
            f"unknown language code {code!r}: {base!r} is not a registered ISO 639-1/639-3 code "
            "(check the spelling, e.g. 'en', 'eng', 'eng_Latn')")
    raise UnknownLanguageError(
        f"not a language code: {code!r} (expected ISO 639-1/639-3, e.g. 'en', 'eng', 'eng_Latn')")


def iso639_1(iso3: str) -> str | None:
    """The current ISO 639-1 code of an ISO 639-3 language; None when it has none (e.g. yue)."""
    return _ISO1_BY_ISO3.get(iso3)


def split_code(code: str) -> tuple[str, str | None]:
    """('eng', 'Latn') from 'eng_Latn' / 'en-Latn-US'; script is None when the code has none."""
    c = code.strip()
    if c.lower().startswith("__label__"):
        c = c[len("__label__"):]
    parts = re.split(r"[-_]", c)
    script = next((p for p in parts[1:] if _SCRIPT_RE.match(p)), None)
    return to_iso639_3(c), script


# ------------------------------------------------------------------------------------------ scripts


@functools.cache
def _cldr_language_scripts() -> dict[str, tuple[str, ...]]:
    """CLDR languageData: BCP 47 language → the scripts it is (primarily) written in, in CLDR order.
    Secondary scripts (pinyin for Chinese, Latin for Hindi…) are left out on purpose: counting them
    would bring back `zho_Latn` for a Chinese page full of English terms."""
    root = ET.fromstring((files("language_data") / "data" / "supplementalData.xml").read_bytes())
    out: dict[str, list[str]] = {}
    for el in root.iterfind("./languageData/language"):
        if el.get("alt") != "secondary" and el.get("scripts"):
            out.setdefault(el.get("type"), []).extend(el.get("scripts").split())
    return {lang: tuple(dict.fromkeys(s)) for lang, s in out.items()}


def _project(script: str) -> str:
    return PROJECT_SCRIPT.get(script, script)


@functools.cache
def language_scripts(iso3: str) -> tuple[str, ...]:
    """The scripts language `iso3` is written in, its usual one first (project spellings: Hani, Hang,
    Jpan…); () when CLDR knows none. From CLDR: the likely script of the language and its primary
    scripts (srp → Cyrl, Latn; aze → Latn, Arab, Cyrl); a language CLDR lacks takes its
    macrolanguage's (mhr → chm); a few Wikipedia languages are filled in by hand."""
    if iso3 in _WIKI_SCRIPTS:
        return _WIKI_SCRIPTS[iso3]
    tag = Language.get(iso3)  # normalized BCP 47: eng → en, hbs → sr-Latn
    table = _cldr_language_scripts()
    candidates = [tag.script] if tag.script else []
    for lang in (tag.language, MACROLANGUAGES.get(iso3)):
        if not lang:
            continue
        scripts = list(table.get(lang, ()))
        likely = LIKELY_SUBTAGS.get(lang)  # CLDR's most likely script of the language, when it has one
        if likely:
            scripts.insert(0, Language.get(likely, normalize=False).script)
        if scripts:
            candidates += scripts
            break
    return tuple(dict.fromkeys(_project(s) for s in candidates))


def default_script(iso3: str) -> str:
    """The usual script of an ISO 639-3 language (CLDR's likely script); Latin when CLDR knows none."""
    scripts = language_scripts(iso3)
    return scripts[0] if scripts else FALLBACK_SCRIPT


def script_letters(counts: Counter, script: str) -> int:
    """Letters of `script` in per-script letter counts, counting a script family as one: Japanese is
    kanji + kana, Korean is Hangul + Hanja."""
    if script == "Jpan":
        return counts.get("Hani", 0) + counts.get("Hira", 0) + counts.get("Kana", 0) + counts.get("Jpan", 0)
    if script in ("Hang", "Kore"):
        return counts.get("Hang", 0) + counts.get("Hani", 0)
    return counts.get(script, 0)


# A language's own script must hold this share of the text's letters to be chosen; below it the text
# is really written in another script (romanized text) and keeps that script.
MIN_OWN_SCRIPT_SHARE = 0.05


@dataclass(frozen=True)
class ScriptChoice:
    script: str
    how: str  # "text": from the text's letters; "default": the text has none; counted as lid.script_from_<how>
    corrected: bool = False  # the text's dominant script differs (e.g. Latin code terms in a Japanese page)


def choose_script(iso3: str, counts: Counter) -> ScriptChoice:
    """Script of a text of language `iso3`, from its letters per script (pipelines.scripts.script_counts).

    Only the scripts the language is written in are counted: the one with most letters wins when it
    holds ≥ MIN_OWN_SCRIPT_SHARE of them, so English terms and command names do not turn a Japanese
    page into ``jpn_Latn``, while Serbian in Latin letters stays ``srp_Latn``. When none of them
    does (romanized text, or a language CLDR does not describe) the text's dominant script is taken.
    """
    if not counts:
        return ScriptChoice(default_script(iso3), "default")
    dominant = dominant_from_counts(counts)
    total = sum(counts.values())
    own = [(script_letters(counts, s), -i, s) for i, s in enumerate(language_scripts(iso3))]
    best = max(own, default=(0, 0, ""))
    if best[0] and best[0] >= MIN_OWN_SCRIPT_SHARE * total:
        script = best[2]
        same = script == dominant or _project(dominant) == script or (script == "Jpan" and dominant == "Hani")
        return ScriptChoice(script, "text", corrected=not same)
    return ScriptChoice(_project(dominant), "text")


def script_of(iso3: str, text: str) -> str | None:
    """Script a text of language `iso3` is written in (see choose_script); None when it has no letters."""
    counts = script_counts(text, SCRIPT_SAMPLE_CHARS)
    return choose_script(iso3, counts).script if counts else None


SCRIPT_SAMPLE_CHARS = 8000  # letters counted per text: enough when the page starts with a code block


def lang_code(code: str, text: str | None = None) -> str:
    """``xxx_Scrp`` for a language code: a script given in the code wins; else the script of `text`
    (see choose_script); else the language's default script."""
    iso3, script = split_code(code)
    if script is None and text:
        script = script_of(iso3, text)
    if script is None:
        script = default_script(iso3)
    return f"{iso3}_{script}"
