"""Orchestration (issue 14): the stage DAG and worker shares, live progress from worker completion
records, typed transient errors and retries, one summary line and one artifact per stage, and the
flow itself — independent stages overlapping in time, a failed stage failing only its dependents."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import apache_beam as beam
import pytest

from flows.build_corpus import describe_plan, forced_stages, plan_stages, share_workers
from flows.config import Config
from flows.progress import LogSink, ProgressPlan, ProgressWatcher, Snapshot, files_plan, snapshot
from flows.retries import JobSubmissionError, TransientIOError, WorkerLostError, is_transient, transient_error
from flows.stage_summary import stage_markdown, summary_line, table_markdown
from pipelines.progress import counted, mark_done, mark_planned, read_progress

# --- the DAG ------------------------------------------------------------------------------------------


def _cfg(tmp_path: Path, **extra) -> Config:
    """A config whose mono, wiki and parallel stages are enabled (inputs need not exist to plan)."""
    return Config.model_validate({
        "out": str(tmp_path / "out"),
        "mono": {"inputs": ["crawl/*.warc.gz"]},
        "wiki": {"wikipedia": {"inputs": ["w.xml.bz2"]}, "wikidata": {"inputs": ["wd.json.bz2"]}},
        "parallel": {"inputs": ["p.de-en.tsv"]},
        **extra,
    })


def test_share_workers_splits_and_never_gives_zero():
    assert share_workers(8, ["mono", "wiki", "parallel"]) == {"mono": 3, "wiki": 3, "parallel": 2}
    assert share_workers(4, ["mono", "wiki", "parallel"]) == {"mono": 2, "wiki": 1, "parallel": 1}
    assert share_workers(1, ["mono", "wiki", "parallel"]) == {"mono": 1, "wiki": 1, "parallel": 1}
    assert share_workers(6, ["encode"]) == {"encode": 6}
    assert share_workers(3, []) == {}


def test_plan_runs_sources_at_once_then_the_rest_in_dependency_order(tmp_path):
    plans = {p.stage: p for p in plan_stages(_cfg(tmp_path, runner={"workers": 4}))}
    assert list(plans) == ["mono", "wiki", "parallel", "tokenizer", "encode", "train"]
    assert [plans[s].wave for s in plans] == [0, 0, 0, 1, 2, 3]
    assert plans["mono"].upstream == plans["wiki"].upstream == plans["parallel"].upstream == []
    assert plans["tokenizer"].upstream == ["mono", "wiki", "parallel"]
    assert plans["encode"].upstream == ["mono", "wiki", "parallel", "tokenizer"]
    assert plans["train"].upstream == ["encode"]
    # 4 workers shared by the three source stages; later stages run alone and get all of them
    assert [plans[s].workers for s in ("mono", "wiki", "parallel", "tokenizer", "encode")] == [2, 1, 1, 4, 4]
    lines = describe_plan(_cfg(tmp_path, runner={"workers": 4}), list(plans.values()))
    assert lines[0] == "wave 1: mono, wiki, parallel (at once)"
    assert "runner.workers=4 shared by 3 stages running at once: mono 2, wiki 1, parallel 1" in lines[1]
    assert "wave 2: tokenizer (after mono, wiki, parallel)" in lines


def test_plan_one_by_one_when_concurrency_is_off(tmp_path):
    cfg = _cfg(tmp_path, runner={"workers": 4}, orchestration={"concurrent_stages": False})
    plans = plan_stages(cfg)
    assert [p.wave for p in plans] == [0, 1, 2, 3, 4, 5]
    assert [p.upstream for p in plans[:3]] == [[], ["mono"], ["wiki"]]
    assert all(p.workers == 4 for p in plans)
    assert "one stage at a time" in describe_plan(cfg, plans)[-1]


def test_plan_only_waits_for_enabled_stages(tmp_path):
    cfg = Config.model_validate({"out": str(tmp_path / "out"), "stages": ["wiki", "tokenizer"],
                                 "wiki": {"wikipedia": {"inputs": ["w.xml"]}, "wikidata": {"inputs": ["d.json"]}}})
    plans = plan_stages(cfg)
    assert [(p.stage, p.upstream) for p in plans] == [("wiki", []), ("tokenizer", ["wiki"])]


def test_force_follows_the_dag():
    stages = ["mono", "wiki", "parallel", "tokenizer", "encode", "train"]
    # wiki's dependents rerun, but parallel (independent of wiki) does not
    assert forced_stages(stages, ["wiki"]) == {"mono": False, "wiki": True, "parallel": False,
                                               "tokenizer": True, "encode": True, "train": True}
    assert forced_stages(stages, ["encode"]) == {**dict.fromkeys(stages, False), "encode": True, "train": True}


# --- progress records and snapshots ------------------------------------------------------------------


def test_completion_records_round_trip_and_overwrite(tmp_path):
    d = str(tmp_path / "_progress")
    assert read_progress(d).done == {}  # no folder yet: nothing done
    mark_done(d, "a.warc.gz", 10)
    mark_done(d, "a.warc.gz", 10)  # a retried bundle rewrites the same record
    mark_planned(d, "dump.xml.bz2", 3)
    assert list(counted(d, "dump.xml.bz2@100", iter(range(5)), parent="dump.xml.bz2")) == list(range(5))
    recs = read_progress(d)
    assert recs.done == {"a.warc.gz": (10, ""), "dump.xml.bz2@100": (5, "dump.xml.bz2")}
    assert recs.planned == {"dump.xml.bz2": 3}
    assert not [p for p in Path(d).iterdir() if p.suffix != ".json"]  # no temporary files left
    mark_done("", "ignored", 1)  # progress not wanted: a no-op


def test_snapshot_counts_sub_units_and_weights_the_fraction(tmp_path):
    d = str(tmp_path / "p")
    plan = ProgressPlan(d, {"small": 100, "big": 900, "dump": 1000})
    mark_done(d, "small", 7)
    mark_planned(d, "dump", 4)
    mark_done(d, "dump@0", 3, parent="dump")
    snap = snapshot("wiki", plan, read_progress(d), elapsed=10.0)
    assert (snap.done, snap.total, snap.records) == (2, 6, 10)  # small + 1 of 4 streams; 1 + 1 + 4 units
    assert snap.fraction == pytest.approx((100 + 1000 / 4) / 2000)
    assert snap.rate == pytest.approx(1.0)
    assert snap.eta_seconds == pytest.approx(10.0 * (1 - 0.175) / 0.175)
    assert snap.line().startswith("[wiki] 2/6 files (18%), 10 records, 1 records/s, ETA 0:00:47")
    # an unplanned dump counts as one unit until its plan arrives
    assert snapshot("wiki", plan, read_progress(str(tmp_path / "none")), 1.0).total == 3


def test_log_sink_is_throttled():
    lines: list[str] = []
    sink = LogSink(lines.append, every=0.2)
    snap = Snapshot("mono", "files", 1, 2, 5, 0.5, 1.0)
    sink(snap)
    assert lines == []  # the first line only after `every` seconds
    time.sleep(0.25)
    sink(snap)
    sink(snap)
    assert len(lines) == 1 and lines[0].startswith("[mono] 1/2 files")


def test_watcher_sees_units_finish_while_work_runs(tmp_path):
    files = []
    for i in range(4):
        f = tmp_path / f"in-{i}.txt"
        f.write_text("x" * (i + 1) * 10)
        files.append(str(f))
    plan = files_plan(str(tmp_path / "staging"), files)
    seen: list[Snapshot] = []
    watcher = ProgressWatcher("mono", plan, [seen.append], poll_seconds=0.05).start()

    def work():
        for f in files:
            time.sleep(0.15)
            mark_done(plan.directory, f, 3)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    final = watcher.stop(finished=True)
    assert (final.done, final.total, final.records, final.fraction, final.closed) == (4, 4, 12, 1.0, True)
    dones = [s.done for s in seen]
    assert dones == sorted(dones) and 0 < len(set(dones) - {0, 4})  # intermediate states were seen
    assert seen[0].done == 0 and not seen[0].closed


def test_run_beam_reports_progress_from_the_workers(tmp_path):
    """A real Beam job on the local runner: its per-file step marks files done; the driver's
    watcher (started by run_beam) sees them, and the final snapshot is complete."""
    from flows.progress import reporting
    from flows.stage_runner import run_beam

    files = [str(tmp_path / f"f{i}.txt") for i in range(3)]
    for i, f in enumerate(files):
        Path(f).write_text("\n".join(f"line {j}" for j in range(i + 2)))
    plan = files_plan(str(tmp_path / "staging"), files)
    progress_dir = plan.directory
    seen: list[Snapshot] = []

    def read_lines(path: str):
        return counted(progress_dir, path, Path(path).read_text().splitlines())

    def build(p):
        _ = p | beam.Create(files) | beam.FlatMap(read_lines) | beam.Map(lambda x: x)

    cfg = Config.model_validate({"out": str(tmp_path / "out")})
    with reporting(lambda m: None, extra_sinks=[seen.append]):
        run_beam(cfg, "demo", build, progress=plan)
    assert seen[-1].closed and seen[-1].finished
    assert (seen[-1].done, seen[-1].total, seen[-1].records) == (3, 3, 2 + 3 + 4)
    assert read_progress(progress_dir).done == {f: (i + 2, "") for i, f in enumerate(files)}


# --- transient errors ---------------------------------------------------------------------------------


class _Rpc:
    """A gRPC status error as grpc raises it (grpc.RpcError with a code())."""

    @staticmethod
    def make(code):
        import grpc

        class Err(grpc.RpcError):
            def code(self):
                return code

            def __str__(self):
                return f"status {code.name}"

        return Err()


def test_runner_errors_are_mapped_by_type():
    import grpc

    assert isinstance(transient_error(grpc.FutureTimeoutError(), submitted=False, stage="mono"), JobSubmissionError)
    unavailable = _Rpc.make(grpc.StatusCode.UNAVAILABLE)
    assert isinstance(transient_error(unavailable, submitted=False, stage="mono"), JobSubmissionError)
    assert isinstance(transient_error(unavailable, submitted=True, stage="mono"), WorkerLostError)
    assert transient_error(_Rpc.make(grpc.StatusCode.INVALID_ARGUMENT), submitted=True, stage="mono") is None
    wrapped = RuntimeError("worker failed")
    wrapped.__cause__ = ConnectionResetError("peer reset")
    err = transient_error(wrapped, submitted=True, stage="wiki")
    assert isinstance(err, TransientIOError) and "[wiki] transient I/O: ConnectionResetError: peer reset" == str(err)
    assert is_transient(err) and not is_transient(wrapped)


def test_user_errors_are_never_transient():
    from flows.config import ConfigError
    from flows.errors import InputError

    for user in (ConfigError("bad field"), InputError("bad dump")):
        outer = ConnectionError("while reading")  # even with a transient-looking wrapper around it
        outer.__cause__ = user
        assert transient_error(user, submitted=True, stage="mono") is None
        assert transient_error(outer, submitted=True, stage="mono") is not None  # the outer one is I/O …
        inner_first = RuntimeError("x")
        inner_first.__cause__ = user
        assert transient_error(inner_first, submitted=True, stage="mono") is None  # … a user error is not
    assert transient_error(ValueError("a bug"), submitted=True, stage="mono") is None


def test_retry_policy_per_stage(tmp_path):
    cfg = _cfg(tmp_path, orchestration={"retry": {"count": 3, "delay_seconds": 5},
                                        "stage_retry": {"train": {"count": 0}}})
    assert (cfg.orchestration.retry_for("mono").count, cfg.orchestration.retry_for("mono").delay_seconds) == (3, 5)
    assert cfg.orchestration.retry_for("train").count == 0
    from flows.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="unknown stage"):
        load_config(None, {"orchestration.stage_retry": {"tokeniser": {"count": 1}}})


# --- one summary line, one artifact -------------------------------------------------------------------

COUNTERS = {"docs.read": 100, "docs.kept": 60, "docs.dropped.too_short": 25, "docs.dropped.lang_not_wanted": 10,
            "docs.dropped.bad_json": 3, "docs.dropped.empty_text": 1, "docs.dropped.http_status": 1,
            "lines.read": 500, "lines.kept": 450, "lines.dropped.duplicate": 50, "by_lang.eng_Latn.kept": 60,
            "shuffle.lines.bytes": 2_500_000, "shuffle.lines.elements": 500}


def test_summary_line_is_one_line_with_reasons_and_shuffles():
    line = summary_line(COUNTERS)
    assert "\n" not in line
    assert line == ("docs 100 read → 60 kept (too_short 25, lang_not_wanted 10, bad_json 3, empty_text 1, "
                    "+1 more); lines 500 read → 450 kept (duplicate 50); shuffles 2.5 MB")


def test_stage_markdown_holds_the_cli_table_counters_partitions_and_shuffles():
    from rich.table import Table

    table = Table(title="mono: documents per language")
    table.add_column("language")
    table.add_column("dropped by reason")
    table.add_row("eng_Latn", "too_short 3\nbad|json 1")
    result = {"stage": "mono", "skipped": False, "seconds": 3.21, "key": "abc", "counters": COUNTERS,
              "products": {"documents": {"rows": 60, "partitions": {"eng_Latn": 60}},
                           "rejects/mono": {"rows": 0, "partitions": {}}}}
    md = stage_markdown("mono", result, table)
    assert md.startswith("### mono: done in 3.2 s")
    assert "| eng_Latn | too_short 3<br>bad\\|json 1 |" in md  # the CLI table, cells escaped
    assert "| docs | 100 | 60 | too_short=25, lang_not_wanted=10, bad_json=3, empty_text=1, http_status=1 |" in md
    assert "| documents | eng_Latn | 60 |" in md and "| rejects/mono | (empty) | 0 |" in md
    assert "| lines | 2,500,000 | 500 |" in md
    assert table_markdown(table).splitlines()[0] == "#### mono: documents per language"


# --- the flow: overlap, failure isolation, artifacts, retries (real Prefect runs) ---------------------


def _flow_run(flow_run_id):
    """(task runs by name, artifacts by key) of a flow run, read back through the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {t.name: t for t in tasks}, {a.key: a for a in artifacts}


@pytest.mark.usefixtures("prefect_harness")
def test_flow_overlaps_independent_stages_and_isolates_a_failure(tmp_path):
    """mono and wiki run at the same time; parallel fails on a bad corpus (a user error: not
    retried), so the tokenizer, which needs all three, is not run — while mono and wiki commit."""
    from flows.build_corpus import build_corpus
    from flows.demo.wiki import make_section as wiki_section
    from flows.errors import InputError
    from tests.mono_corpus import make_corpus

    crawl = make_corpus(tmp_path / "crawl", n_docs=40, mirror=False)
    (tmp_path / "p.de").write_text("Ein Satz.\nZwei Sätze.\nDrei.\n")
    (tmp_path / "p.en").write_text("One sentence.\nTwo sentences.\n")  # one line short: an input error
    cfg = Config.model_validate({
        "out": str(tmp_path / "out"), "stages": ["mono", "wiki", "parallel", "tokenizer"],
        "mono": {"inputs": crawl}, **wiki_section(tmp_path / "data"),
        "parallel": {"inputs": [{"format": "moses", "src_path": str(tmp_path / "p.de"),
                                 "tgt_path": str(tmp_path / "p.en"), "src_lang": "de", "tgt_lang": "en"}]},
        "orchestration": {"retry": {"count": 2, "delay_seconds": 30}},
    })
    state = build_corpus(cfg.model_dump(mode="json"), return_state=True)
    assert state.is_failed()
    with pytest.raises(InputError, match="p.de"):
        state.result()
    tasks, artifacts = _flow_run(state.state_details.flow_run_id)
    mono, wiki = tasks["mono"], tasks["wiki"]
    assert mono.state.is_completed() and wiki.state.is_completed()
    # the overlap: each started before the other ended
    assert mono.start_time < wiki.end_time and wiki.start_time < mono.end_time
    assert tasks["parallel"].state.is_failed() and tasks["parallel"].run_count == 1  # a user error: no retry
    assert tasks["tokenizer"].state.name == "NotReady" and tasks["tokenizer"].start_time is None
    out = tmp_path / "out"
    assert (out / "_stages" / "mono.json").is_file() and (out / "_stages" / "wiki.json").is_file()
    assert not (out / "_stages" / "parallel.json").exists() and not (out / "_stages" / "tokenizer.json").exists()
    # one markdown artifact per finished stage, and the report linked
    assert {"mono-summary", "wiki-summary", "build-report"} <= set(artifacts)
    assert artifacts["wiki-summary"].type == "markdown" and "| sentences |" in artifacts["wiki-summary"].data
    assert "| documents |" in artifacts["mono-summary"].data
    assert artifacts["build-report"].type == "markdown"  # a link artifact is stored as markdown
    assert (out / "report.html").is_file() and (out / "report.html").as_uri() in artifacts["build-report"].data


@pytest.mark.usefixtures("prefect_harness")
def test_transient_runner_failure_is_retried_per_policy(tmp_path):
    """A job service that does not answer is a real gRPC timeout at submission: a JobSubmissionError,
    retried `count` times (here once), then the stage fails with it."""
    from flows.build_corpus import build_corpus
    from flows.prefect_server import free_port
    from tests.mono_corpus import make_corpus

    crawl = make_corpus(tmp_path / "crawl", n_docs=10, mirror=False)
    cfg = Config.model_validate({
        "out": str(tmp_path / "out"), "stages": ["mono"], "mono": {"inputs": crawl},
        "runner": {"kind": "flink", "flink": {"job_endpoint": f"localhost:{free_port()}", "environment_type": "LOOPBACK"},
                   "extra_args": ["--job_server_timeout=2"]},
        "orchestration": {"stage_retry": {"mono": {"count": 1, "delay_seconds": 0}}, "report": False},
    })
    state = build_corpus(cfg.model_dump(mode="json"), return_state=True)
    with pytest.raises(JobSubmissionError, match=r"\[mono\] job submission failed"):
        state.result()
    tasks, _ = _flow_run(state.state_details.flow_run_id)
    assert tasks["mono"].run_count == 2  # the first try + one retry


def test_stage_markdown_takes_any_summary_renderable():
    """train's summary is a Group (tables and a note): each table stays a table, text stays text."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title="train: held-out eval")
    table.add_column("objective")
    table.add_row("mlm")
    md = stage_markdown("train", {"counters": {"steps.completed": 300}}, Group(table, Text("5% held out")))
    assert "#### train: held-out eval\n\n| objective |\n|---|\n| mlm |" in md
    assert "```text\n5% held out\n```" in md
    assert summary_line({"steps.completed": 300, "tokens.trained": 12345}) == "steps.completed 300, tokens.trained 12,345"
