"""Word tokens for alignment, with char offsets back into the text.

Spaced scripts: a word is a maximal run of letters/digits/marks (an apostrophe between two such
characters stays inside: "don't", "l'homme"); every other non-space character is a token of its own.
Unspaced scripts (Han, Kana, Thai, ...): every character is a token. Tokens never contain
whitespace, so whitespace-joined tokens round-trip (eflomal's input format relies on it).
"""

from __future__ import annotations

import unicodedata

from pipelines.scripts import char_script, is_unspaced

_APOSTROPHES = frozenset("'’")


def _is_word_char(ch: str) -> bool:
    """A character that joins a spaced-script word: a letter, digit or combining mark (Devanagari
    vowel signs, accents in NFD text) not of an unspaced script."""
    return (ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M") and not is_unspaced(char_script(ch))


def word_tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Tokens and their (start, end) char offsets in `text`."""
    tokens: list[str] = []
    offsets: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if _is_word_char(ch):
            j = i + 1
            while j < n:
                c = text[j]
                if _is_word_char(c):
                    j += 1
                elif c in _APOSTROPHES and j + 1 < n and _is_word_char(text[j + 1]):
                    j += 2
                else:
                    break
        else:
            j = i + 1
            # a combining mark belongs to the character before it, even in unspaced scripts
            while j < n and unicodedata.category(text[j])[0] == "M":
                j += 1
        tokens.append(text[i:j])
        offsets.append((i, j))
        i = j
    return tokens, offsets


def is_word(token: str) -> bool:
    """A token that names something (has a letter): lexicon entries and code-switching use only these."""
    return any(ch.isalpha() for ch in token)
