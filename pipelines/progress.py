"""Live progress from the workers: one tiny completion record per input unit, written where the
driver can see it while the pipeline runs.

Beam counters are not live on every runner (the in-process runner reports them only at the end), so
the workers leave a record in the stage's progress folder each time they finish an input unit (a
file, a dump stream, a shard). The driver polls that folder (flows/progress.py) and turns it into a
progress bar and log lines: units done / total, records/s, ETA.

    mark_done(progress_dir, unit, records)      # a unit is finished; `records` read from it
    mark_planned(progress_dir, parent, units)   # a unit turned out to hold `units` sub-units
    counted(progress_dir, unit, iterable)       # pass records through, mark the unit done at the end

A record's file name is a hash of its unit, so a retried bundle rewrites the same file instead of
counting twice. Every function is a no-op when progress_dir is empty (progress not wanted).
Works on local paths and any Beam filesystem (gs://, s3://).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

DONE_PREFIX = "done-"
PLAN_PREFIX = "plan-"


def _name(prefix: str, unit: str) -> str:
    return prefix + hashlib.sha1(unit.encode("utf-8")).hexdigest()[:20] + ".json"


def _write(progress_dir: str, name: str, payload: dict) -> None:
    data = json.dumps(payload, sort_keys=True).encode("utf-8")
    if "://" in progress_dir:
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(posixpath.join(progress_dir, name)) as f:  # objects appear whole
            f.write(data)
        return
    os.makedirs(progress_dir, exist_ok=True)
    path = os.path.join(progress_dir, name)
    tmp = f"{path}.{os.getpid()}.tmp"  # renamed into place: the driver never reads half a record
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def mark_done(progress_dir: str, unit: str, records: int, parent: str = "") -> None:
    """Record that input unit `unit` (a file path, `path@offset`, ...) is finished, with `records` read.
    A sub-unit of a planned unit (see mark_planned) names that unit as `parent`."""
    if progress_dir:
        _write(progress_dir, _name(DONE_PREFIX, unit), {"unit": unit, "records": int(records), "parent": parent})


def mark_planned(progress_dir: str, parent: str, units: int) -> None:
    """Record that unit `parent` is read as `units` separate sub-units (e.g. the bz2 streams of a
    multistream dump), each of which will be marked done on its own."""
    if progress_dir:
        _write(progress_dir, _name(PLAN_PREFIX, parent), {"parent": parent, "units": int(units)})


def counted(progress_dir: str, unit: str, records: Iterable[T], parent: str = "") -> Iterator[T]:
    """Yield every record of `records`, then mark `unit` done with how many there were."""
    n = 0
    for record in records:
        n += 1
        yield record
    mark_done(progress_dir, unit, n, parent)


@dataclass
class ProgressRecords:
    done: dict[str, tuple[int, str]]  # unit → (records read, parent unit or "")
    planned: dict[str, int]  # parent unit → number of sub-units


def read_progress(progress_dir: str) -> ProgressRecords:
    """Every completion and plan record in the folder (an absent folder holds none)."""
    out = ProgressRecords({}, {})
    for name, data in _list_records(progress_dir):
        try:
            rec = json.loads(data)
        except ValueError:  # cannot happen for renamed/whole files; skip rather than stop the bar
            continue
        if name.startswith(DONE_PREFIX):
            out.done[rec["unit"]] = (int(rec["records"]), rec.get("parent", ""))
        elif name.startswith(PLAN_PREFIX):
            out.planned[rec["parent"]] = int(rec["units"])
    return out


def _list_records(progress_dir: str) -> Iterator[tuple[str, bytes]]:
    if "://" in progress_dir:
        from apache_beam.io.filesystems import FileSystems

        pattern = posixpath.join(progress_dir, "*.json")
        for meta in FileSystems.match([pattern])[0].metadata_list:
            with FileSystems.open(meta.path, compression_type="uncompressed") as f:
                yield posixpath.basename(meta.path), f.read()
        return
    try:
        entries = list(os.scandir(progress_dir))
    except FileNotFoundError:
        return
    for e in entries:
        if e.name.endswith(".json") and e.name.startswith((DONE_PREFIX, PLAN_PREFIX)):
            try:
                with open(e.path, "rb") as f:
                    yield e.name, f.read()
            except FileNotFoundError:  # removed between listing and reading (staging cleaned)
                continue


def planned(progress_dir: str, parent: str, units: Iterable[T]) -> list[T]:
    """The sub-units `parent` is read as, materialized and counted (mark_planned), for the driver's total."""
    items = list(units)
    mark_planned(progress_dir, parent, len(items))
    return items


def unit_of(args: tuple) -> tuple[str, str]:
    """(unit, parent) of a reader's arguments: `(path,)` is a whole file; `(path, start, ...)` the part
    of `path` starting at byte `start`."""
    if len(args) == 1:
        return str(args[0]), ""
    return f"{args[0]}@{args[1]}", str(args[0])
