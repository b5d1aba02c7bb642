"""Fingerprints that go into stage keys: input files, model folders, upstream products.

A stage is skipped on rerun only when its key is unchanged, so a fingerprint must change whenever the
bytes change — never a prefix or a sample of the file:

* local files: a streaming xxh3-128 of the whole content (GB/s, small next to any stage); many files
  are hashed by a thread pool, since reading them is I/O that releases the GIL.
* remote objects (gs://, s3://, any Beam filesystem): the object checksum the store keeps (GCS crc32c,
  S3 ETag) and the size, from Beam's FileSystems metadata — nothing is downloaded.
* model folders (a simalign model, a SentencePiece model dir): every file under the folder, by
  relative path.
* upstream products: the bytes of their manifest.json, which lists every shard's sha256.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import xxhash

from flows.config import ConfigError
from schemas.manifest import MANIFEST_NAME

log = logging.getLogger("xlcorpus")

_CHUNK = 1 << 20
# Hashing threads: enough to keep a few disks / a network filesystem busy; each holds one chunk.
DEFAULT_WORKERS = min(8, (os.cpu_count() or 1) * 2)


def fingerprint_local(path: str) -> str:
    """`xxh3_128:<size>:<hex>` of the whole file, read in 1 MiB chunks (constant memory)."""
    h = xxhash.xxh3_128()
    size = 0
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return f"xxh3_128:{size}:{h.hexdigest()}"


def fingerprint_remote(path: str) -> str:
    """`<scheme>:<size>:checksum=<c>` from the object store's metadata (GCS crc32c, S3 ETag)."""
    from apache_beam.io.filesystems import FileSystems

    scheme = path.split("://", 1)[0]
    fs = FileSystems.get_filesystem(path)
    meta = fs.metadata(path)
    checksum = fs.checksum(path)
    if checksum:
        return f"{scheme}:{meta.size_in_bytes}:checksum={checksum}"
    # A store without checksums: size + modification time is the best it offers; say so once per file.
    log.warning("%s: the filesystem reports no checksum; its fingerprint is size + modification time", path)
    return f"{scheme}:{meta.size_in_bytes}:mtime={meta.last_updated_in_seconds}"


def fingerprint_file(path: str) -> str:
    """Full-content fingerprint of one file (local) or object (remote)."""
    return fingerprint_remote(path) if "://" in path else fingerprint_local(path)


def fingerprint_files(paths: Iterable[str], workers: int = DEFAULT_WORKERS) -> dict[str, str]:
    """{path: fingerprint} for many files, hashed in parallel; order of the result is sorted by path."""
    unique = sorted(set(paths))
    if len(unique) <= 1 or workers <= 1:
        return {p: fingerprint_file(p) for p in unique}
    with ThreadPoolExecutor(max_workers=min(workers, len(unique)), thread_name_prefix="fingerprint") as pool:
        return dict(zip(unique, pool.map(fingerprint_file, unique), strict=True))


def fingerprint_model(path: str | None) -> str:
    """Fingerprint of a model given by path: one file, or a folder (every file under it, by relative
    path). None → "default" (the embedded model, versioned with the code)."""
    if not path:
        return "default"
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        if not FileSystems.exists(path):
            raise ConfigError(f"model not found: {path!r} (check the path in the config)")
        matches = FileSystems.match([posixpath.join(path, "**")])[0].metadata_list
        files = sorted(m.path for m in matches) or [path]
        root = path.rstrip("/")
    elif os.path.isdir(path):
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
        root = path
    elif os.path.isfile(path):
        return fingerprint_file(path)
    else:
        raise ConfigError(f"model not found: {path!r} (check the path in the config)")
    prints = fingerprint_files(files)
    h = hashlib.blake2b(digest_size=16)
    for f in files:
        rel = os.path.relpath(f, root) if "://" not in f else f[len(root):].lstrip("/")
        h.update(f"{rel.replace(os.sep, '/')}\0{prints[f]}\n".encode())
    return f"dir:{len(files)}:{h.hexdigest()}"


def fingerprint_product(product_dir: str) -> str:
    """An upstream product is fingerprinted by its manifest (which holds every shard's sha256)."""
    path = posixpath.join(product_dir, MANIFEST_NAME)
    try:
        if "://" in path:
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(path, compression_type="uncompressed") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except FileNotFoundError as e:
        raise ConfigError(f"{product_dir} has no manifest: run the stage that produces it first") from e
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def total_size(paths: Iterable[str]) -> int:
    """Bytes of the given files (local stat or remote metadata): the input size of a stage."""
    total = 0
    for p in paths:
        if "://" in p:
            from apache_beam.io.filesystems import FileSystems

            total += FileSystems.get_filesystem(p).metadata(p).size_in_bytes
        else:
            total += os.path.getsize(p)
    return total


def product_size(product_dir: str) -> int:
    """Bytes of an upstream product's shards, from its manifest (nothing else is read)."""
    from schemas.manifest import read_manifest

    return sum(f.bytes for f in read_manifest(product_dir).files)
