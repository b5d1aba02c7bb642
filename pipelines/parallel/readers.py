"""Readers of parallel corpora: Moses file pairs, TSV, TMX, JSONL and Parquet.

Each reader yields, per input record, either a raw pair dict or a reject dict (key "reason"), so the
Beam wrapper counts every record once as `pairs.read`. Every reader streams its file (Parquet by
record batch, local or remote). Problems a user can fix that make a whole input unreadable (a missing
file or column) raise ParallelInputError naming the file(s) before the pipeline starts; the preflight
reads only what it must (a file's first line, a Parquet footer). Moses files of different lengths are
found while reading: one reject `length_mismatch` naming both files and their line counts, which the
stage turns into one error line (flows/stages/parallel.py).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.ids import stable_id
from pipelines.langcodes import lang_code, split_code

FORMATS = ("moses", "tsv", "tmx", "jsonl", "parquet")
_EXT_FORMAT = {".tsv": "tsv", ".tmx": "tmx", ".jsonl": "jsonl", ".parquet": "parquet"}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_INLINE_CODES = {"bpt", "ept", "ph", "it", "ut"}  # TMX formatting codes: their content is not text
_PAIR_IN_NAME = re.compile(r"(?:^|[._])([a-z]{2,3}(?:_[A-Z][a-z]{3})?)-([a-z]{2,3}(?:_[A-Z][a-z]{3})?)$")


class ParallelInputError(ValueError):
    """An input that cannot be read as configured; the message names the file and what to do."""


@dataclass(frozen=True)
class InputSpec:
    """One configured input: a Moses file pair, or one TSV / TMX / JSONL / Parquet file."""

    format: str
    src_lang: str  # xxx_Scrp
    tgt_lang: str
    corpus: str
    path: str | None = None  # tsv, tmx, jsonl, parquet
    src_path: str | None = None  # moses
    tgt_path: str | None = None
    src_field: str = "src"  # jsonl / parquet column names
    tgt_field: str = "tgt"
    src_column: int = 0  # tsv field indices
    tgt_column: int = 1
    columns: int = 2  # tsv: a line with another number of fields is malformed

    @property
    def pair(self) -> str:
        return f"{self.src_lang}-{self.tgt_lang}"

    @property
    def sources(self) -> list[str]:
        return [p for p in (self.path, self.src_path, self.tgt_path) if p]


def _stem(path: str) -> str:
    name = os.path.basename(path.rstrip("/"))
    for ext in (".gz", *_EXT_FORMAT):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name


def format_from_name(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    for ext, fmt in _EXT_FORMAT.items():
        if name.endswith(ext):
            return fmt
    raise ParallelInputError(
        f"{path}: cannot tell the format from the file name (.tsv, .tmx, .jsonl, .parquet); "
        "give the input as a mapping with `format:` (and src_path/tgt_path for Moses files)"
    )


def pair_from_name(path: str) -> tuple[str, str] | None:
    """('deu_Latn', 'eng_Latn') from names like `news.de-en.tsv` or `deu_Latn-eng_Latn.tmx`."""
    m = _PAIR_IN_NAME.search(_stem(path))
    if not m:
        return None
    try:
        return lang_code(m.group(1)), lang_code(m.group(2))
    except ValueError:
        return None


def make_spec(entry: dict) -> InputSpec:
    """An InputSpec from one config entry (already a dict); languages normalized to xxx_Scrp."""
    entry = {**entry, "path": entry.get("path") or entry.get("input_path")}
    fmt = entry.get("format") or format_from_name(entry.get("path") or "")
    if fmt not in FORMATS:
        raise ParallelInputError(f"unknown parallel input format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "moses":
        if not entry.get("src_path") or not entry.get("tgt_path"):
            raise ParallelInputError("a moses input needs src_path and tgt_path (one file per language)")
    elif not entry.get("path"):
        raise ParallelInputError(f"a {fmt} input needs a path")
    where = entry.get("path") or entry.get("src_path")
    src, tgt = entry.get("src_lang"), entry.get("tgt_lang")
    if not (src and tgt):
        found = pair_from_name(where)
        if found is None:
            raise ParallelInputError(
                f"{where}: no language pair given and none in the file name (e.g. `corpus.de-en.tsv`): "
                "set src_lang and tgt_lang for this input"
            )
        src, tgt = src or found[0], tgt or found[1]
    try:
        src, tgt = lang_code(src), lang_code(tgt)
    except ValueError as e:
        raise ParallelInputError(f"{where}: {e}") from e
    if src == tgt:
        raise ParallelInputError(f"{where}: source and target language are both {src}")
    corpus = entry.get("corpus")
    if not corpus and fmt == "moses":  # corpus.de + corpus.en → "corpus"
        corpus = os.path.commonprefix([os.path.basename(entry["src_path"]), os.path.basename(entry["tgt_path"])])
        corpus = corpus.rstrip("._-")
    fields = {k: entry[k] for k in ("src_field", "tgt_field", "src_column", "tgt_column", "columns") if k in entry
              and entry[k] is not None}
    return InputSpec(format=fmt, src_lang=src, tgt_lang=tgt, corpus=corpus or _stem(where),
                     path=entry.get("path"), src_path=entry.get("src_path"), tgt_path=entry.get("tgt_path"), **fields)


def open_binary(path: str):
    """A binary stream of a local path or any Beam filesystem URI; .gz decompressed."""
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        raw = FileSystems.open(path, compression_type="uncompressed")
    else:
        raw = open(path, "rb")
    return gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw


def _exists(path: str) -> bool:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    return os.path.isfile(path)


def _first_line(path: str) -> None:
    """Read a file's first line (decompressing a .gz): raises ParallelInputError when it cannot."""
    try:
        with open_binary(path) as f:
            f.readline()
    except (OSError, EOFError) as e:
        raise ParallelInputError(f"{path}: cannot be read ({e}); check the file in parallel.inputs") from e


def check_spec(spec: InputSpec) -> None:
    """Fail before the pipeline starts on problems that make a whole input unreadable. Reads only
    what it must: each file's first line, a Parquet footer (never a whole file)."""
    for p in spec.sources:
        if not _exists(p):
            raise ParallelInputError(f"parallel input not found: {p} (check the path in parallel.inputs)")
    if spec.format == "moses":
        _first_line(spec.src_path)
        _first_line(spec.tgt_path)
    if spec.format == "parquet":
        import pyarrow.parquet as pq

        with open_binary(spec.path) as f:
            names = pq.ParquetFile(f).schema_arrow.names  # the footer only
        missing = [c for c in (spec.src_field, spec.tgt_field) if c not in names]
        if missing:
            raise ParallelInputError(
                f"{spec.path} has no column {', '.join(missing)} (columns: {', '.join(names)}); "
                "set src_field/tgt_field for this input"
            )


def raw_pair(spec: InputSpec, source: str, offset: int, src: str, tgt: str) -> dict:
    return {"corpus": spec.corpus, "src_lang": spec.src_lang, "tgt_lang": spec.tgt_lang, "source": source,
            "offset": offset, "src_text": src, "tgt_text": tgt,
            "pair_id": stable_id("pair", spec.corpus, spec.src_lang, spec.tgt_lang, offset, src, tgt)}


def bad_record(spec: InputSpec, source: str, offset: int, reason: str, detail: str, sample: str = "") -> dict:
    return {"reason": reason, "source": source, "offset": offset, "detail": detail, "sample": sample,
            "pair": spec.pair}


def _decode(b: bytes) -> str | None:
    try:
        return b.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return None


def read_moses(spec: InputSpec) -> Iterator[dict]:
    with open_binary(spec.src_path) as fs, open_binary(spec.tgt_path) as ft:
        n = 0
        while True:
            bs, bt = fs.readline(), ft.readline()  # both sides every time: zip() would drop a line
            if not bs or not bt:
                break
            n += 1
            s, t = _decode(bs), _decode(bt)
            if s is None or t is None:
                bad = spec.src_path if s is None else spec.tgt_path
                yield bad_record(spec, bad, n, "bad_encoding", f"line {n} of {bad} is not UTF-8",
                                 (bs if s is None else bt).decode("utf-8", "replace"))
                continue
            yield raw_pair(spec, spec.src_path, n, s, t)
        if bs or bt:  # one side goes on: count the rest of it for the message, then one reject
            longer, stream = (spec.src_path, fs) if bs else (spec.tgt_path, ft)
            total = n + 1 + sum(1 for _ in stream)
            n_src, n_tgt = (total, n) if bs else (n, total)
            yield bad_record(spec, longer, n + 1, "length_mismatch", moses_mismatch(spec, n_src, n_tgt))


def moses_mismatch(spec: InputSpec, n_src: int, n_tgt: int) -> str:
    return (f"Moses files differ in length: {spec.src_path} has {n_src} lines, {spec.tgt_path} has {n_tgt}; "
            "the two sides of a Moses corpus must be line-aligned")


def read_tsv(spec: InputSpec) -> Iterator[dict]:
    with open_binary(spec.path) as f:
        for n, b in enumerate(f, start=1):
            line = _decode(b)
            if line is None:
                yield bad_record(spec, spec.path, n, "bad_encoding", f"line {n} is not UTF-8", b.decode("utf-8", "replace"))
                continue
            fields = line.split("\t")
            if len(fields) != spec.columns:
                yield bad_record(spec, spec.path, n, "malformed_line",
                                 f"line {n} has {len(fields)} tab-separated fields, expected {spec.columns}", line)
                continue
            yield raw_pair(spec, spec.path, n, fields[spec.src_column], fields[spec.tgt_column])


def read_jsonl(spec: InputSpec) -> Iterator[dict]:
    with open_binary(spec.path) as f:
        for n, b in enumerate(f, start=1):
            line = _decode(b)
            if line is None or not line.strip():
                what = "is not UTF-8" if line is None else "is empty"
                yield bad_record(spec, spec.path, n, "malformed_line", f"line {n} {what}", b.decode("utf-8", "replace"))
                continue
            try:
                obj = json.loads(line)
                src, tgt = obj[spec.src_field], obj[spec.tgt_field]
                if not isinstance(src, str) or not isinstance(tgt, str):
                    raise TypeError("not a string")
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                yield bad_record(spec, spec.path, n, "malformed_line",
                                 f"line {n}: {type(e).__name__} {e} (fields {spec.src_field}, {spec.tgt_field})", line)
                continue
            yield raw_pair(spec, spec.path, n, src, tgt)


def read_parquet(spec: InputSpec) -> Iterator[dict]:
    import pyarrow.parquet as pq

    with open_binary(spec.path) as f:
        pf = pq.ParquetFile(f)  # a seekable stream, local or remote: read by record batch, never whole
        row = 0
        for batch in pf.iter_batches(columns=[spec.src_field, spec.tgt_field], batch_size=8192):
            cols = batch.to_pydict()
            for src, tgt in zip(cols[spec.src_field], cols[spec.tgt_field], strict=True):
                row += 1
                if not isinstance(src, str) or not isinstance(tgt, str):
                    yield bad_record(spec, spec.path, row, "malformed_line", f"row {row}: a side is null or not a string")
                    continue
                yield raw_pair(spec, spec.path, row, src, tgt)


def seg_text(seg: ET.Element) -> str:
    """Text of a TMX <seg>: inline formatting codes (bpt, ept, ph, it, ut) dropped, <hi>/<sub> text kept."""
    parts = [seg.text or ""]
    for child in seg:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag not in _INLINE_CODES:
            parts.append(seg_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _lang_matches(tuv_lang: str, declared: str) -> bool:
    try:
        iso3, script = split_code(tuv_lang)
    except ValueError:
        return False
    want_iso3, want_script = declared.split("_")
    return iso3 == want_iso3 and (script is None or script == want_script)


def read_tmx(spec: InputSpec) -> Iterator[dict]:
    """Stream <tu> elements (iterparse, each cleared after use), taking the configured pair's <tuv>s."""
    n = 0
    parent: ET.Element | None = None
    with open_binary(spec.path) as f:
        try:
            for event, elem in ET.iterparse(f, events=("start", "end")):
                tag = elem.tag.rsplit("}", 1)[-1]
                if event == "start":
                    if tag == "body":
                        parent = elem
                    continue
                if tag != "tu":
                    continue
                n += 1
                segs: dict[str, str] = {}
                langs = []
                for tuv in elem:
                    if tuv.tag.rsplit("}", 1)[-1] != "tuv":
                        continue
                    lang = tuv.get(_XML_LANG) or tuv.get("lang") or ""
                    langs.append(lang)
                    seg = next((c for c in tuv if c.tag.rsplit("}", 1)[-1] == "seg"), None)
                    for side, declared in (("src", spec.src_lang), ("tgt", spec.tgt_lang)):
                        if side not in segs and seg is not None and _lang_matches(lang, declared):
                            segs[side] = seg_text(seg)
                if len(segs) == 2:
                    yield raw_pair(spec, spec.path, n, segs["src"], segs["tgt"])
                else:
                    yield bad_record(spec, spec.path, n, "missing_language",
                                     f"translation unit {n} has languages {langs or 'none'}, needs {spec.pair}",
                                     " | ".join(segs.values()))
                elem.clear()  # free the unit: memory stays flat on multi-GB TMX files
                if parent is not None and len(parent) and parent[-1] is elem:
                    parent.remove(elem)
        except ET.ParseError as e:
            # The rest of the file is unreadable: one reject says where it stopped.
            yield bad_record(spec, spec.path, n + 1, "malformed_xml",
                             f"XML error after {n} translation units ({e}); the rest of the file was not read")


READERS = {"moses": read_moses, "tsv": read_tsv, "tmx": read_tmx, "jsonl": read_jsonl, "parquet": read_parquet}


def read_input(spec: InputSpec) -> Iterator[dict]:
    """Raw pairs and reject dicts of one input, in file order."""
    yield from READERS[spec.format](spec)
