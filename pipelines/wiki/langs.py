"""Wikidata label languages → project codes (xxx_Scrp), and project codes → release codes.

Wikidata labels use MediaWiki language codes: `de`, `zh`, `ja`, plus variants (`en-gb`, `de-ch`,
`pt-br`, `zh-hans`, `sr-el`) and special codes (`mul` = any language, `und`). We take the base codes
through pipelines.langcodes.lang_code (default script of the language), and only the variants that
name a different script (`sr-el` → srp_Latn, `sr-ec` → srp_Cyrl) or stand in for a missing base
label (`zh-hans`/`zh-hant`/`zh-cn`/`zh-tw` → zho_Hani when `zh` has none). Regional variants are
skipped: the base label is the one EntityCS uses.
"""

from __future__ import annotations

from functools import lru_cache

from pipelines.langcodes import default_script, iso639_1, lang_code

# variant → (project code, priority; lower wins when several codes map to one project code)
_VARIANTS: dict[str, tuple[str, int]] = {
    "sr-el": ("srp_Latn", 0), "sr-ec": ("srp_Cyrl", 1),
    "zh-hans": ("zho_Hani", 1), "zh-cn": ("zho_Hani", 2), "zh-hant": ("zho_Hani", 3), "zh-tw": ("zho_Hani", 4),
    "be-tarask": ("bel_Cyrl", 1),
}
_NOT_A_LANGUAGE = frozenset({"mul", "und", "zxx", "mis"})


@lru_cache(maxsize=4096)
def project_code(wiki_code: str) -> tuple[str, int] | None:
    """(xxx_Scrp, priority) for a Wikidata label language; None when we don't take that code."""
    c = wiki_code.strip().lower()
    if c in _VARIANTS:
        return _VARIANTS[c]
    if "-" in c or c in _NOT_A_LANGUAGE or not c:
        return None
    try:
        return lang_code(c), 0
    except ValueError:
        return None


def project_labels(labels: dict[str, str]) -> dict[str, str]:
    """{wikidata code: label} → {project code: label}, one label per project code (best priority)."""
    best: dict[str, tuple[int, str, str]] = {}
    for code in sorted(labels):
        mapped = project_code(code)
        label = labels[code].strip()
        if mapped is None or not label:
            continue
        proj, prio = mapped
        if proj not in best or (prio, code) < best[proj][:2]:
            best[proj] = (prio, code, label)
    return {k: v[2] for k, v in sorted(best.items())}


def release_code(project: str, style: str) -> str:
    """The language code of the EntityCS release format: `iso639_1` → "de" (ISO 639-3 when the
    language has no two-letter code, e.g. "yue"; "-Scrp" appended when the script is not the
    language's usual one, e.g. srp_Latn → "sr-Latn"), `project` → "deu_Latn" unchanged."""
    if style == "project":
        return project
    if style != "iso639_1":
        raise ValueError(f"unknown release code style {style!r} (iso639_1 or project)")
    iso3, _, script = project.partition("_")
    code = iso639_1(iso3) or iso3
    return code if not script or script == default_script(iso3) else f"{code}-{script}"
