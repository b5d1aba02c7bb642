"""Wikidata dump reading: what one worker does with a single-stream .bz2, and what splitting buys.

A Wikidata-like dump is generated (one entity per line: labels, aliases, sitelinks and claims in
the dump's shapes, with generated words), written as a single-stream .bz2 (how `bzip2` / `lbzip2`
write it) and as a multi-stream .bz2 (pbzip2 style: one stream per 900 kB of text). Printed, all
measured in this run:

1. one worker reading the single-stream file (decompress + parse every line with orjson, what a
   `.gz` / single-stream `.bz2` costs: one task for the whole file): MB/s of dump and of JSON text;
2. the same with the stdlib json parser (how the reader worked before): ratio orjson / json;
3. the multi-stream file read split by split (plan_splits / read_split), one process: ratio to (1)
   (what splitting costs); and 2 processes against 1 in wall time (what it buys).

In-process figures are CPU seconds of the benchmark process (best of 3), so other load on a shared
machine does not distort them; the 2-process ratio is wall time and needs an idle machine.

    python benchmarks/wikidata.py [--quick] [--mb N]
"""

from __future__ import annotations

import argparse
import bz2
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.wiki.wikidata import (  # noqa: E402
    Split,
    is_framing,
    iter_lines,
    parse_entity_line,
    plan_splits,
    read_split,
)

LANGS = ["en", "de", "fr", "es", "ru", "zh", "ja", "ar", "hi", "pt", "it", "nl", "pl", "sv", "uk", "ko"]
SYLLABLES = "ka ri to na mel sor vin da lu pe tra qui os an ber li mo zen".split()


def word(r: random.Random) -> str:
    return "".join(r.choice(SYLLABLES) for _ in range(r.randint(1, 4))).capitalize()


def entity(i: int, r: random.Random) -> str:
    name = " ".join(word(r) for _ in range(r.randint(1, 3)))
    langs = r.sample(LANGS, r.randint(3, len(LANGS)))
    claims = {f"P{r.randint(1, 3000)}": [{"mainsnak": {"snaktype": "value", "property": "P31", "datavalue": {
        "value": {"entity-type": "item", "numeric-id": r.randint(1, 10**8), "id": f"Q{r.randint(1, 10**8)}"},
        "type": "wikibase-entityid"}}, "type": "statement", "rank": "normal"}] for _ in range(r.randint(2, 12))}
    return json.dumps({
        "type": "item", "id": f"Q{i}",
        "labels": {lang: {"language": lang, "value": name} for lang in langs},
        "descriptions": {lang: {"language": lang, "value": " ".join(word(r) for _ in range(6))} for lang in langs[:4]},
        "aliases": {lang: [{"language": lang, "value": word(r)}] for lang in langs[:2]},
        "claims": claims,
        "sitelinks": {f"{lang}wiki": {"site": f"{lang}wiki", "title": name, "badges": []} for lang in langs[:5]},
    }, ensure_ascii=False)


def write_dumps(folder: Path, mb: float) -> tuple[Path, Path, int]:
    r = random.Random(0)
    lines, size, i = ["["], 0, 1
    while size < mb * 1e6:
        line = entity(i, r) + ","
        lines.append(line)
        size += len(line.encode()) + 1
        i += 1
    body = ("\n".join(lines) + "\n]\n").encode()
    single, multi = folder / "single.json.bz2", folder / "multi.json.bz2"
    single.write_bytes(bz2.compress(body, 9))
    with open(multi, "wb") as f:
        for at in range(0, len(body), 900_000):  # cut mid-line, as pbzip2 does
            f.write(bz2.compress(body[at:at + 900_000], 9))
    return single, multi, len(body)


def read_whole(path: str, parser: str) -> int:
    """Every entity of a dump, front to back, parsed by parse_entity_line with orjson or stdlib json."""
    import types

    from pipelines.wiki import wikidata

    saved = wikidata.orjson
    if parser == "json":  # the same reader with the stdlib parser in orjson's place
        wikidata.orjson = types.SimpleNamespace(loads=json.loads, JSONDecodeError=json.JSONDecodeError)
    try:
        return sum(1 for _, line in iter_lines(path) if not is_framing(line) and parse_entity_line(line))
    finally:
        wikidata.orjson = saved


def read_one_split(split: Split) -> int:
    return sum(1 for _, _, line in read_split(split) if not is_framing(line) and parse_entity_line(line))


def timed(fn, *args, repeat: int = 3, clock=time.process_time):
    """(result, best time of `repeat` runs). In-process work is timed in CPU seconds of this process,
    which other load on a shared machine does not inflate; wall time only where processes run."""
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        out = fn(*args)
        best = min(best, clock() - t0)
    return out, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a 8 MB dump instead of 40 MB")
    ap.add_argument("--mb", type=float, default=None, help="uncompressed dump size in MB")
    args = ap.parse_args()
    mb = args.mb or (8 if args.quick else 40)
    with tempfile.TemporaryDirectory(prefix="xlcorpus-bench-wikidata-") as tmp:
        single, multi, text_bytes = write_dumps(Path(tmp), mb)
        comp, comp_multi = single.stat().st_size, multi.stat().st_size
        n, t_orjson = timed(read_whole, str(single), "orjson")
        n_json, t_json = timed(read_whole, str(single), "json")
        assert n == n_json
        splits = plan_splits(str(multi), max(1, comp_multi // 4))  # 4 tasks for 2 processes
        counts, t_split1 = timed(lambda: [read_one_split(s) for s in splits])
        assert sum(counts) == n, (sum(counts), n)
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(read_one_split, splits[:1]))  # start the workers before timing
            counts2, t_split2 = timed(lambda: list(pool.map(read_one_split, splits)), clock=time.perf_counter)
            _, t_wall1 = timed(lambda: [read_one_split(s) for s in splits], clock=time.perf_counter)
        assert sum(counts2) == n
    print(f"dump: {n:,} entities, {text_bytes / 1e6:.1f} MB of JSON, {comp / 1e6:.1f} MB as bz2 "
          f"({comp_multi / 1e6:.1f} MB multi-stream, {len(splits)} splits)")
    print(f"1. single-stream .bz2, one worker, orjson: {comp / 1e6 / t_orjson:.2f} MB/s of dump, "
          f"{text_bytes / 1e6 / t_orjson:.1f} MB/s of JSON, {n / t_orjson:,.0f} entities/s per CPU second")
    print(f"2. stdlib json instead: ratio orjson / json = {t_json / t_orjson:.2f}x")
    print(f"3. multi-stream split by split, 1 process: ratio to (1) = {t_orjson / t_split1:.2f}x (CPU time); "
          f"2 processes / 1 process, wall time: {t_wall1 / t_split2:.2f}x (of 2x possible on an idle machine)")


if __name__ == "__main__":
    main()
