"""Beam PipelineOptions for each supported runner, built from plain values (no Prefect, no pydantic).

local    : Beam's in-process FnApiRunner (no Prism download, works offline); N workers → multi_processing.
dataflow : DataflowRunner; needs project, region, temp_location (gs://); optional SDK container image.
flink    : FlinkRunner against a Flink master (host:port) or PortableRunner with a job endpoint.
spark    : SparkRunner against a Spark master, or PortableRunner with a job endpoint.

Remote workers get the project's code without a custom image: `--setup_file` of a generated worker
package (pipelines + schemas, pipelines/worker_package.py) unless an SDK container image is given,
the workers bring their own environment (EXTERNAL worker pool, LOOPBACK), or extra_args already
ship code (--setup_file / --extra_package / --sdk_container_image).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from apache_beam.options.pipeline_options import PipelineOptions

RUNNER_KINDS = ("local", "dataflow", "flink", "spark")


class RunnerOptionsError(ValueError):
    """A runner was chosen without an option it cannot run without."""


@dataclass
class RunnerSpec:
    kind: str = "local"
    workers: int = 1
    # dataflow
    project: str | None = None
    region: str | None = None
    temp_location: str | None = None
    staging_location: str | None = None
    service_account_email: str | None = None
    machine_type: str | None = None
    max_num_workers: int | None = None
    sdk_container_image: str | None = None
    # flink / spark
    flink_master: str | None = None
    spark_master_url: str | None = None
    job_endpoint: str | None = None
    environment_type: str | None = None  # DOCKER | PROCESS | EXTERNAL | LOOPBACK
    environment_config: str | None = None
    extra_args: list[str] = field(default_factory=list)
    ship_code: bool = True  # remote kinds: pass --setup_file of the generated worker package (see module doc)


def pipeline_args(spec: RunnerSpec, job_name: str) -> list[str]:
    """Command-line style Beam arguments for the spec; raises RunnerOptionsError on a missing option."""
    if spec.kind not in RUNNER_KINDS:
        raise RunnerOptionsError(f"unknown runner {spec.kind!r}: choose one of {', '.join(RUNNER_KINDS)}")
    args: list[str] = []
    if spec.kind == "local":
        args.append("--runner=FnApiRunner")
        if spec.workers > 1:
            args += ["--direct_running_mode=multi_processing", f"--direct_num_workers={spec.workers}"]
    elif spec.kind == "dataflow":
        missing = [n for n in ("project", "region", "temp_location") if not getattr(spec, n)]
        if missing:
            raise RunnerOptionsError(
                f"runner 'dataflow' needs {', '.join(missing)}: set "
                + ", ".join(f"runner.dataflow.{n}" for n in missing) + " in the config"
            )
        args += [
            "--runner=DataflowRunner",
            f"--project={spec.project}",
            f"--region={spec.region}",
            f"--temp_location={spec.temp_location}",
            f"--job_name={job_name}",
            "--no_save_main_session",  # stages import their code; nothing to pickle from __main__
        ]
        if spec.staging_location:
            args.append(f"--staging_location={spec.staging_location}")
        if spec.service_account_email:
            args.append(f"--service_account_email={spec.service_account_email}")
        if spec.machine_type:
            args.append(f"--machine_type={spec.machine_type}")
        if spec.max_num_workers:
            args.append(f"--max_num_workers={spec.max_num_workers}")
        if spec.sdk_container_image:
            args += [f"--sdk_container_image={spec.sdk_container_image}", "--sdk_location=container"]
    elif spec.kind == "flink":
        if spec.job_endpoint:
            args += ["--runner=PortableRunner", f"--job_endpoint={spec.job_endpoint}"]
        elif spec.flink_master:
            args += ["--runner=FlinkRunner", f"--flink_master={spec.flink_master}"]
        else:
            raise RunnerOptionsError(
                "runner 'flink' needs a Flink master or a job endpoint: set runner.flink.master (host:port) "
                "or runner.flink.job_endpoint in the config"
            )
        args.append(f"--job_name={job_name}")
    elif spec.kind == "spark":
        if spec.job_endpoint:
            args += ["--runner=PortableRunner", f"--job_endpoint={spec.job_endpoint}"]
        elif spec.spark_master_url:
            args += ["--runner=SparkRunner", f"--spark_master_url={spec.spark_master_url}"]
        else:
            raise RunnerOptionsError(
                "runner 'spark' needs a Spark master or a job endpoint: set runner.spark.master (spark://host:port) "
                "or runner.spark.job_endpoint in the config"
            )
        args.append(f"--job_name={job_name}")
    if spec.kind in ("flink", "spark"):
        if spec.environment_type:
            args.append(f"--environment_type={spec.environment_type}")
        if spec.environment_config:
            args.append(f"--environment_config={spec.environment_config}")
        elif spec.sdk_container_image and spec.environment_type in (None, "DOCKER"):
            args.append(f"--environment_config={spec.sdk_container_image}")
    if needs_worker_package(spec):
        from pipelines.worker_package import worker_setup_file

        args.append(f"--setup_file={worker_setup_file()}")
    return args + list(spec.extra_args)


SHIPS_CODE = ("--setup_file", "--extra_package", "--extra_packages", "--sdk_container_image")
OWN_ENVIRONMENT = ("EXTERNAL", "LOOPBACK")  # the workers run where the code already is


def needs_worker_package(spec: RunnerSpec) -> bool:
    """Whether a run must ship the project's code to its workers (see the module doc)."""
    if spec.kind == "local" or not spec.ship_code or spec.sdk_container_image:
        return False
    if spec.kind in ("flink", "spark") and (spec.environment_type or "").upper() in OWN_ENVIRONMENT:
        return False
    return not any(a.split("=", 1)[0] in SHIPS_CODE for a in spec.extra_args)


def pipeline_options(spec: RunnerSpec, job_name: str) -> PipelineOptions:
    return PipelineOptions(pipeline_args(spec, job_name))


def validated_options(spec: RunnerSpec, job_name: str) -> PipelineOptions:
    """Options that Beam itself accepts for the chosen runner (bucket names, project ids, ...).

    Beam checks these when a Pipeline is constructed; doing it up front turns a traceback deep in a
    stage into one RunnerOptionsError before any stage runs.
    """
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
    from apache_beam.runners.runner import create_runner

    options = pipeline_options(spec, job_name)
    # Beam also logs each problem as a warning while validating; the error below already says it once.
    beam_log = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_log.level
    beam_log.setLevel(logging.ERROR)
    try:
        errors = PipelineOptionsValidator(options, create_runner(options.view_as(StandardOptions).runner)).validate()
    finally:
        beam_log.setLevel(level)
    if errors:
        raise RunnerOptionsError(f"runner {spec.kind!r}: Beam rejects the options: " + " ".join(errors))
    return options


def _default_environment(options: PipelineOptions):
    """The SDK environment the runner would give the workers (None: Beam's default container)."""
    from apache_beam.options.pipeline_options import PortableOptions, StandardOptions, WorkerOptions
    from apache_beam.transforms import environments

    runner = options.view_as(StandardOptions).runner
    if runner == "DataflowRunner":
        image = options.view_as(WorkerOptions).sdk_container_image
        return environments.DockerEnvironment.from_container_image(image) if image else None
    if runner in ("PortableRunner", "FlinkRunner", "SparkRunner"):
        return environments.Environment.from_options(options.view_as(PortableOptions))
    return None


def pipeline_graph(pipeline, options: PipelineOptions) -> dict:
    """Describe a built, not run, pipeline from its portable (Runner API) proto: the transform tree,
    PCollections and SDK environments — what a runner would receive on submission."""
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.portability.api import beam_runner_api_pb2

    proto = pipeline.to_runner_api(default_environment=_default_environment(options))
    comps = proto.components

    def node(tid: str) -> dict:
        t = comps.transforms[tid]
        return {
            "name": t.unique_name,
            "urn": t.spec.urn or "composite",
            "environment": t.environment_id or None,
            "inputs": sorted(t.inputs.values()),
            "outputs": sorted(t.outputs.values()),
            "parts": [node(s) for s in t.subtransforms],
        }

    envs = {}
    for eid, env in sorted(comps.environments.items()):
        desc = {"urn": env.urn}
        if env.urn == "beam:env:docker:v1":
            desc["image"] = beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
        envs[eid] = desc
    roots = [node(t) for t in proto.root_transform_ids]
    # Beam wraps everything in one unnamed root composite; show the user's transforms instead.
    top = [p for r in roots for p in (r["parts"] if not r["inputs"] and not r["outputs"] else [r])]
    return {
        "runner": options.view_as(StandardOptions).runner,
        "transforms": top,
        "leaf_transforms": sum(1 for t in comps.transforms.values() if not t.subtransforms),
        "pcollections": len(comps.pcollections),
        "environments": envs,
        "proto_bytes": len(proto.SerializeToString()),
    }


def format_graph(graph: dict, depth: int = 2) -> list[str]:
    """Indented lines of the transform tree down to `depth` levels (composites show their size)."""

    def leaves(n: dict) -> int:
        return 1 if not n["parts"] else sum(leaves(p) for p in n["parts"])

    lines: list[str] = []

    def walk(n: dict, level: int) -> None:
        label = n["name"].rsplit("/", 1)[-1]
        size = f"  ({leaves(n)} steps)" if n["parts"] else ""
        lines.append(f"{'  ' * level}{label}{size}")
        if level + 1 < depth:
            for p in n["parts"]:
                walk(p, level + 1)

    for t in graph["transforms"]:
        walk(t, 0)
    return lines


def check_submit_client(spec: RunnerSpec) -> None:
    """Fail early when this machine lacks the client libraries the runner submits with.

    DataflowRunner builds its job request with Beam's GCP extra (google-cloud / apitools); without
    it a build would get to its first Beam stage and end in an ImportError traceback.
    """
    if spec.kind != "dataflow":
        return
    try:
        from apache_beam.runners.dataflow.internal import apiclient  # noqa: F401
    except ImportError as e:
        raise RunnerOptionsError(
            f"runner 'dataflow' needs the Google Cloud client libraries on this machine ({e.name or e} is missing): "
            "pip install -e '.[dataflow]' (apache-beam[gcp]); `xlcorpus build --dry-run` works without them"
        ) from e
