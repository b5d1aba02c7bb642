"""Bad input end to end through the CLI: one clear message each, exit code 2, nothing marked done.

Covered: a missing config file, a config naming a missing input file, an unknown language code, an
unreadable Wikipedia dump (found inside the stage), and runner options missing or rejected.
Every check runs before a Prefect server starts, except an unreadable dump, which the wiki stage finds
inside its Prefect task: the dry run goes through that stage code without Prefect, and the filter that
keeps Prefect's run logs to one line for such errors is tested on its own.
"""

from __future__ import annotations

import bz2
import logging
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def _config(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"out": "out", **body}))
    return path


def _one_error(result, *needles: str) -> str:
    """The run failed with exit 2 and exactly one `error:` line holding every needle; no traceback."""
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.output
    joined = " ".join(result.output.split())  # rich may wrap a long message
    for n in needles:
        assert n in joined, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _nothing_done(out: Path) -> None:
    assert not (out / "_stages").exists() or not any((out / "_stages").iterdir())
    assert not list(out.rglob("manifest.json")) if out.exists() else True


def _crawl(tmp_path: Path) -> Path:
    """A real, tiny WET file so the mono stage is enabled with a valid input."""
    wet = tmp_path / "crawl.warc.wet.gz"
    from flows.demo.crawl import make_section

    section = make_section(tmp_path / "demo")
    src = sorted((tmp_path / "demo").rglob("*.warc.wet.gz"))
    assert src and section["mono"]["inputs"]
    wet.write_bytes(src[0].read_bytes())
    return wet


def test_missing_config_file(tmp_path):
    res = runner.invoke(app, ["build", "--config", str(tmp_path / "nope.yaml")])
    _one_error(res, "config file not found", "nope.yaml")


def test_config_names_missing_input_file(tmp_path):
    cfg = _config(tmp_path, {"stages": ["mono"], "mono": {"inputs": ["crawl/missing-*.warc.gz"]}})
    res = runner.invoke(app, ["build", "--config", str(cfg)])
    _one_error(res, "mono.inputs", "missing-*.warc.gz", "check the path")
    _nothing_done(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_config_names_missing_parallel_file(tmp_path):
    (tmp_path / "corpus.de").write_text("Hallo Welt\n")
    cfg = _config(tmp_path, {"stages": ["parallel"], "parallel": {"inputs": [
        {"format": "moses", "src_path": "corpus.de", "tgt_path": "corpus.en", "src_lang": "de", "tgt_lang": "en"}]}})
    res = runner.invoke(app, ["build", "--config", str(cfg)])
    _one_error(res, "parallel.inputs[0].tgt_path", "corpus.en")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "code,needle",
    [("english", "not a language code of the form xxx_Scrp"), ("en_Latn", "xxx_Scrp"),
     ("qqx_Latn", "'qqx' is not an ISO 639-3 language code"), ("eng_Latx", "'Latx' is not an ISO 15924 script")],
)
def test_unknown_language_code(tmp_path, code, needle):
    cfg = _config(tmp_path, {"languages": ["deu_Latn", code], "mono": {"inputs": ["x.wet.gz"]}})
    res = runner.invoke(app, ["build", "--config", str(cfg)])
    _one_error(res, "languages", needle)
    assert not (tmp_path / "out").exists()


def test_known_language_codes_load():
    from flows.config import Config

    codes = ["eng_Latn", "zho_Hani", "srp_Cyrl", "gsw_Latn", "arb_Arab", "hbs_Latn", "jpn_Jpan", "yue_Hant"]
    assert Config(languages=codes).languages == codes


@pytest.mark.parametrize(
    "runner_cfg,needles",
    [
        ({"kind": "dataflow"}, ["runner.dataflow.project", "runner.dataflow.region", "runner.dataflow.temp_location"]),
        ({"kind": "dataflow", "dataflow": {"project": "my-project", "region": "europe-west4"}},
         ["runner.dataflow.temp_location"]),
        ({"kind": "dataflow", "dataflow": {"project": "my-project", "region": "europe-west4",
                                           "temp_location": "/scratch/not-gcs"}}, ["Beam rejects", "temp_location"]),
        ({"kind": "flink"}, ["runner.flink.master", "runner.flink.job_endpoint"]),
    ],
    ids=["dataflow-nothing", "dataflow-no-temp", "dataflow-local-temp", "flink-nothing"],
)
def test_runner_option_missing(tmp_path, runner_cfg, needles):
    wet = _crawl(tmp_path)
    cfg = _config(tmp_path, {"stages": ["mono"], "mono": {"inputs": [str(wet)]}, "runner": runner_cfg})
    for extra in ([], ["--dry-run"]):
        res = runner.invoke(app, ["build", "--config", str(cfg), *extra])
        _one_error(res, *needles)
    assert not (tmp_path / "out").exists()


def test_runner_flag_override_checked_too(tmp_path):
    wet = _crawl(tmp_path)
    cfg = _config(tmp_path, {"stages": ["mono"], "mono": {"inputs": [str(wet)]}})
    res = runner.invoke(app, ["build", "--config", str(cfg), "--runner", "dataflow",
                              "--set", "runner.dataflow.project=my-project"])
    _one_error(res, "runner.dataflow.region", "runner.dataflow.temp_location")


def _bad_wiki(tmp_path: Path) -> Path:
    dump = tmp_path / "enwiki-latest-pages-articles.xml.bz2"
    dump.write_bytes(bz2.compress(b"<html><body>this is a web page, not a MediaWiki export</body></html>"))
    wikidata = tmp_path / "wikidata.json"
    wikidata.write_text("[\n]\n")
    return _config(tmp_path, {"stages": ["wiki"], "wiki": {"wikipedia": {"inputs": [str(dump)]},
                                                           "wikidata": {"inputs": [str(wikidata)]}}})


def test_unreadable_dump_in_dry_run(tmp_path):
    res = runner.invoke(app, ["build", "--config", str(_bad_wiki(tmp_path)), "--dry-run"])
    _one_error(res, "enwiki-latest-pages-articles.xml.bz2", "not <mediawiki>")
    _nothing_done(tmp_path / "out")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_prefect_run_logs_keep_user_errors_to_one_line():
    """Inside `xlcorpus build` an error raised in a stage surfaces through Prefect's run loggers, which
    log it with a traceback; the CLI's filter strips the traceback for user errors only."""
    from flows.cli import _no_tracebacks_for_user_errors
    from flows.config import ConfigError
    from flows.errors import InputError

    _no_tracebacks_for_user_errors()
    _no_tracebacks_for_user_errors()  # idempotent: one filter per logger
    seen = _Records()
    logger = logging.getLogger("prefect.flow_runs")
    # Prefect adds filters of its own once a flow ran in this process: count only the CLI's.
    assert sum(type(f).__name__ == "_StripUserTracebacks" for f in logger.filters) == 1
    logger.addHandler(seen)
    try:
        for exc in (InputError("x.xml: not a MediaWiki XML export"), ConfigError("bad"), RuntimeError("bug")):
            try:
                raise exc
            except Exception:
                logger.error("Encountered exception during execution: %r", exc, exc_info=True)
    finally:
        logger.removeHandler(seen)
    assert [r.exc_info is None for r in seen.records] == [True, True, False]  # a real bug keeps its traceback


def _gcp_installed() -> bool:
    try:
        from apache_beam.runners.dataflow.internal import apiclient  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(_gcp_installed(), reason="needs a machine without apache-beam[gcp] (a run would submit)")
def test_dataflow_without_client_libraries(tmp_path):
    """Complete Dataflow options, but this machine cannot submit: one line before any stage runs;
    the dry run still works (it needs no client)."""
    wet = _crawl(tmp_path)
    cfg = _config(tmp_path, {"stages": ["mono"], "mono": {"inputs": [str(wet)]}, "neardup": {"enabled": False},
                             "runner": {"kind": "dataflow", "dataflow": {
                                 "project": "my-project", "region": "europe-west4",
                                 "temp_location": "gs://my-bucket/tmp"}}})
    res = runner.invoke(app, ["build", "--config", str(cfg)])
    _one_error(res, "Google Cloud client libraries", "pip install -e '.[dataflow]'")
    assert not (tmp_path / "out").exists()
    res = runner.invoke(app, ["build", "--config", str(cfg), "--dry-run"])
    assert res.exit_code == 0 and "mono: pipeline built" in res.output
