"""Which failures of a stage are worth retrying: typed transient runner errors.

A stage is retried (per `orchestration.retry` / `orchestration.stage_retry` in the config) only when
it failed with a TransientRunnerError: the runner could not take the job, lost a worker, or a
network filesystem timed out — failures that a second try of the same job can get past. run_beam maps the
runner exceptions it can recognise *by type* onto these classes:

| raised by the runner                                     | becomes            |
|----------------------------------------------------------|--------------------|
| grpc.FutureTimeoutError (job service did not answer)     | JobSubmissionError |
| grpc.RpcError UNAVAILABLE / DEADLINE_EXCEEDED / ABORTED / RESOURCE_EXHAUSTED, while submitting | JobSubmissionError |
| the same, while the job runs                             | WorkerLostError    |
| apitools HttpError 408 / 429 / 5xx (Dataflow API)        | JobSubmissionError |
| ConnectionError, TimeoutError (network filesystems)      | TransientIOError   |

Preemption of a Dataflow/Flink/Spark worker is retried by the runner itself (it reruns the lost
work items); if the whole job fails after that, it fails as a job failure (not retried here).

Everything else — and above all the errors a user can fix (ConfigError, InputError, bad runner
options, a full disk), which fail at once with their one-line message — is never retried. A
failed job whose cause the runner reports only as text (Dataflow's DataflowRuntimeException, a
portable job in state FAILED) is not retried either: that text is not a type, and guessing from it
would retry user errors.
"""

from __future__ import annotations

from flows.errors import exception_chain


class TransientRunnerError(RuntimeError):
    """A stage failure that the same job may get past on a second try."""

    kind = "transient"


class JobSubmissionError(TransientRunnerError):
    """The runner (job service, Dataflow API) did not accept the job."""

    kind = "job submission failed"


class WorkerLostError(TransientRunnerError):
    """A worker (process, VM, gRPC peer) went away while the job ran."""

    kind = "worker lost"


class TransientIOError(TransientRunnerError):
    """A network filesystem dropped a connection or timed out."""

    kind = "transient I/O"


def _grpc_transient(exc: BaseException) -> bool:
    try:
        import grpc
    except ImportError:
        return False
    if isinstance(exc, grpc.FutureTimeoutError):
        return True
    if isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None)):
        return exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                              grpc.StatusCode.ABORTED, grpc.StatusCode.RESOURCE_EXHAUSTED)
    return False


def _http_transient(exc: BaseException) -> bool:
    try:
        from apitools.base.py.exceptions import HttpError  # only with apache-beam[gcp]
    except ImportError:
        return False
    return isinstance(exc, HttpError) and (exc.status_code in (408, 429) or exc.status_code >= 500)


def transient_error(exc: BaseException, submitted: bool, stage: str) -> TransientRunnerError | None:
    """The typed transient error behind `exc` (searched along its cause chain), or None.

    submitted: whether the runner had accepted the job when exc was raised (decides between a
    submission failure and a lost worker).
    """
    from flows.errors import user_errors

    for e in exception_chain(exc):
        if isinstance(e, TransientRunnerError):
            return e
        if isinstance(e, user_errors()):
            return None  # a user error wrapped in a runner error stays a user error
        cls: type[TransientRunnerError] | None = None
        if _grpc_transient(e):
            cls = WorkerLostError if submitted else JobSubmissionError
        elif _http_transient(e):
            cls = JobSubmissionError
        elif isinstance(e, (ConnectionError, TimeoutError)):
            cls = TransientIOError
        if cls is not None:
            err = cls(f"[{stage}] {cls.kind}: {type(e).__name__}: {e}".rstrip(": "))
            err.__cause__ = exc
            return err
    return None


def is_transient(exc: BaseException) -> bool:
    return any(isinstance(e, TransientRunnerError) for e in exception_chain(exc))


def retry_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry a stage task only for a TransientRunnerError."""
    try:
        state.result()
    except BaseException as e:  # noqa: BLE001 — we only classify; Prefect re-raises on its own
        return is_transient(e)
    return False
