"""Intermediate chunks of the two-pass mono stage: where pass 1 leaves the surviving documents.

Pass 1 reads each input file once and writes its documents (after normalization, LID and quality
filters) to chunks of about `chunk_bytes` of text under the stage's work folder:

    <work>/chunks/<name>.parquet     the documents, in input order (DOCUMENTS columns)
    <work>/chunks/<name>.keys.npz    compact keys: one row per non-empty line (64-bit line key, document
                                     index, line number) and one per document (doc_id as two uint64)

`name` is ``<file index>-<chunk number>`` zero-padded, so names sort in input order; `chunk_id` is the
same pair packed into one int — the key every decision is routed back by. This is the only place text
is written before the final shards; the shuffles see only what the .keys.npz holds.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from pipelines.normalize import dedup_keys, split_lines
from pipelines.shards import filesystem
from schemas.documents import DOCUMENTS

CHUNK_BITS = 20  # chunk number inside a file: up to 2^20 chunks per input file
DEFAULT_CHUNK_BYTES = 128 << 20
ROW_GROUP_ROWS = 1024


@dataclass(frozen=True)
class Chunk:
    """What pass 1 reports for each chunk it wrote (small: it travels through shuffles)."""

    chunk_id: int
    name: str
    n_docs: int
    n_lines: int

    # Paths are derived from the work folder, not stored: what travels is the same wherever OUT lies.
    def path(self, work_dir: str) -> str:
        return chunk_file(work_dir, self.name, "parquet")

    def keys_path(self, work_dir: str) -> str:
        return chunk_file(work_dir, self.name, "keys.npz")

    def sign_path(self, work_dir: str) -> str:
        return chunk_file(work_dir, self.name, "sign.parquet")

    def changed_path(self, work_dir: str) -> str:
        return chunk_file(work_dir, self.name, "changed.parquet")


def chunk_file(work_dir: str, name: str, suffix: str) -> str:
    return posixpath.join(work_dir, "chunks", f"{name}.{suffix}")


def chunk_id_of(file_idx: int, number: int) -> int:
    return (file_idx << CHUNK_BITS) | number


def chunk_name(file_idx: int, number: int) -> str:
    return f"{file_idx:06d}-{number:05d}"


def line_keys(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit keys, line numbers) of the non-empty lines of a normalized text. The key hashes the
    line's CCNet normal form (pipelines.normalize.dedup_key); 64 bits as in CCNet: across 10^9 distinct
    lines the chance of even one collision is ~3%, and a collision removes one line."""
    lines = split_lines(text)
    keys = dedup_keys(text)
    nums = [i for i, ln in enumerate(lines) if ln]
    h = np.fromiter((xxhash.xxh3_64_intdigest(keys[i].encode("utf-8", "surrogatepass")) for i in nums),
                    dtype=np.uint64, count=len(nums))
    return h, np.asarray(nums, dtype=np.uint32)


def doc_key(keys: np.ndarray) -> bytes:
    """Key of a whole document for exact dedup: a hash of its line keys in order."""
    return hashlib.blake2b(keys.astype("<u8").tobytes(), digest_size=16).digest()


def id_halves(doc_id: str) -> tuple[int, int]:
    """A 32-hex-digit doc_id as two uint64 (their order is the doc_id's string order)."""
    return int(doc_id[:16], 16), int(doc_id[16:32], 16)


def id_from_halves(hi: int, lo: int) -> str:
    return f"{hi:016x}{lo:016x}"


class ChunkWriter:
    """Writes the chunks of one input file: documents streamed in row groups, keys at the end."""

    def __init__(self, work_dir: str, file_idx: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self.work_dir, self.file_idx, self.chunk_bytes = work_dir, file_idx, chunk_bytes
        self.number = 0
        self._open()

    def _open(self) -> None:
        self.name = chunk_name(self.file_idx, self.number)
        self._rows: list[dict] = []
        self._writer = None
        self._stream = None
        self._text_bytes = 0
        self._keys: list[np.ndarray] = []
        self._nums: list[np.ndarray] = []
        self._hi: list[int] = []
        self._lo: list[int] = []

    def add(self, doc: dict, keys: np.ndarray, nums: np.ndarray) -> tuple[int, int]:
        """Append a document; returns its (chunk_id, index in chunk). The caller closes the chunk
        once `full()` says so; the next `add` goes to the next chunk."""
        idx = len(self._hi)
        hi, lo = id_halves(doc["doc_id"])
        self._hi.append(hi)
        self._lo.append(lo)
        self._keys.append(keys)
        self._nums.append(nums)
        self._rows.append(doc)
        self._text_bytes += len(doc["text"])
        if len(self._rows) >= ROW_GROUP_ROWS:
            self._flush()
        return chunk_id_of(self.file_idx, self.number), idx

    def full(self) -> bool:
        return self._text_bytes >= self.chunk_bytes

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._writer is None:
            fs, p = filesystem(chunk_file(self.work_dir, self.name, "parquet"))
            fs.create_dir(posixpath.dirname(p), recursive=True)
            self._stream = fs.open_output_stream(p)
            self._writer = pq.ParquetWriter(self._stream, DOCUMENTS, compression="zstd")
        names = DOCUMENTS.names
        table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in self._rows], schema=DOCUMENTS)
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self._rows = []

    def close(self) -> Chunk | None:
        """Finish the current chunk; None when it holds no document. The writer can go on with the
        next chunk of the same file afterwards (`add` opens it)."""
        n_docs = len(self._hi)
        if not n_docs:
            return None
        self._flush()
        self._writer.close()
        self._stream.close()
        counts = [k.size for k in self._keys]
        arrays = {
            "key": np.concatenate(self._keys) if self._keys else np.zeros(0, np.uint64),
            "doc": np.repeat(np.arange(n_docs, dtype=np.uint32), counts),
            "line": np.concatenate(self._nums) if self._nums else np.zeros(0, np.uint32),
            "id_hi": np.asarray(self._hi, dtype=np.uint64),
            "id_lo": np.asarray(self._lo, dtype=np.uint64),
        }
        write_npz(chunk_file(self.work_dir, self.name, "keys.npz"), arrays)
        chunk = Chunk(chunk_id_of(self.file_idx, self.number), self.name, n_docs, int(sum(counts)))
        self.number += 1
        self._open()
        return chunk


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    fs, p = filesystem(path)
    fs.create_dir(posixpath.dirname(p), recursive=True)
    with fs.open_output_stream(p) as f:
        f.write(buf.getvalue())


def read_npz(path: str) -> dict[str, np.ndarray]:
    fs, p = filesystem(path)
    with fs.open_input_file(p) as f:
        data = f.read()
    with np.load(io.BytesIO(data)) as z:
        return {k: z[k] for k in z.files}


def iter_chunk_docs(path: str, batch_rows: int = ROW_GROUP_ROWS, columns: list[str] | None = None):
    """The documents of a chunk as lists of dicts, one row group at a time (bounded memory); only
    `columns` when given."""
    fs, p = filesystem(path)
    with fs.open_input_file(p) as f:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_rows, columns=columns):
            yield batch.to_pylist()
