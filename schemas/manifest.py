"""`manifest.json`: what a product directory holds and how it was made.

One manifest per product directory (e.g. OUT/documents/, OUT/rejects/mono/, OUT/codeswitch/alm/).
It lists every shard with rows/bytes/sha256, rows per partition (language or pair), the Beam counters
of the stage, the config hash, input fingerprints and code version. It holds no timestamps, so the
same input + config give a byte-identical manifest.

Counter convention (all stages): ``<unit>.read``, ``<unit>.kept`` and ``<unit>.dropped.<reason>``
for each unit a stage consumes (docs, lines, pairs, articles, ...). A manifest reconciles when, for
every unit with a ``.read`` counter, read + sum(created.*) == kept + sum(dropped.*) (``created``:
records a stage makes out of others, such as documents split off a mixed-language page).

Each product also names the counters its row count must equal (``rows_counters``: fnmatch patterns
summed, e.g. ``["docs.kept"]`` for documents, ``["cs_samples.*"]`` for EntityCS samples), so a
directory that lost or gained shards after its stage counted them fails `validate`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import posixpath
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from schemas.base import schema_id

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
SHARD_SUFFIXES = (".parquet", ".arrow")


@dataclass
class ShardFile:
    path: str  # relative to the product directory, posix separators
    partition: str  # first path component: language, language pair, ...
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    schema_name: str
    schema_version: int
    stage: str
    files: list[ShardFile]
    rows: int
    partitions: dict[str, int]
    counters: dict[str, int]
    config_hash: str
    input_fingerprints: dict[str, str]
    code_version: str
    extra: dict = field(default_factory=dict)
    rows_counters: list[str] = field(default_factory=list)  # counters whose sum must equal `rows`
    format: int = MANIFEST_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["files"] = [ShardFile(**f) for f in raw["files"]]
        return cls(**raw)


class ManifestError(ValueError):
    """A manifest that is missing, malformed, or does not match the files / counters it describes."""


def _fs(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), uri


def _sha256(fs: pafs.FileSystem, path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with fs.open_input_stream(path) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _rows(fs: pafs.FileSystem, path: str) -> int:
    if path.endswith(".parquet"):
        with fs.open_input_file(path) as f:
            return pq.ParquetFile(f).metadata.num_rows
    with fs.open_input_file(path) as f:
        reader = ipc.open_file(f)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def list_shards(product_dir: str) -> list[str]:
    """Relative posix paths of every shard under a product directory, sorted."""
    fs, root = _fs(product_dir)
    info = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    rel = []
    for i in info:
        if i.type == pafs.FileType.File and i.path.endswith(SHARD_SUFFIXES):
            rel.append(posixpath.relpath(i.path.replace("\\", "/"), root.replace("\\", "/")))
    return sorted(rel)


def describe_shards(product_dir: str) -> list[ShardFile]:
    fs, root = _fs(product_dir)
    out = []
    for rel in list_shards(product_dir):
        full = posixpath.join(root, rel)
        digest, size = _sha256(fs, full)
        partition = rel.split("/")[0] if "/" in rel else ""
        try:
            rows = _rows(fs, full)
        except pa.ArrowException:
            rows = -1  # unreadable shard: never matches a manifest entry
        out.append(ShardFile(path=rel, partition=partition, rows=rows, bytes=size, sha256=digest))
    return out


def reconcile(counters: dict[str, int]) -> list[str]:
    """Problems with the counters: every `<unit>.read` (+ Σ `<unit>.created.*`, records a stage makes
    out of others, e.g. docs.created.split_mixed) must equal `<unit>.kept` + Σ `<unit>.dropped.*`."""
    problems = []
    units = sorted(k[: -len(".read")] for k in counters if k.endswith(".read"))
    for unit in units:
        read = counters[f"{unit}.read"] + sum(v for k, v in counters.items() if k.startswith(f"{unit}.created."))
        kept = counters.get(f"{unit}.kept", 0)
        dropped = {k: v for k, v in counters.items() if k.startswith(f"{unit}.dropped.")}
        if read != kept + sum(dropped.values()):
            problems.append(
                f"{unit}: read (+created) {read} != kept {kept} + dropped {sum(dropped.values())} "
                f"({', '.join(f'{k.rsplit(chr(46), 1)[-1]}={v}' for k, v in sorted(dropped.items())) or 'none'})"
            )
    return problems


def counted_rows(counters: dict[str, int], patterns: list[str]) -> int:
    """Sum of the counters matching any of the fnmatch patterns (each counter once)."""
    return sum(v for k, v in counters.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns))


def rows_match_counters(m: Manifest) -> list[str]:
    """A problem when the product's rows differ from the counters its stage declared for them."""
    if not m.rows_counters:
        return []
    expected = counted_rows(m.counters, m.rows_counters)
    if m.rows == expected:
        return []
    return [f"{m.rows} rows but {' + '.join(m.rows_counters)} = {expected}: the directory does not hold what "
            f"its stage counted (files lost, added or written by a second run); rerun stage {m.stage} with --force"]


def build_manifest(
    product_dir: str,
    schema: pa.Schema,
    stage: str,
    counters: dict[str, int],
    config_hash: str,
    input_fingerprints: dict[str, str],
    code_version: str,
    extra: dict | None = None,
    rows_counters: list[str] | None = None,
) -> Manifest:
    name, version = schema_id(schema)
    files = describe_shards(product_dir)
    partitions: dict[str, int] = {}
    for f in files:
        partitions[f.partition] = partitions.get(f.partition, 0) + f.rows
    return Manifest(
        schema_name=name,
        schema_version=version,
        stage=stage,
        files=files,
        rows=sum(f.rows for f in files),
        partitions=dict(sorted(partitions.items())),
        counters=dict(sorted(counters.items())),
        config_hash=config_hash,
        input_fingerprints=dict(sorted(input_fingerprints.items())),
        code_version=code_version,
        extra=extra or {},
        rows_counters=list(rows_counters or []),
    )


def write_manifest(product_dir: str, manifest: Manifest) -> str:
    fs, root = _fs(product_dir)
    fs.create_dir(root, recursive=True)
    path = posixpath.join(root, MANIFEST_NAME)
    with fs.open_output_stream(path) as f:
        f.write(manifest.to_json().encode())
    return path


def read_manifest(product_dir: str) -> Manifest:
    fs, root = _fs(product_dir)
    path = posixpath.join(root, MANIFEST_NAME)
    try:
        with fs.open_input_stream(path) as f:
            text = f.read().decode()
    except (FileNotFoundError, OSError) as e:
        raise ManifestError(f"no manifest at {path}: run the stage that produces it first") from e
    try:
        return Manifest.from_json(text)
    except (json.JSONDecodeError, TypeError, KeyError) as e:
        raise ManifestError(f"{path} is not a valid xlcorpus manifest: {e}") from e


def validate(product_dir: str, check_hashes: bool = True) -> Manifest:
    """Read a manifest and check it against the files on disk and its own counters.

    Raises ManifestError listing every mismatch (missing/extra file, rows, bytes, sha256, counters).
    """
    m = read_manifest(product_dir)
    problems = []
    on_disk = {f.path: f for f in describe_shards(product_dir)} if check_hashes else None
    listed = {f.path for f in m.files}
    if on_disk is not None:
        for extra_path in sorted(set(on_disk) - listed):
            problems.append(f"shard not in manifest: {extra_path}")
        for f in m.files:
            d = on_disk.get(f.path)
            if d is None:
                problems.append(f"missing shard: {f.path}")
            elif (d.rows, d.bytes, d.sha256) != (f.rows, f.bytes, f.sha256):
                problems.append(f"shard differs from manifest: {f.path}")
    if m.rows != sum(f.rows for f in m.files):
        problems.append("total rows differ from the sum over files")
    problems += reconcile(m.counters)
    problems += rows_match_counters(m)
    if problems:
        raise ManifestError(f"{product_dir}: " + "; ".join(problems))
    return m
