"""Models by URI (pipelines/remote_files.py): copied once per worker through Beam's FileSystems, so
gs:// / s3:// model paths work wherever a library needs a local file.

`xltest://` is an object-store filesystem registered with Beam for these tests (keys under a local
folder, no directories, checksums like GCS's): the code under test goes through Beam's FileSystems
exactly as it does for gs://.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata, FileSystem

from pipelines import remote_files
from pipelines.remote_files import RemoteFileError, local_copy, read_bytes

ROOT: Path | None = None  # the bucket's folder, set by the fixture
OPENS: list[str] = []  # every object opened for reading


class ObjectStore(FileSystem):
    """A minimal object store: `xltest://<key>` is ROOT/<key>; listing is by key prefix."""

    @classmethod
    def scheme(cls):
        return "xltest"

    def _local(self, path: str) -> Path:
        return ROOT / path[len("xltest://"):]

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path):
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, prefix):
        for f in sorted(ROOT.rglob("*")):
            key = "xltest://" + f.relative_to(ROOT).as_posix()
            if f.is_file() and key.startswith(prefix):
                yield FileMetadata(key, f.stat().st_size, f.stat().st_mtime)

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        self._local(path).parent.mkdir(parents=True, exist_ok=True)
        return open(self._local(path), "wb")

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        if not self._local(path).is_file():
            raise BeamIOError("not found", {path: FileNotFoundError(path)})
        OPENS.append(path)
        return open(self._local(path), "rb")

    def copy(self, sources, destinations):
        for s, d in zip(sources, destinations, strict=True):
            shutil.copyfile(self._local(s), self._local(d))

    def rename(self, sources, destinations):
        for s, d in zip(sources, destinations, strict=True):
            os.replace(self._local(s), self._local(d))

    def exists(self, path):
        return self._local(path).is_file()

    def size(self, path):
        return self._local(path).stat().st_size

    def last_updated(self, path):
        return self._local(path).stat().st_mtime

    def checksum(self, path):
        return hashlib.md5(self._local(path).read_bytes()).hexdigest()

    def metadata(self, path):
        return FileMetadata(path, self.size(path), self.last_updated(path))

    def delete(self, paths):
        for p in paths:
            self._local(p).unlink()


@pytest.fixture()
def bucket(tmp_path, monkeypatch):
    global ROOT
    ROOT = tmp_path / "bucket"
    ROOT.mkdir()
    OPENS.clear()
    monkeypatch.setenv(remote_files.CACHE_ENV, str(tmp_path / "cache"))
    return ROOT


def test_local_paths_are_used_as_they_are(tmp_path):
    f = tmp_path / "m.bin"
    f.write_bytes(b"x")
    assert local_copy(str(f)) == str(f) and read_bytes(str(f)) == b"x"


def test_object_is_copied_once_and_again_when_it_changes(bucket, tmp_path):
    (bucket / "lid").mkdir()
    (bucket / "lid" / "model.bin").write_bytes(b"first")
    first = local_copy("xltest://lid/model.bin")
    assert Path(first).read_bytes() == b"first" and first.startswith(str(tmp_path / "cache"))
    assert os.path.basename(first) == "model.bin"
    assert local_copy("xltest://lid/model.bin") == first and OPENS == ["xltest://lid/model.bin"]  # cached
    (bucket / "lid" / "model.bin").write_bytes(b"second")  # replaced: new checksum, new copy
    second = local_copy("xltest://lid/model.bin")
    assert second != first and Path(second).read_bytes() == b"second"
    assert read_bytes("xltest://lid/model.bin") == b"second"


def test_folder_is_copied_with_its_layout(bucket):
    for rel in ("bert/config.json", "bert/vocab.txt", "bert/sub/weights.bin", "bertx/other.txt"):
        (bucket / rel).parent.mkdir(parents=True, exist_ok=True)
        (bucket / rel).write_text(rel)
    local = local_copy("xltest://bert")
    files = sorted(p.relative_to(local).as_posix() for p in Path(local).rglob("*") if p.is_file())
    assert files == ["config.json", "sub/weights.bin", "vocab.txt"]  # not bertx/: a folder is a prefix + "/"
    assert (Path(local) / "sub" / "weights.bin").read_text() == "bert/sub/weights.bin"
    n = len(OPENS)
    assert local_copy("xltest://bert/") == local and len(OPENS) == n  # cached
    assert remote_files.exists("xltest://bert") and remote_files.exists("xltest://bert/config.json")
    assert not remote_files.exists("xltest://nothing")


def test_missing_object_is_a_clear_error(bucket):
    with pytest.raises(RemoteFileError, match="xltest://nope.bin"):
        local_copy("xltest://nope.bin")
    with pytest.raises(RemoteFileError, match="xltest://nope.bin"):
        read_bytes("xltest://nope.bin")


def test_fasttext_lid_model_by_uri(bucket):
    """The real LID model, read from the object store: what a Dataflow worker does with gs://."""
    from pipelines.lid import LanguageIdentifier, LidModelError, default_model_path

    shutil.copyfile(default_model_path(), bucket / "lid.176.ftz")
    lid = LanguageIdentifier("xltest://lid.176.ftz")
    assert lid.predict("Das ist ein ganz normaler deutscher Satz über das Wetter.")[0] == "deu_Latn"
    with pytest.raises(LidModelError, match="not found"):
        LanguageIdentifier("xltest://missing.ftz")
