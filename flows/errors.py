"""Errors a user can cause; the CLI prints them as one line and exits non-zero."""

from flows.config import ConfigError
from schemas.manifest import ManifestError


class InputError(ValueError):
    """An input file that cannot be read as what the config says it is."""


def user_errors() -> tuple[type[BaseException], ...]:
    from pipelines.runners import RunnerOptionsError

    return (ConfigError, ManifestError, InputError, RunnerOptionsError, FileNotFoundError)
