"""Wiki stage benchmark, on a dump generated from the demo articles (copies under new titles, so every
link still resolves against the demo Wikidata dump). Printed relations, all measured in this run:

1. the whole stage (Beam FnApiRunner, 1 worker): articles/s and sentences/s, and their ratio to the
   same per-element work (read → clean → split → filter) done in a plain Python loop (the Beam and
   shuffle-join overhead);
2. streaming: peak RSS (VmHWM) of a process that streams every page of a larger .xml.gz dump at 1×
   and 4× its size (should stay flat: ratio ≈ 1), next to the dump's size ratio (4×) and the 4× dump's
   uncompressed size relative to that peak (> 1: the dump cannot have been held in memory).

    python benchmarks/wiki.py [--quick] [--copies N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.demo import wiki as demo  # noqa: E402


def write_dump(path: Path, copies: int) -> int:
    """A multistream dump of the demo articles × copies (+ redirects); returns uncompressed bytes."""
    pages = []
    pid = 1
    for c in range(copies):
        for title, text in demo.ARTICLES:
            pages.append((pid, title if c == 0 else f"{title} ({c})", 0, text, None))
            pid += 1
    for title, target in demo.REDIRECTS:
        pages.append((pid, title, 0, f"#REDIRECT [[{target}]]", target))
        pid += 1
    demo.write_multistream(path, pages, per_stream=100)
    return len(demo.SITEINFO) + sum(len(demo._xml_page(*p)) for p in pages)


PLAIN = """
import resource, sys, time
from pipelines.wiki.dump import read_pages
from pipelines.wiki.sentences import filter_reason, split_sentences
from pipelines.wiki.wikitext import clean_wikitext
t0 = time.perf_counter()
articles = sentences = kept = 0
for page in read_pages(sys.argv[1]):
    if page.ns != 0 or page.redirect is not None:
        continue
    articles += 1
    for p in clean_wikitext(page.text):
        for s in split_sentences(p.text, p.anchors):
            sentences += 1
            kept += filter_reason(s.text, s.anchors) is None
dt = time.perf_counter() - t0
print(articles, sentences, kept, dt, 0)
"""

READ_ONLY = """
import sys
from pipelines.wiki.dump import read_pages
n = sum(len(p.text) > 0 for p in read_pages(sys.argv[1]))
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(n, int(hwm) * 1024)
"""


def write_big_gz(path: Path, mb: int) -> int:
    """A plain-gzip dump of demo articles repeated until `mb` MB uncompressed; returns its bytes."""
    import gzip

    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        f.write(demo.SITEINFO)
        n = 0
        while f.tell() < mb * 1024 * 1024:
            title, text = demo.ARTICLES[n % len(demo.ARTICLES)]
            f.write(demo._xml_page(n + 1, f"{title} ({n})", 0, text))
            n += 1
        f.write("</mediawiki>\n")
        return f.tell()


def read_only_rss(dump: Path) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", READ_ONLY, str(dump)], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split()
    return int(out[0]), int(out[1])


def plain_pass(dump: Path) -> tuple[int, int, int, float, int]:
    out = subprocess.run([sys.executable, "-c", PLAIN, str(dump)], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split()
    a, s, k, dt, rss = out
    return int(a), int(s), int(k), float(dt), int(rss) * 1024


def stage_pass(work: Path, dump: Path, wikidata: Path) -> tuple[dict, float]:
    from flows.config import Config
    from flows.stages import wiki as stage

    cfg = Config.model_validate({"out": str(work / "out"), "wiki": {
        "wikipedia": {"inputs": [str(dump)]}, "wikidata": {"inputs": [str(wikidata)]}}})
    t0 = time.perf_counter()
    report = stage.run(cfg, force=True, log_fn=lambda m: None)
    return report.counters, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller dumps (about 30 s)")
    ap.add_argument("--copies", type=int, default=None, help="demo-article copies in the stage's dump")
    args = ap.parse_args()
    copies = args.copies or (20 if args.quick else 60)
    big_mb = 16 if args.quick else 50
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wikidata = work / "wikidata.json.bz2"
        demo.write_wikidata(wikidata)
        d1 = work / "enwiki-x-pages-articles-multistream.xml.bz2"
        size1 = write_dump(d1, copies)

        counters, stage_s = stage_pass(work, d1, wikidata)
        a, s, k, plain_s, _ = plain_pass(d1)
        assert counters["pages.articles"] == a and counters["sentences.read"] == s
        assert counters["sentences.kept"] == k

        g1, g4 = work / "big1.xml.gz", work / "big4.xml.gz"
        big1, big4 = write_big_gz(g1, big_mb), write_big_gz(g4, 4 * big_mb)
        t0 = time.perf_counter()
        n1, rss1 = read_only_rss(g1)
        t1 = time.perf_counter()
        n4, rss4 = read_only_rss(g4)
        t4 = time.perf_counter()

        print(f"stage dump: {a:,} articles, {s:,} sentences ({k:,} kept), {size1 / 1e6:.1f} MB uncompressed")
        print(f"stage (Beam FnApiRunner, 1 worker, incl. startup, joins, writes): {a / stage_s:,.0f} articles/s, "
              f"{s / stage_s:,.0f} sentences/s, {counters.get('cs_sentences.kept', 0) / stage_s:,.0f} "
              "switched sentences/s")
        print(f"plain loop (read+clean+split+filter, same dump): {a / plain_s:,.0f} articles/s, "
              f"{s / plain_s:,.0f} sentences/s")
        print(f"stage / plain-loop throughput ratio: {plain_s / stage_s:.2f}")
        print(f"streaming reader: {n1:,} vs {n4:,} pages ({big1 / 2**20:.0f} vs {big4 / 2**20:.0f} MiB uncompressed, "
              f"ratio {big4 / big1:.2f}); read time ratio {(t4 - t1) / (t1 - t0):.2f}")
        print(f"peak RSS: 1x {rss1 / 2**20:.0f} MiB, 4x {rss4 / 2**20:.0f} MiB, ratio 4x/1x = {rss4 / rss1:.2f} "
              f"(flat = streaming); 4x dump = {big4 / rss4:.1f}x the reader's peak RSS")


if __name__ == "__main__":
    main()
