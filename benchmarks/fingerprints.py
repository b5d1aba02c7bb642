"""Input fingerprints (flows/fingerprints.py): what a full-content hash costs, measured in this run.

Stage keys hash every byte of every input file (xxh3-128, streamed), never a prefix. Printed:

1. baseline: reading the files once, serially, into a reused buffer (what any hash must at least do);
2. xxh3-128 of each file, serially: its ratio to the bare read (≈ 1 means the hash is free next to
   the I/O) and GB/s;
3. `fingerprint_files` (a thread pool over the files): its ratio to the serial xxh3 — > 1 is the
   parallel gain where the reads block (cold page cache, network filesystems);
4. sha256, serially, for scale: the hash a slower choice would cost.

Files are generated in a temporary folder (random bytes, so nothing compresses or dedups). Each
relation is measured twice: with a warm page cache (the hash's own cost) and cold (every file's pages
dropped with posix_fadvise(DONTNEED) before each pass: reads come from the disk, where the pool's
parallel reads pay off).

    python benchmarks/fingerprints.py [--files N] [--mb SIZE]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.fingerprints import fingerprint_files, fingerprint_local  # noqa: E402


def _read_all(paths: list[str]) -> None:
    buf = bytearray(1 << 20)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def _sha256_all(paths: list[str]) -> None:
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)


def _drop_cache(paths: list[str]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _best(fn, repeat: int = 3, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--mb", type=int, default=64, help="size of each file")
    ap.add_argument("--quick", action="store_true", help="8 files of 16 MiB")
    args = ap.parse_args()
    if args.quick:
        args.mb = 16
    with tempfile.TemporaryDirectory(prefix="xlcorpus-bench-fp-") as tmp:
        paths = []
        for i in range(args.files):
            p = Path(tmp, f"input-{i:03d}.bin")
            p.write_bytes(os.urandom(args.mb << 20))
            paths.append(str(p))
        gb = args.files * (args.mb << 20) / 1e9
        print(f"{args.files} files x {args.mb} MiB ({gb:.2f} GB), {os.cpu_count()} CPUs")
        for cache, before in (("warm", None), ("cold", lambda: _drop_cache(paths))):
            _read_all(paths)
            read = _best(lambda: _read_all(paths), before=before)
            serial = _best(lambda: [fingerprint_local(p) for p in paths], before=before)
            pooled = _best(lambda: fingerprint_files(paths), before=before)
            sha = _best(lambda: _sha256_all(paths), before=before)
            print(f"{cache} page cache:")
            print(f"  bare read (baseline)      {read:6.3f}s  {gb / read:5.2f} GB/s")
            print(f"  xxh3-128, serial          {serial:6.3f}s  {gb / serial:5.2f} GB/s  = {serial / read:.2f}x the bare read")
            print(f"  fingerprint_files (pool)  {pooled:6.3f}s  {gb / pooled:5.2f} GB/s  = {serial / pooled:.2f}x faster than serial")
            print(f"  sha256, serial            {sha:6.3f}s  {gb / sha:5.2f} GB/s  = {sha / serial:.2f}x the xxh3 time")


if __name__ == "__main__":
    main()
