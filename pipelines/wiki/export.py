"""EntityCS release-format export: OUT/exports/entitycs/<code>.jsonl, one line per sample:
{"id", "language", "en_sentence", "cs_sentence"} (the format of the EntityCS corpus release).

`release_codes="iso639_1"` writes the release's own style (`"language": "de"`, `<de>…</de>`,
`<en>…</en>`); `"project"` keeps the project codes (`deu_Latn`, `<deu_Latn>…</deu_Latn>`).
Written after the pipeline from the codeswitch shards, streamed batch by batch: files are in shard
order and, inside a shard, in cs_id order — the same bytes on every rerun.
"""

from __future__ import annotations

import posixpath

from pipelines.shards import filesystem, iter_shard_batches
from pipelines.wiki.codeswitch import release_line
from pipelines.wiki.langs import release_code
from schemas.manifest import list_shards


def export_release(codeswitch_dir: str, export_dir: str, style: str) -> dict[str, int]:
    """Write one JSONL per language; returns lines written per file name."""
    out_fs, out_root = filesystem(export_dir)
    out_fs.create_dir(out_root, recursive=True)
    by_partition: dict[str, list[str]] = {}
    for rel in list_shards(codeswitch_dir):
        by_partition.setdefault(rel.split("/")[0], []).append(rel)
    written: dict[str, int] = {}
    for part in sorted(by_partition):
        name = release_code(part, style)  # distinct per partition: srp_Latn → "sr-Latn", srp_Cyrl → "sr"
        n = 0
        with out_fs.open_output_stream(posixpath.join(out_root, f"{name}.jsonl")) as out:
            for rel in sorted(by_partition[part]):
                for batch in iter_shard_batches(posixpath.join(codeswitch_dir, rel)):
                    for record in batch.to_pylist():
                        out.write((release_line(record, lambda c: release_code(c, style)) + "\n").encode())
                        n += 1
        written[f"{name}.jsonl"] = n
    return written
