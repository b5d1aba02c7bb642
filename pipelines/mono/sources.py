"""The `source` string a document and its rejects carry: where it came from, independent of where
the inputs lie on this machine.

A local file is named relative to the root of the input pattern that matched it (the pattern's
non-glob leading directories), so the same crawl copied to another folder gives byte-identical
shards. A remote URI (gs://, s3://, ...) is kept exactly as given: it already names the object
wherever the pipeline runs.

Two patterns with different roots can give the same relative name (``a/*.gz`` and ``b/*.gz`` both
holding ``x.gz``); callers that need names unique across patterns should match those files with one
pattern rooted above both (``*/x*.gz``).
"""

from __future__ import annotations

import os
import posixpath

GLOB_CHARS = frozenset("*?[")


class SourceOutsidePatternError(ValueError):
    """The path given is not under the root of the pattern said to have matched it."""


def is_remote(uri: str) -> bool:
    return "://" in uri


def pattern_root(pattern: str) -> str:
    """The directory a glob pattern searches under: its leading components without glob characters.
    A pattern without glob characters names one file; its root is that file's directory."""
    parts = pattern.replace("\\", "/").split("/")
    for i, part in enumerate(parts):
        if GLOB_CHARS & set(part):
            return "/".join(parts[:i]) or ("/" if pattern.startswith("/") else ".")
    return posixpath.dirname(pattern.replace("\\", "/")) or "."


def display_source(path: str, pattern: str) -> str:
    """`path` (a file the input `pattern` matched) as stored in records: relative to the pattern's
    root for local files, the URI as given for remote ones."""
    if is_remote(path) or is_remote(pattern):
        return path
    root = os.path.abspath(pattern_root(pattern))
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        raise SourceOutsidePatternError(f"{path} is not under {root}, the root of the input pattern {pattern!r}")
    return rel.replace(os.sep, "/")
