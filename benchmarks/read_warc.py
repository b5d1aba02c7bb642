"""WARC reader throughput against fastwarc (resiliparse's C++ reader) over the same files.

Generates N MB of HTML response records (demo sentences recombined, ~5-30 KB pages) with warcio,
as a .warc.gz (one gzip member per record) and as a plain .warc, then times, on each file:
  baseline : fastwarc's ArchiveIterator reading every record's block (framing + inflate only) — the
             floor any reader pays
  framing  : this project's framing layer alone (gzip members + strict framing with resync checks)
  reader   : the whole reader, `read_file` (framing, HTTP, sniffing, charset, HTML → text)
  extract  : fastwarc + resiliparse's HTML → text with no checks, the cheapest full equivalent
and prints MB/s and the ratios framing/baseline and reader/extract (time ratios: lower is better).

    python benchmarks/read_warc.py           # 20 MB
    python benchmarks/read_warc.py --mb 5
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def generate(path: Path, mb: float, seed: int = 0) -> int:
    """Write ~mb MB (uncompressed) of HTML responses as .warc.gz; returns the record count."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from flows.demo.crawl_text import SENTENCES

    rng = random.Random(seed)
    langs = sorted(SENTENCES)
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.0")
    size = n = 0
    while size < mb * 1e6:
        lang = langs[n % len(langs)]
        paras = "".join(f"<p>{' '.join(rng.sample(SENTENCES[lang], 3))} ({n}.{k})</p>" for k in range(rng.randint(10, 60)))
        body = f"<!DOCTYPE html><html><head><title>{lang} {n}</title></head><body><h1>{n}</h1>{paras}</body></html>".encode()
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        rec = writer.create_warc_record(f"https://{lang}.bench/{n}", "response", payload=io.BytesIO(body),
                                        http_headers=http, warc_headers_dict={"WARC-Date": "2024-05-01T12:00:00Z"})
        writer.write_record(rec)
        size += len(body)
        n += 1
    path.write_bytes(buf.getvalue())
    return n


def best_of(fn, repeat: int) -> tuple[float, int]:
    best, out = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fastwarc_blocks(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    n = 0
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.any_type, parse_http=False):
            rec.reader.read()
            n += 1
    return n


def fastwarc_extract(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text

    n = 0
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            extract_plain_text(rec.reader.read().decode("utf-8"), list_bullets=False, alt_texts=False)
            n += 1
    return n


def our_framing(path: Path, gzipped: bool) -> int:
    from pipelines.mono.read_warc import GzipMember, ReadLimits, frame_records, iter_gzip_members

    bound = ReadLimits().max_block_bytes
    n = 0
    with open(path, "rb") as f:
        if not gzipped:
            return sum(1 for _ in frame_records(f.read, bound))
        for member in iter_gzip_members(f):
            if isinstance(member, GzipMember):
                n += sum(1 for _ in frame_records(member.read, bound, "gzip member", intact_end=True))
    return n


def our_reader(path: Path) -> int:
    from pipelines.mono.read_docs import read_file
    from pipelines.mono.read_warc import RawDoc

    return sum(isinstance(item, RawDoc) for item in read_file(str(path)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0, help="uncompressed HTML payload to generate (MB)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    ap.add_argument("--quick", action="store_true", help="5 MB, best of 2 (as every benchmark of make bench)")
    args = ap.parse_args()
    if args.quick:
        args.mb, args.repeat = 5.0, 2
    import fastwarc.warc  # noqa: F401  imports (pyarrow, resiliparse) are not part of any timing

    import pipelines.mono.read_docs  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        gz = Path(tmp) / "bench.warc.gz"
        n = generate(gz, args.mb)
        plain = Path(tmp) / "bench.warc"
        with gzip.open(gz, "rb") as f:
            plain.write_bytes(f.read())
        mb = plain.stat().st_size / 1e6
        print(f"{n} records, {mb:.1f} MB uncompressed ({gz.stat().st_size / 1e6:.1f} MB gzipped)")
        for label, path, gzipped in (("warc.gz", gz, True), ("warc", plain, False)):
            base, nb = best_of(lambda p=path: fastwarc_blocks(p), args.repeat)
            frame, nf = best_of(lambda p=path, g=gzipped: our_framing(p, g), args.repeat)
            extract, ne = best_of(lambda p=path: fastwarc_extract(p), args.repeat)
            reader, nr = best_of(lambda p=path: our_reader(p), args.repeat)
            assert nb == nf == ne == nr == n, (nb, nf, ne, nr, n)
            print(f"{label:8s} fastwarc blocks {mb / base:7.1f} MB/s | framing {mb / frame:7.1f} MB/s "
                  f"(time ratio {frame / base:4.2f}x) | fastwarc+extract {mb / extract:6.1f} MB/s | "
                  f"read_file {mb / reader:6.1f} MB/s (time ratio {reader / extract:4.2f}x)")


if __name__ == "__main__":
    main()
