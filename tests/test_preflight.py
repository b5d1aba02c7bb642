"""Preflight reads only what it must; what it cannot see (Moses files of unequal length) is found while
reading and still ends in one clear error, with nothing committed."""

from __future__ import annotations

import gzip

import pytest

from pipelines.parallel.readers import check_spec, make_spec, read_input


def test_preflight_reads_only_the_first_line(tmp_path):
    """A Moses file whose compressed body is cut off after its first lines passes the preflight (it
    never reads further); reading it is where the damage shows."""
    good = "\n".join(f"line {i}" for i in range(2000)) + "\n"
    de, en = tmp_path / "c.de.gz", tmp_path / "c.en.gz"
    de.write_bytes(gzip.compress(good.encode())[:300])  # truncated stream
    en.write_bytes(gzip.compress(good.encode()))
    spec = make_spec({"format": "moses", "src_path": str(de), "tgt_path": str(en), "src_lang": "de",
                      "tgt_lang": "en"})
    check_spec(spec)
    with pytest.raises(EOFError):
        list(read_input(spec))


def test_moses_length_mismatch_is_one_error_line_and_nothing_is_committed(tmp_path):
    from flows.config import load_config
    from flows.errors import InputError
    from flows.stages import parallel

    de, en = tmp_path / "news.de", tmp_path / "news.en"
    de.write_text("".join(f"Das ist Satz Nummer {i}.\n" for i in range(30)), encoding="utf-8")
    en.write_text("".join(f"This is sentence number {i}.\n" for i in range(31)), encoding="utf-8")
    out = tmp_path / "out"
    cfg = load_config(None, {"out": str(out), "stages": ["parallel"], "parallel": {
        "inputs": [{"format": "moses", "src_path": str(de), "tgt_path": str(en), "src_lang": "de",
                    "tgt_lang": "en"}],
        "clean": {"lid": False}, "align": {"eflomal": {"n_samplers": 1, "rel_iterations": 0.2}}}})
    with pytest.raises(InputError) as e:
        parallel.run(cfg)
    msg = str(e.value)
    assert "\n" not in msg and f"{de} has 30 lines, {en} has 31" in msg and "line-aligned" in msg
    assert not (out / "_stages").exists() and not list(out.rglob("manifest.json"))
