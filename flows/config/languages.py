"""The one language-code check of the config: every language field and key of every section uses it.

Products name languages `xxx_Scrp` (ISO 639-3 + ISO 15924), checked against the IANA subtag registry
shipped with `langcodes`, so a typo (`english`, `en_Latn`, `qqx_Latn`) fails when the config is
loaded, not as an empty language hours later. Fields that name a language *of an input file*
(parallel src_lang / tgt_lang) also take the short forms the readers map (`de`, `deu`), with
`short_ok=True`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# one reader of the IANA registry and one xxx_Scrp check, shared with pipelines
from pipelines.langcodes import check_project_code, registered_subtags

_FULL = re.compile(r"([a-z]{3})_([A-Z][a-z]{3})")
_SHORT = re.compile(r"([a-z]{2,3})(?:[-_]([A-Z][a-z]{3}))?")


def _check_short(code: str) -> str:
    from langcodes import Language

    m = _SHORT.fullmatch(code)
    if not m:
        raise ValueError(f"{code!r} is not a language code (e.g. de, deu or deu_Latn)")
    langs, scripts = registered_subtags()
    try:
        iso3 = Language.get(m[1], normalize=False).to_alpha3() if len(m[1]) == 2 else m[1]
    except LookupError:
        iso3 = ""
    if iso3 not in langs:
        raise ValueError(f"{code!r}: {m[1]!r} is not an ISO 639-1 or 639-3 language code")
    if m[2] and m[2] not in scripts:
        raise ValueError(f"{code!r}: {m[2]!r} is not an ISO 15924 script code")
    return code


def check_language(code: str, *, short_ok: bool = False) -> str:
    """`code` if it is a known xxx_Scrp code (ISO 639-3 + ISO 15924), else ValueError saying what is wrong.

    short_ok: also accept `de` / `deu` / `de-Latn` style codes (the parallel readers map them).
    """
    if not isinstance(code, str):
        raise ValueError(f"{code!r} is not a language code (a string such as eng_Latn)")
    if short_ok and not _FULL.fullmatch(code):
        return _check_short(code)
    return check_project_code(code)  # the pipelines' own check: UnknownLanguageError is a ValueError


def check_languages(codes: Iterable[str]) -> list[str]:
    """Every code of a list checked; the first bad one raises (its index is in pydantic's location)."""
    return [check_language(c) for c in codes]


def check_language_keys(mapping: dict) -> dict:
    """A dict keyed by language: every key checked (pydantic's location stops at the dict itself)."""
    for key in mapping:
        try:
            check_language(key)
        except ValueError as e:
            raise ValueError(f"key {e}") from None
    return mapping
