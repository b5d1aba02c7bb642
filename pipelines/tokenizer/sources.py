"""Read text products (documents, pairs, codeswitch) as (language, sentence) streams.

A product is recognised by its columns, not its schema name, so the reader works for any product
that has the fields it needs. Rows are read in file order, one record batch at a time, so the
stream of a shard is deterministic and its memory is one batch, never the shard.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from pipelines.sentences import split_sentences
from pipelines.shards import filesystem, iter_shard_batches
from schemas.manifest import read_manifest

KINDS = {
    # kind: (columns read, what they are)
    "pairs": ("src_lang", "tgt_lang", "src_text", "tgt_text"),
    "codeswitch": ("matrix_lang", "langs", "text", "marked_text", "spans"),
    "documents": ("lang", "text"),
}
# The record id of each kind: with a sentence's position in its row it keys the sample's draw.
ID_COLUMN = {"pairs": "pair_id", "codeswitch": "cs_id", "documents": "doc_id"}


def product_kind(names: list[str] | pa.Schema) -> str:
    """Which kind of text product a shard holds, from its column names."""
    cols = set(names.names if isinstance(names, pa.Schema) else names)
    for kind, needed in KINDS.items():
        if kind == "codeswitch" and {"matrix_lang", "text", "spans"} <= cols:
            return kind
        if kind != "codeswitch" and set(needed) <= cols:
            return kind
    raise ValueError(f"unrecognised text product (columns {sorted(cols)}): need documents, pairs or codeswitch")


def shard_paths(product_dir: str) -> list[str]:
    """Full paths of a product's shards, as its manifest lists them (sorted)."""
    m = read_manifest(product_dir)
    return [posixpath.join(product_dir, f.path) for f in sorted(m.files, key=lambda f: f.path)]


def shard_schema(path: str) -> pa.Schema:
    fs, p = filesystem(path)
    with fs.open_input_file(p) as f:
        if p.endswith(".parquet"):
            return pq.ParquetFile(f).schema_arrow
        return ipc.open_file(f).schema


def iter_rows(path: str, columns: list[str]) -> Iterator[dict]:
    for batch in iter_shard_batches(path, columns):
        yield from batch.to_pylist()


def lines_of(text: str | None) -> list[str]:
    """Non-empty, stripped lines of a text (also the encode stage's unit of a document)."""
    return [s for s in map(str.strip, (text or "").splitlines()) if s]


def sample_units(text: str | None, lang: str) -> list[str]:
    """The tokenizer's unit of sampling in a text of language `lang`. The one place that decides
    how text is cut for the sample: the sentences (pipelines.sentences, rules of `lang`) of its
    non-empty stripped lines."""
    return [line[a:b] for line in lines_of(text) for a, b in split_sentences(line, lang)]


def row_sentences(kind: str, row: dict) -> list[tuple[str, str]]:
    """(lang, sentence) of one row. Code-switched samples give their marked text so the tokenizer
    sees the language markers; both sides of a pair count for their own language."""
    if kind == "documents":
        return [(row["lang"], s) for s in sample_units(row["text"], row["lang"])]
    if kind == "pairs":
        return [(row["src_lang"], s) for s in sample_units(row["src_text"], row["src_lang"])] + [
            (row["tgt_lang"], s) for s in sample_units(row["tgt_text"], row["tgt_lang"])
        ]
    text = row.get("marked_text") or row["text"]
    return [(row["matrix_lang"], s) for s in sample_units(text, row["matrix_lang"])]


def row_languages(kind: str, row: dict) -> set[str]:
    """Every language a row mentions (for the marker symbols)."""
    if kind == "documents":
        return {row["lang"]}
    if kind == "pairs":
        return {row["src_lang"], row["tgt_lang"]}
    langs = {row["matrix_lang"], *(row.get("langs") or [])}
    langs |= {s["lang"] for s in row.get("spans") or [] if s.get("lang")}
    return langs


def iter_shard_sentences(path: str) -> Iterator[tuple[str, set[str], list[tuple[str, str]]]]:
    """For every row of one shard, in file order: (row key, languages, (lang, sentence) list).

    The row key is the record's id (its kind's ID_COLUMN), or `#<row number>` in a product without
    one; with a sentence's index in the list it names that sentence for the sample's draw.
    """
    schema = shard_schema(path)
    kind = product_kind(schema)
    id_col = ID_COLUMN[kind] if ID_COLUMN[kind] in schema.names else None
    columns = [c for c in KINDS[kind] if c in schema.names] + ([id_col] if id_col else [])
    for n, row in enumerate(iter_rows(path, columns)):
        key = str(row[id_col]) if id_col else f"#{n}"
        yield key, row_languages(kind, row), row_sentences(kind, row)
