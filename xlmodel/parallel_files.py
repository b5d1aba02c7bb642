"""Held-out parallel text for the retrieval eval, in the layouts public test sets ship in.

`read_parallel(path, languages)` accepts:
- a TSV file `NAME.<src>-<tgt>.tsv` (or any name holding `<src>-<tgt>`): one pair per line,
  exactly two tab-separated columns;
- a Moses pair `NAME.<src>-<tgt>.<src>` + `NAME.<src>-<tgt>.<tgt>` (pass either file or the prefix),
  line-aligned — also the Tatoeba layout of XTREME, `tatoeba.deu-eng.deu` / `tatoeba.deu-eng.eng`;
- a FLORES-style folder of line-aligned files `<xxx_Scrp>.<split>` (`devtest/deu_Latn.devtest`, …):
  every language against eng_Latn when present, else every pair of languages;
- any other folder: every TSV file and Moses pair in it (a Tatoeba folder).

Language codes in names are xxx_Scrp, or ISO 639-3 alone (`deu`) when exactly one of the model's
languages has that prefix. Empty lines are dropped and counted; a malformed file raises
ParallelFileError naming the file, the line and what to do.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CODE = r"[a-z]{3}(?:_[A-Z][a-z]{3})?"
PAIR_IN_NAME = re.compile(rf"(?<![A-Za-z])({CODE})-({CODE})(?![A-Za-z])")
FLORES_FILE = re.compile(r"^([a-z]{3}_[A-Z][a-z]{3})\.([A-Za-z0-9_-]+)$")
PIVOT = "eng_Latn"


class ParallelFileError(ValueError):
    """A held-out parallel file the user can fix: the message names it and what is wrong."""


@dataclass
class ParallelSet:
    source: str  # what the report calls it (file names, no folders)
    src_lang: str
    tgt_lang: str
    pairs: list[tuple[str, str]]
    dropped: Counter = field(default_factory=Counter)  # reason → lines

    @property
    def key(self) -> str:
        pair = f"{self.src_lang}-{self.tgt_lang}"
        return self.source if pair in self.source else f"{self.source}:{pair}"


def resolve_code(code: str, languages: list[str], where: Path) -> str:
    if "_" in code:
        return code
    matches = [lang for lang in languages if lang.split("_")[0] == code]
    if len(matches) != 1:
        raise ParallelFileError(f"{where}: language {code!r} matches {matches or 'none'} of the model's languages "
                                f"{languages}: name the file with xxx_Scrp codes (e.g. deu_Latn)")
    return matches[0]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ParallelFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}): re-save it as UTF-8") from e


def _clean(src: list[str], tgt: list[str]) -> tuple[list[tuple[str, str]], Counter]:
    pairs, dropped = [], Counter()
    for a, b in zip(src, tgt, strict=True):
        a, b = a.strip(), b.strip()
        if not a or not b:
            dropped["empty"] += 1
        else:
            pairs.append((a, b))
    return pairs, dropped


def _pair_codes(name: str, path: Path, languages: list[str]) -> tuple[str, str]:
    found = PAIR_IN_NAME.findall(name)
    if not found:
        raise ParallelFileError(f"{path}: the file name must name its languages as <src>-<tgt> "
                                "(e.g. heldout.deu_Latn-eng_Latn.tsv)")
    a, b = found[-1]
    return resolve_code(a, languages, path), resolve_code(b, languages, path)


def read_tsv(path: Path, languages: list[str]) -> ParallelSet:
    src_lang, tgt_lang = _pair_codes(path.name, path, languages)
    src, tgt = [], []
    for i, line in enumerate(_lines(path), 1):
        cols = line.split("\t")
        if len(cols) != 2:
            raise ParallelFileError(f"{path} line {i}: expected 2 tab-separated columns (src<TAB>tgt), got {len(cols)}")
        src.append(cols[0])
        tgt.append(cols[1])
    pairs, dropped = _clean(src, tgt)
    return ParallelSet(path.name, src_lang, tgt_lang, pairs, dropped)


def moses_files(path: Path, languages: list[str]) -> tuple[Path, Path, str, str]:
    """(src file, tgt file, src code, tgt code) of a Moses pair given by one of its files or its prefix."""
    prefix = path
    src_raw, tgt_raw = (PAIR_IN_NAME.findall(path.name) or [(None, None)])[-1]
    if src_raw is None:
        raise ParallelFileError(f"{path}: a Moses pair is named NAME.<src>-<tgt>.<src> / .<tgt> "
                                "(e.g. tatoeba.deu-eng.deu): rename it or pass a TSV file")
    if path.name.endswith(f".{src_raw}") or path.name.endswith(f".{tgt_raw}"):
        prefix = path.with_name(path.name.rsplit(".", 1)[0])
    a, b = prefix.with_name(f"{prefix.name}.{src_raw}"), prefix.with_name(f"{prefix.name}.{tgt_raw}")
    for f in (a, b):
        if not f.is_file():
            raise ParallelFileError(f"{f}: missing (a Moses pair needs both {a.name} and {b.name})")
    return a, b, resolve_code(src_raw, languages, path), resolve_code(tgt_raw, languages, path)


def read_moses(path: Path, languages: list[str]) -> ParallelSet:
    a, b, src_lang, tgt_lang = moses_files(path, languages)
    src, tgt = _lines(a), _lines(b)
    if len(src) != len(tgt):
        raise ParallelFileError(f"{a} has {len(src)} lines but {b} has {len(tgt)}: a Moses pair must be line-aligned")
    pairs, dropped = _clean(src, tgt)
    return ParallelSet(a.name.rsplit(".", 1)[0], src_lang, tgt_lang, pairs, dropped)


def read_flores(folder: Path, files: list[tuple[str, Path]]) -> list[ParallelSet]:
    texts = {lang: _lines(p) for lang, p in files}
    sizes = {lang: len(t) for lang, t in texts.items()}
    if len(set(sizes.values())) != 1:
        raise ParallelFileError(f"{folder}: FLORES-style files must have the same number of lines, got {sizes}")
    langs = sorted(texts)
    combos = [(lang, PIVOT) for lang in langs if lang != PIVOT] if PIVOT in texts else \
        list(itertools.combinations(langs, 2))
    split = files[0][1].suffix.lstrip(".")
    name = folder.name if folder.name == split else f"{folder.name}.{split}"  # devtest/, or flores/*.devtest
    out = []
    for a, b in combos:
        pairs, dropped = _clean(texts[a], texts[b])
        out.append(ParallelSet(name, a, b, pairs, dropped))
    return out


def read_parallel(path: str | Path, languages: list[str]) -> list[ParallelSet]:
    p = Path(path)
    if p.is_dir():
        entries = sorted(f for f in p.iterdir() if f.is_file())
        flores = [(m[1], f) for f in entries if (m := FLORES_FILE.match(f.name))]
        if len(flores) >= 2 and len({f.suffix for _, f in flores}) == 1:
            return read_flores(p, flores)
        out, seen = [], set()
        for f in entries:
            if f.suffix == ".tsv":
                out.append(read_tsv(f, languages))
            elif PAIR_IN_NAME.search(f.name):
                a, b, _, _ = moses_files(f, languages)
                if a not in seen:
                    seen |= {a, b}
                    out.append(read_moses(f, languages))
        if not out:
            raise ParallelFileError(f"{p}: no TSV file, Moses pair or FLORES-style files (<xxx_Scrp>.<split>) in it")
        return out
    if p.is_file() and p.suffix == ".tsv":
        return [read_tsv(p, languages)]
    if p.is_file() or PAIR_IN_NAME.search(p.name):
        return [read_moses(p, languages)]
    raise ParallelFileError(f"{p}: no such file or folder (pass a TSV file, a Moses pair or a FLORES/Tatoeba folder)")
