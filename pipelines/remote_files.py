"""Models and priors by URI: a local path as it is, or a gs:// / s3:// / any Beam filesystem object
copied once per worker to a local cache, so libraries that only open local files (fastText,
transformers, eflomal) work on Dataflow / Flink / Spark workers.

    local_copy("gs://bucket/lid/model.bin")       -> "/tmp/xlcorpus-models/<key>/model.bin"
    local_copy("gs://bucket/models/bert-tiny/")   -> "/tmp/xlcorpus-models/<key>/bert-tiny"  (a folder)
    read_bytes("s3://bucket/tokenizer/spm.model") -> bytes

Call these in `DoFn.setup()`. The cache key is the URI plus the object's checksum (size + mtime
where the filesystem has no checksum), so a replaced object is fetched again and an unchanged one is
fetched once per worker machine, whatever the number of DoFn instances or processes: a copy is
written under a temporary name and renamed into place, and a lock keeps threads of one process from
fetching the same object twice.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
import threading

CACHE_ENV = "XLCORPUS_MODEL_CACHE"  # where copies go (default: <tmp>/xlcorpus-models)
_LOCK = threading.Lock()


class RemoteFileError(FileNotFoundError):
    """A model URI that names no object (or an empty folder) on its filesystem."""


def is_remote(path: str) -> bool:
    return "://" in path


def cache_root() -> str:
    return os.environ.get(CACHE_ENV) or os.path.join(tempfile.gettempdir(), "xlcorpus-models")


def exists(path: str) -> bool:
    """A file or folder, local or on any Beam filesystem (for config-time checks)."""
    if not is_remote(path):
        return os.path.exists(path)
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.exists(path) or bool(_folder_objects(path))


def _checksum(uri: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    try:
        return str(FileSystems.checksum(uri))
    except Exception:  # some filesystems have no checksum: size + modification time instead
        meta = FileSystems.match([uri])[0].metadata_list[0]
        return f"{meta.size_in_bytes}:{meta.last_updated_in_seconds}"


def _folder_objects(uri: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    prefix = uri.rstrip("/") + "/"
    try:
        matched = FileSystems.match([prefix + "**"])[0].metadata_list
    except Exception:  # nothing matches: Beam raises instead of returning an empty list
        return []
    return sorted(m.path for m in matched if not m.path.endswith("/"))


def _download(uri: str, dest: str) -> None:
    from apache_beam.io.filesystems import CompressionTypes, FileSystems

    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.part-{os.getpid()}-{threading.get_ident()}"
    with FileSystems.open(uri, compression_type=CompressionTypes.UNCOMPRESSED) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, dest)


def _key(parts: list[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def local_copy(uri: str) -> str:
    """A local path holding `uri`'s content: the path itself when local, else a cached copy of the
    object, or of every object under the folder when `uri` names a folder. Raises RemoteFileError."""
    if not is_remote(uri):
        return uri
    from apache_beam.io.filesystems import FileSystems

    name = posixpath.basename(uri.rstrip("/")) or "model"
    with _LOCK:
        if FileSystems.exists(uri) and not uri.endswith("/"):
            dest = os.path.join(cache_root(), _key([uri, _checksum(uri)]), name)
            if not os.path.exists(dest):
                _download(uri, dest)
            return dest
        objects = _folder_objects(uri)
        if not objects:
            raise RemoteFileError(f"{uri}: no such object or folder (check the model path in the config)")
        prefix = uri.rstrip("/") + "/"
        root = os.path.join(cache_root(), _key([prefix, *(f"{o}={_checksum(o)}" for o in objects)]), name)
        done = root + ".complete"  # next to the folder, not inside it
        if not os.path.exists(done):
            for o in objects:
                dest = os.path.join(root, *o[len(prefix):].split("/"))
                if not os.path.exists(dest):
                    _download(o, dest)
            open(done, "w").close()
        return root


def read_bytes(uri: str) -> bytes:
    """The whole content of a (small) file by path or URI: a tokenizer model, a config."""
    if not is_remote(uri):
        with open(uri, "rb") as f:
            return f.read()
    from apache_beam.io.filesystems import CompressionTypes, FileSystems

    if not FileSystems.exists(uri):
        raise RemoteFileError(f"{uri}: no such object (check the path)")
    with FileSystems.open(uri, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return f.read()
