"""Runner options for local / Dataflow / Flink / Spark, graph serialization under each runner, and the
dry run (pipeline built and described, nothing run, nothing marked done)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)

from flows.config import Config, load_config
from flows.stage_runner import Product, dry_run, marker_path, run_beam, run_stage, runner_spec
from pipelines.runners import (
    RunnerOptionsError,
    RunnerSpec,
    format_graph,
    pipeline_args,
    pipeline_graph,
    pipeline_options,
    validated_options,
)
from pipelines.shards import WriteShards

SMALL = pa.schema(
    [pa.field("rid", pa.string(), nullable=False), pa.field("lang", pa.string()), pa.field("x", pa.int64())],
    metadata={b"xlcorpus.schema": b"small", b"xlcorpus.schema_version": b"1"},
)

DATAFLOW = {
    "project": "my-project",
    "region": "europe-west4",
    "temp_location": "gs://my-bucket/tmp",
    "staging_location": "gs://my-bucket/staging",
    "service_account_email": "runner@my-project.iam.gserviceaccount.com",
    "machine_type": "n2-standard-8",
    "max_num_workers": 50,
    "sdk_container_image": "europe-docker.pkg.dev/my-project/xl/xlcorpus-beam:0.1.0",
}


def test_local_one_and_many_workers():
    one = pipeline_options(RunnerSpec(kind="local", workers=1), "j")
    assert one.view_as(StandardOptions).runner == "FnApiRunner"
    assert one.view_as(DirectOptions).direct_num_workers == 1
    many = pipeline_options(RunnerSpec(kind="local", workers=4), "j")
    assert many.view_as(DirectOptions).direct_running_mode == "multi_processing"
    assert many.view_as(DirectOptions).direct_num_workers == 4


def test_dataflow_every_option_from_config():
    cfg = Config.model_validate({"runner": {"kind": "dataflow", "dataflow": DATAFLOW, "extra_args": ["--experiments=x"]}})
    args = pipeline_args(runner_spec(cfg), "xlcorpus-mono-1234")
    opts = validated_options(runner_spec(cfg), "xlcorpus-mono-1234")  # Beam's own validator accepts them
    gc = opts.view_as(GoogleCloudOptions)
    assert opts.view_as(StandardOptions).runner == "DataflowRunner"
    assert (gc.project, gc.region, gc.temp_location, gc.staging_location) == (
        "my-project", "europe-west4", "gs://my-bucket/tmp", "gs://my-bucket/staging")
    assert gc.service_account_email == DATAFLOW["service_account_email"]
    assert gc.job_name == "xlcorpus-mono-1234"
    w = opts.view_as(WorkerOptions)
    assert (w.machine_type, w.max_num_workers, w.sdk_container_image) == ("n2-standard-8", 50, DATAFLOW["sdk_container_image"])
    # A custom container already holds the package: the SDK must not be staged from this machine.
    assert "--sdk_location=container" in args and opts.view_as(SetupOptions).sdk_location == "container"
    assert opts.view_as(SetupOptions).save_main_session is False
    assert args[-1] == "--experiments=x"


@pytest.mark.parametrize(
    "spec,runner,key,value",
    [
        (RunnerSpec(kind="flink", flink_master="flink-jm:8081"), "FlinkRunner", "flink_master", "flink-jm:8081"),
        (RunnerSpec(kind="flink", job_endpoint="localhost:8099"), "PortableRunner", "job_endpoint", "localhost:8099"),
        (RunnerSpec(kind="spark", spark_master_url="spark://sm:7077"), "SparkRunner", "spark_master_url", "spark://sm:7077"),
        (RunnerSpec(kind="spark", job_endpoint="localhost:8099"), "PortableRunner", "job_endpoint", "localhost:8099"),
    ],
)
def test_flink_and_spark_master_vs_job_endpoint(spec, runner, key, value):
    spec.environment_type = "DOCKER"
    spec.sdk_container_image = "registry/xlcorpus-beam:0.1.0"
    opts = validated_options(spec, "xlcorpus-wiki-1")
    assert opts.view_as(StandardOptions).runner == runner
    assert opts.get_all_options()[key] == value
    p = opts.view_as(PortableOptions)
    # The SDK container of docker/ becomes the workers' environment.
    assert (p.environment_type, p.environment_config) == ("DOCKER", "registry/xlcorpus-beam:0.1.0")


def test_job_endpoint_wins_over_master_and_config_maps_to_spec():
    cfg = Config.model_validate({"runner": {"kind": "spark", "spark": {
        "master": "spark://sm:7077", "job_endpoint": "js:8099", "environment_type": "LOOPBACK"}}})
    args = pipeline_args(runner_spec(cfg), "j")
    assert "--runner=PortableRunner" in args and "--job_endpoint=js:8099" in args
    assert "--environment_type=LOOPBACK" in args and not any(a.startswith("--spark_master_url") for a in args)


@pytest.mark.parametrize(
    "runner,section,fields",
    [
        ("dataflow", {}, ["runner.dataflow.project", "runner.dataflow.region", "runner.dataflow.temp_location"]),
        ("dataflow", {"project": "p", "region": "r"}, ["runner.dataflow.temp_location"]),
        ("flink", {}, ["runner.flink.master", "runner.flink.job_endpoint"]),
        ("spark", {}, ["runner.spark.master", "runner.spark.job_endpoint"]),
    ],
)
def test_missing_option_names_the_config_field(runner, section, fields):
    cfg = Config.model_validate({"runner": {"kind": runner, runner: section}})
    with pytest.raises(RunnerOptionsError) as e:
        pipeline_args(runner_spec(cfg), "j")
    for f in fields:
        assert f in str(e.value)
    for given in section:  # only what is missing is named
        assert f"runner.{runner}.{given}" not in str(e.value)


def test_beam_validation_becomes_runner_options_error():
    spec = RunnerSpec(kind="dataflow", project="my-project", region="r", temp_location="/local/not/gcs")
    with pytest.raises(RunnerOptionsError, match="temp_location"):
        validated_options(spec, "j")


def _small_pipeline(options, out_dir: str):
    p = beam.Pipeline(options=options)
    rows = [{"rid": f"r{i}", "lang": "eng_Latn" if i % 2 else "deu_Latn", "x": i} for i in range(6)]
    _ = (
        p
        | "Create" >> beam.Create(rows)
        | "Square" >> beam.Map(lambda r: {**r, "x": r["x"] * r["x"]})
        | "WriteShards" >> WriteShards(out_dir, SMALL, lambda r: r["lang"], "rid")
    )
    return p


@pytest.mark.parametrize(
    "spec,image",
    [
        (RunnerSpec(kind="local", workers=2), None),
        (RunnerSpec(kind="dataflow", **DATAFLOW), DATAFLOW["sdk_container_image"]),
        (RunnerSpec(kind="flink", flink_master="jm:8081", environment_type="LOOPBACK"), None),
        (RunnerSpec(kind="flink", job_endpoint="js:8099", environment_type="DOCKER", sdk_container_image="img:1"), "img:1"),
        (RunnerSpec(kind="spark", spark_master_url="spark://sm:7077", environment_type="DOCKER",
                    sdk_container_image="img:2"), "img:2"),
        (RunnerSpec(kind="spark", job_endpoint="js:8099", environment_type="EXTERNAL", environment_config="pool:50000"),
         None),
    ],
    ids=["local", "dataflow", "flink-master", "flink-endpoint", "spark-master", "spark-endpoint"],
)
def test_graph_serializes_under_each_runner(tmp_path, spec, image):
    from apache_beam.portability.api import beam_runner_api_pb2

    options = validated_options(spec, "xlcorpus-test-1")
    out_dir = str(tmp_path / "never-written")
    p = _small_pipeline(options, out_dir)
    proto = p.to_runner_api()
    again = beam_runner_api_pb2.Pipeline.FromString(proto.SerializeToString())
    assert again == proto
    names = {t.unique_name for t in proto.components.transforms.values()}
    assert {"Create", "Square", "WriteShards", "WriteShards/GroupShard"} <= names
    graph = pipeline_graph(p, options)
    assert [t["name"] for t in graph["transforms"]] == ["Create", "Square", "WriteShards"]
    assert graph["runner"] == options.view_as(StandardOptions).runner
    if image:
        assert image in [e.get("image") for e in graph["environments"].values()]
    lines = format_graph(graph, depth=2)
    assert lines[0].startswith("Create") and any(line.strip().startswith("GroupShard") for line in lines)
    assert not os.path.exists(out_dir)  # serializing runs nothing


def _cfg(tmp_path, **runner) -> Config:
    return load_config(None, {"out": str(tmp_path / "out"), "runner": runner or {"kind": "local"}})


def _stage_body(cfg: Config, n: int):
    def body(staging: str) -> dict[str, int]:
        rows = [{"rid": f"r{i:03d}", "lang": "eng_Latn", "x": i} for i in range(n)]

        def build(p):
            _ = (p | beam.Create(rows) | WriteShards(os.path.join(staging, "small"), SMALL, lambda r: r["lang"], "rid"))

        run_beam(cfg, "small", build)
        return {"rows.read": n, "rows.kept": n}

    return body


def test_dry_run_describes_and_marks_nothing(tmp_path):
    cfg = _cfg(tmp_path, kind="dataflow", dataflow=DATAFLOW)
    graphs = tmp_path / "graphs"
    with dry_run(str(graphs)) as plan:
        report = run_stage(cfg, "small", {"n": 5}, {}, [Product("small", SMALL)], _stage_body(cfg, 5))
    assert report.extra == {"dry_run": True, "pipeline": True, "up_to_date": False}
    graph = json.loads((graphs / "small.graph.json").read_text())
    assert graph["runner"] == "DataflowRunner" and graph["stage"] == "small"
    assert graph["pipeline_args"]["project"] == "my-project"
    assert DATAFLOW["sdk_container_image"] in [e.get("image") for e in graph["environments"].values()]
    assert plan.files["small"] == str(graphs / "small.graph.json")
    assert not (tmp_path / "out").exists()  # no marker, no staging, no product


def test_dry_run_reports_up_to_date_stage(tmp_path):
    cfg = _cfg(tmp_path)
    done = run_stage(cfg, "small", {"n": 3}, {}, [Product("small", SMALL)], _stage_body(cfg, 3))
    marker = open(marker_path(cfg, "small")).read()
    with dry_run(str(tmp_path / "graphs")):
        dry = run_stage(cfg, "small", {"n": 3}, {}, [Product("small", SMALL)], _stage_body(cfg, 3))
        changed = run_stage(cfg, "small", {"n": 4}, {}, [Product("small", SMALL)], _stage_body(cfg, 4))
    assert not done.skipped and dry.extra["up_to_date"] and not changed.extra["up_to_date"]
    assert open(marker_path(cfg, "small")).read() == marker  # the dry run left the marker alone


def test_cli_dry_run_builds_the_mono_graph_for_dataflow(tmp_path):
    """`xlcorpus build --dry-run` on the real mono stage: options validated, graph printed and written,
    nothing run, submitted or marked done; a non-Beam stage is listed, not run; a stage that needs an
    earlier stage's outputs is listed as not built."""
    import yaml
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.demo.crawl import make_section

    section = make_section(tmp_path / "data")
    section["neardup"] = {"enabled": False}  # a 130-step subgraph: slow to build, nothing more to show
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({**section, "out": "out", "stages": ["mono", "tokenizer", "encode"],
                                   "runner": {"kind": "dataflow", "dataflow": DATAFLOW}}))
    res = CliRunner().invoke(app, ["build", "--config", str(cfg), "--dry-run"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    graph = json.loads((out / "_dryrun" / "mono.graph.json").read_text())
    top = [t["name"] for t in graph["transforms"]]
    assert {"StageFiles", "GroupLineKeys", "CompactDocuments", "CompactRejects"} <= set(top)
    assert graph["runner"] == "DataflowRunner" and graph["pipeline_args"]["sdk_location"] == "container"
    assert "mono: pipeline built" in res.output and "DataflowRunner" in res.output and "StageFiles" in res.output
    # tokenizer and encode read outputs of earlier stages, which a dry run does not produce: listed with the reason.
    flat = " ".join(res.output.split())
    assert "tokenizer: not built (needs outputs of an earlier stage)" in flat
    assert "encode: not built (needs outputs of an earlier stage)" in flat
    assert sorted(p.name for p in out.iterdir()) == ["_dryrun"]  # no marker, no staging, no product


# --- shipping the code to remote workers ----------------------------------------------------------------


def _setup_file(args: list[str]) -> str | None:
    found = [a.split("=", 1)[1] for a in args if a.startswith("--setup_file=")]
    return found[0] if found else None


@pytest.mark.parametrize(
    "spec",
    [
        RunnerSpec(kind="dataflow", project="my-project", region="europe-west4", temp_location="gs://my-bucket/tmp",
                   staging_location="gs://my-bucket/staging"),
        RunnerSpec(kind="flink", flink_master="jm:8081"),
        RunnerSpec(kind="flink", job_endpoint="js:8099", environment_type="DOCKER"),
        RunnerSpec(kind="spark", spark_master_url="spark://sm:7077", environment_type="PROCESS",
                   environment_config='{"command": "/opt/apache/beam/boot"}'),
        RunnerSpec(kind="spark", job_endpoint="js:8099"),
    ],
    ids=["dataflow", "flink-master", "flink-docker", "spark-process", "spark-endpoint"],
)
def test_remote_kinds_ship_the_worker_package(spec):
    args = pipeline_args(spec, "j")
    setup = _setup_file(args)
    assert setup and setup.endswith("setup.py") and os.path.isfile(setup)
    assert validated_options(spec, "j").view_as(SetupOptions).setup_file == setup  # Beam takes it as given


@pytest.mark.parametrize(
    "spec",
    [
        RunnerSpec(kind="local", workers=2),
        RunnerSpec(kind="dataflow", **DATAFLOW),  # the custom image holds the code
        RunnerSpec(kind="flink", job_endpoint="js:8099", environment_type="EXTERNAL", environment_config="pool:1"),
        RunnerSpec(kind="spark", job_endpoint="js:8099", environment_type="LOOPBACK"),
        RunnerSpec(kind="flink", flink_master="jm:8081", extra_args=["--extra_package=dist/mine.tar.gz"]),
        RunnerSpec(kind="flink", flink_master="jm:8081", ship_code=False),
    ],
    ids=["local", "dataflow-image", "external-pool", "loopback", "own-package", "off"],
)
def test_no_worker_package_where_the_workers_have_the_code(spec):
    assert _setup_file(pipeline_args(spec, "j")) is None


def test_worker_package_sdist_holds_pipelines_and_schemas_only(tmp_path):
    """Beam's own stager builds the generated setup.py into the sdist that workers install: it holds
    every module of pipelines/ and schemas/, nothing of flows/ or xlmodel/, and the pinned requirements."""
    import ast
    import importlib.metadata
    import sys
    import tarfile
    import tomllib

    from apache_beam.runners.portability.stager import Stager

    from pipelines.worker_package import (
        IN_SDK_CONTAINER,
        OPTIONAL_ON_WORKERS,
        WORKER_DISTRIBUTIONS,
        worker_requirements,
        worker_setup_file,
    )

    root = Path(__file__).resolve().parent.parent
    tarball = Stager._build_setup_package(worker_setup_file(), str(tmp_path), None)
    with tarfile.open(tarball) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        setup_py = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/setup.py"))).read().decode()
    want = {f.relative_to(root).as_posix() for pkg in ("pipelines", "schemas") for f in (root / pkg).rglob("*.py")
            if "__pycache__" not in f.parts}
    assert want <= names
    assert not [n for n in names if n.startswith(("flows/", "xlmodel/", "tests/"))]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    reqs = worker_requirements()
    assert reqs and all(r in declared for r in reqs) and repr(reqs) in setup_py  # the project's own pins
    assert not {r.split("==")[0] for r in reqs} & {"prefect", "torch", "typer", "apache-beam"}
    # Every third-party module pipelines/ and schemas/ import (also inside functions) comes from a
    # worker requirement, the SDK container, or the documented optional set.
    dist_of = importlib.metadata.packages_distributions()
    allowed = {d.lower() for d in (*WORKER_DISTRIBUTIONS, *OPTIONAL_ON_WORKERS, *IN_SDK_CONTAINER)}
    missing = set()
    for f in sorted(want):
        for node in ast.walk(ast.parse((root / f).read_text(encoding="utf-8"))):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for m in mods:
                top = m.split(".")[0]
                if top in sys.stdlib_module_names or top in ("pipelines", "schemas"):
                    continue
                dists = {d.lower() for d in dist_of.get(top, [top])}
                if not dists & allowed:
                    missing.add(f"{f}: {m} ({', '.join(sorted(dists))})")
    assert not missing, missing


def test_config_reference_lists_every_field(tmp_path):
    from flows.config.reference import main, reference, sections

    text = reference()
    for path, model in sections(Config):
        assert (f"### `{path}`" if path else "### top level") in text
        for name in model.model_fields:
            assert f"| `{name}` |" in text
    assert '| `kind` | "local" \\| "dataflow" \\| "flink" \\| "spark" | `"local"` |' in text
    assert "| `workers` | int | `1` | ≥ 1 |" in text
    main([str(tmp_path / "ref.md")])
    assert (tmp_path / "ref.md").read_text() == text


def test_docker_images_match_pinned_versions():
    """The SDK container's base must be Beam's image of exactly the installed Beam and Python; the
    trainer's base must carry the pinned torch; both images copy every package of the distribution."""
    import re
    import sys
    import tomllib
    from importlib.metadata import version

    root = Path(__file__).resolve().parent.parent
    beam_df = (root / "docker" / "Dockerfile").read_text()
    train_df = (root / "docker" / "Dockerfile.train").read_text()
    tag = re.search(r"^FROM apache/beam_python(\d+\.\d+)_sdk:(\S+)$", beam_df, re.M)
    assert tag, "docker/Dockerfile must start FROM apache/beam_python<X.Y>_sdk:<version>"
    assert tag[2] == beam.__version__ and tag[1] == f"{sys.version_info.major}.{sys.version_info.minor}"
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    pins = dict(re.match(r"([A-Za-z0-9_.-]+)==(\S+)", d).groups() for d in pyproject["project"]["dependencies"]
                if "==" in d)
    assert pins["apache-beam"] == beam.__version__
    assert f"torch=={pins['torch']}" in beam_df  # the CPU wheel installed before the package
    base = re.search(r"^ARG BASE_IMAGE=pytorch/pytorch:(\d+\.\d+\.\d+)-cuda[\d.]+-cudnn\d+-runtime$", train_df, re.M)
    assert base and base[1] == pins["torch"] == version("torch").split("+")[0]
    assert f"!= {pins['torch']}" in train_df  # the build fails if the base's torch differs from the pin
    for df in (beam_df, train_df):
        for pkg in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
            assert f"COPY {pkg.rstrip('*')}/ {pkg.rstrip('*')}/" in df
    # The SDK image keeps the base's boot entrypoint (workers start through it); the trainer's is torchrun.
    assert not [ln for ln in beam_df.splitlines() if ln.startswith(("ENTRYPOINT", "CMD"))]
    assert 'ENTRYPOINT ["/usr/local/bin/train-entry.sh"]' in train_df
    entry = (root / "docker" / "train-entry.sh").read_text()
    assert "torchrun" in entry and "-m xlmodel train" in entry
