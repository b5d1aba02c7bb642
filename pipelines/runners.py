"""Beam PipelineOptions for each supported runner, built from plain values (no Prefect, no pydantic).

local    : Beam's in-process FnApiRunner (no Prism download, works offline); N workers → multi_processing.
dataflow : DataflowRunner; needs project, region, temp_location (gs://); optional SDK container image.
flink    : FlinkRunner against a Flink master (host:port) or PortableRunner with a job endpoint.
spark    : SparkRunner against a Spark master, or PortableRunner with a job endpoint.
"""

from __future__ import annotations

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
                f"runner 'dataflow' needs {', '.join(missing)}: set runner.dataflow {'/'.join(missing)} in the config"
            )
        args += [
            "--runner=DataflowRunner",
            f"--project={spec.project}",
            f"--region={spec.region}",
            f"--temp_location={spec.temp_location}",
            f"--job_name={job_name}",
            "--save_main_session=false",
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
            raise RunnerOptionsError("runner 'flink' needs flink_master (host:port) or job_endpoint in the config")
        args.append(f"--job_name={job_name}")
    elif spec.kind == "spark":
        if spec.job_endpoint:
            args += ["--runner=PortableRunner", f"--job_endpoint={spec.job_endpoint}"]
        elif spec.spark_master_url:
            args += ["--runner=SparkRunner", f"--spark_master_url={spec.spark_master_url}"]
        else:
            raise RunnerOptionsError("runner 'spark' needs spark_master_url or job_endpoint in the config")
        args.append(f"--job_name={job_name}")
    if spec.kind in ("flink", "spark"):
        if spec.environment_type:
            args.append(f"--environment_type={spec.environment_type}")
        if spec.environment_config:
            args.append(f"--environment_config={spec.environment_config}")
        elif spec.sdk_container_image and spec.environment_type in (None, "DOCKER"):
            args.append(f"--environment_config={spec.sdk_container_image}")
    return args + list(spec.extra_args)


def pipeline_options(spec: RunnerSpec, job_name: str) -> PipelineOptions:
    return PipelineOptions(pipeline_args(spec, job_name))
