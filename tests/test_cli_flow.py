"""The CLI contract (--version, --help everywhere, one-line user errors) and the one real Prefect
flow run of the suite (build_corpus on the demo crawl, then a rerun that skips)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from flows.cli import app


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"xlcorpus {version('xlcorpus')}"


def test_help_on_every_command():
    runner = CliRunner()
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    for g in app.registered_groups:
        names.append(g.name)
    assert {"build", "demo", "validate"} <= set(names)
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output


def test_missing_config_is_one_clear_line(tmp_path):
    proc = _cli("build", "--config", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "config file not found" in lines[0] and "nope.yaml" in lines[0]
    assert "Traceback" not in proc.stderr


def test_invalid_config_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("runner:\n  workers: 0\nnot_a_section: 1\n")
    proc = _cli("build", "--config", str(bad))
    assert proc.returncode == 2
    assert "runner.workers" in proc.stderr and "not_a_section" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_set_override(tmp_path):
    proc = _cli("build", "--set", "no-equals-sign")
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr


@pytest.mark.usefixtures("prefect_harness")
def test_build_corpus_flow_runs_and_skips_when_up_to_date(tmp_path):
    from flows.build_corpus import build_corpus
    from flows.config import Config
    from flows.demo.crawl import make_section
    from schemas.manifest import validate

    section = make_section(tmp_path / "data")
    cfg = Config.model_validate({"out": str(tmp_path / "out"), "stages": ["mono"], **section,
                                 "orchestration": {"report": False}})  # the report has its own tests
    first = build_corpus(cfg.model_dump(mode="json"))
    assert [r["stage"] for r in first] == ["mono"] and not first[0]["skipped"]
    m = validate(str(tmp_path / "out" / "documents"))
    assert m.rows > 0 and m.counters["docs.read"] == first[0]["counters"]["docs.read"]
    second = build_corpus(cfg.model_dump(mode="json"))
    assert second[0]["skipped"] and second[0]["key"] == first[0]["key"]
    forced = build_corpus(cfg.model_dump(mode="json"), force=["mono"])
    assert not forced[0]["skipped"]
    assert validate(str(tmp_path / "out" / "documents")).to_json() == m.to_json()
