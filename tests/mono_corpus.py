"""A generated crawl for the mono dedup tests: every case the exact and near dedup decide on, spread
over several JSONL files (plain and gzipped) so copies meet across files and chunks.

Planted: exact duplicate documents (same normal form: case, digits) in other files; boilerplate
lines shared by many documents; documents that are nothing but shared lines (too short after line
dedup); near-duplicate families (a few words edited) that are only near-duplicates *after* line dedup
removes their shared lines; a same-named file in two folders (doc_id collisions); several scripts.
Deterministic in `seed`.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

SYLLABLES = {
    "Latn": ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "se", "di", "pa", "gu", "be", "ho", "fi", "za"],
    "Cyrl": ["ка", "ло", "ми", "не", "ру", "та", "во", "се", "ди", "па", "гу", "бе"],
    "Grek": ["κα", "λο", "μι", "νε", "ρυ", "τα", "βο", "σε", "δι", "πα"],
    "Hani": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"),
}
BOILER = [
    "Accept all cookies to continue browsing this site",
    "Home | News | Contact | About us | Privacy",
    "Copyright 2024 Example Media Group. All rights reserved.",
    "Subscribe to our newsletter for weekly updates",
]


def _word(rng: random.Random, script: str) -> str:
    syl = SYLLABLES[script]
    return "".join(rng.choice(syl) for _ in range(rng.randint(1, 3 if script == "Hani" else 4)))


def _line(rng: random.Random, script: str, words: int) -> str:
    sep = "" if script == "Hani" else " "
    line = sep.join(_word(rng, script) for _ in range(words))
    return line[:1].upper() + line[1:] + ("。" if script == "Hani" else ".")


def _doc_text(rng: random.Random, script: str) -> list[str]:
    if rng.random() < 0.3:  # a few long paragraphs: the kind of page near-duplicates are made of
        return [_line(rng, script, rng.randint(40, 60)) for _ in range(rng.randint(2, 4))]
    return [_line(rng, script, rng.randint(6, 18)) for _ in range(rng.randint(3, 9))]


def _edit_every_line(rng: random.Random, lines: list[str]) -> list[str]:
    """One word changed in every line: line dedup removes nothing, MinHash still sees a near-copy."""
    out = []
    for line in lines:
        words = line.split(" ")
        words[rng.randrange(len(words))] = "edited"
        out.append(" ".join(words))
    return out


def make_corpus(root: Path, n_docs: int = 400, seed: int = 0, mirror: bool = True) -> list[str]:
    """Write the corpus under `root`; returns the paths of its files. `mirror` adds a copy of the first
    file under the same name in another folder."""
    rng = random.Random(seed)
    files: dict[str, list[dict]] = {f"part-{i}.jsonl" + (".gz" if i % 2 else ""): [] for i in range(4)}
    names = sorted(files)
    made: list[list[str]] = []
    pages: list[str] = []
    for i in range(n_docs):
        script = rng.choice(sorted(SYLLABLES))
        kind = rng.random()
        if pages and kind < 0.08:  # exact copy of an earlier page: same normal form (case, digits)
            text = rng.choice(pages)
            text = (text.upper() if rng.random() < 0.5 else text).replace("2024", "1999")
            files[names[i % len(names)]].append({"text": text, "url": f"https://example.org/{i}"})
            pages.append(text)
            made.append(text.split("\n"))
            continue
        if made and kind < 0.18:  # near-duplicate: a few words changed (long paragraphs only)
            long = [m for m in made if len(m[0].split(" ")) >= 40]
            lines = _edit_every_line(rng, rng.choice(long)) if long else _doc_text(rng, script)
        elif kind < 0.22:  # only shared lines plus a short tail: too short after line dedup
            lines = rng.sample(BOILER, 2) + ["ok"]
        else:
            lines = _doc_text(rng, script)
        made.append(lines)
        out = list(lines)
        for b in BOILER:  # boilerplate at the top or the bottom of many pages
            if rng.random() < 0.3:
                out.insert(0 if rng.random() < 0.5 else len(out), b)
        if rng.random() < 0.2:
            out.insert(rng.randrange(len(out) + 1), "")  # paragraph breaks move line numbers
        pages.append("\n".join(out))
        files[names[i % len(names)]].append({"text": pages[-1], "url": f"https://example.org/{i}"})
    paths = []
    for name, docs in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
        path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
        paths.append(str(path))
    if not mirror:
        return sorted(paths)
    # The same file name in another folder: its documents get the same doc_ids as the first file's.
    twin = root / "mirror" / names[0]
    twin.parent.mkdir(parents=True, exist_ok=True)
    twin.write_bytes((root / names[0]).read_bytes())
    paths.append(str(twin))
    return sorted(paths)
