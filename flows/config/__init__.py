"""One pydantic config tree, loaded from YAML; CLI flags override single values.

Each stage owns its section model in ``flows/config/<stage>.py``. The resolved config and its hash
are written next to the outputs (OUT/config.resolved.json).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.config.encode import EncodeConfig
from flows.config.languages import check_language, check_languages, registered_subtags
from flows.config.mono import MonoConfig
from flows.config.neardup import NearDupConfig
from flows.config.orchestration import OrchestrationConfig
from flows.config.output import OutputConfig
from flows.config.parallel import ParallelConfig
from flows.config.tokenizer import TokenizerConfig
from flows.config.train import TrainConfig, length_problem
from flows.config.wiki import WikiConfig

__all__ = ["check_language", "registered_subtags"]  # re-exported: the one language check

STAGE_ORDER = ("mono", "wiki", "parallel", "tokenizer", "encode", "train")


class ConfigError(ValueError):
    """A config the user can fix: the message says which file/field and what to do."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataflowConfig(Strict):
    project: str | None = Field(None, description="GCP project id (required for dataflow)")
    region: str | None = Field(None, description="Dataflow region, e.g. europe-west4 (required for dataflow)")
    temp_location: str | None = Field(None, description="gs:// folder for temporary files (required for dataflow)")
    staging_location: str | None = Field(None, description="gs:// folder for staged files; default temp_location")
    service_account_email: str | None = Field(None, description="worker service account")
    machine_type: str | None = Field(None, description="worker machine type, e.g. n2-standard-8")
    max_num_workers: int | None = Field(None, description="autoscaling limit")
    sdk_container_image: str | None = Field(
        None, description="custom SDK container (docker/Dockerfile); the SDK is then not staged"
    )


class PortableConfig(Strict):
    master: str | None = Field(None, description="Flink master host:port or Spark master URL")
    job_endpoint: str | None = Field(None, description="Beam job server endpoint (PortableRunner)")
    environment_type: str | None = Field(None, description="DOCKER | PROCESS | EXTERNAL | LOOPBACK")
    environment_config: str | None = Field(None, description="container image / process command / worker pool address")
    sdk_container_image: str | None = Field(
        None, description="SDK container for DOCKER environments when environment_config is unset"
    )


class RunnerConfig(Strict):
    kind: Literal["local", "dataflow", "flink", "spark"] = Field("local", description="where Beam pipelines run")
    workers: int = Field(1, ge=1, description="local: worker processes (multi_processing when > 1)")
    dataflow: DataflowConfig = DataflowConfig()
    flink: PortableConfig = PortableConfig()
    spark: PortableConfig = PortableConfig()
    extra_args: list[str] = Field(default_factory=list, description="extra Beam pipeline arguments")


class Config(Strict):
    out: str = Field("out", description="output root: local path or gs:// / s3:// URI")
    seed: int = Field(0, description="seed of every sampling decision (part of each stage key)")
    languages: list[str] = Field(
        default_factory=list, description="training language set (xxx_Scrp); empty = every language found"
    )
    stages: list[str] = Field(default_factory=lambda: list(STAGE_ORDER), description="stages to run, in order")
    runner: RunnerConfig = RunnerConfig()
    output: OutputConfig = OutputConfig()
    orchestration: OrchestrationConfig = OrchestrationConfig()
    mono: MonoConfig = MonoConfig()
    neardup: NearDupConfig = NearDupConfig()
    wiki: WikiConfig = WikiConfig()
    parallel: ParallelConfig = ParallelConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    encode: EncodeConfig = EncodeConfig()
    train: TrainConfig = TrainConfig()

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        # Checked at load time so a typo fails before hours of crawling, not as an empty language.
        return check_languages(v)


def canonical_json(obj) -> str:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(obj) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]


def _set_dotted(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for i, k in enumerate(keys[:-1]):
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise ConfigError(f"--set {dotted}={_show(value)}: {'.'.join(keys[:i + 1])} is not a section "
                              "(it holds a value), so it has no field " + repr(keys[i + 1]))
    d[keys[-1]] = value


def _show(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _read_yaml(p: Path) -> tuple[dict, yaml.Node | None]:
    """The mapping of a YAML file and its node tree (for line numbers); ConfigError with file:line:col."""
    text = p.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None)
        raise ConfigError(f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")) from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{p} must hold a mapping of config sections at the top level")
    return raw, node


def _yaml_position(node: yaml.Node | None, loc: tuple) -> str:
    """'line:column' of the deepest YAML node along a pydantic error location ('' when not in the file)."""
    found = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        found = node
    if found is None:
        return ""
    return f"{found.start_mark.line + 1}:{found.start_mark.column + 1}"


def _field_names_at(loc: tuple) -> list[str]:
    """Field names of the config model that holds loc's last part (for 'did you mean')."""
    import typing

    model: type[BaseModel] | None = Config
    keyed = False  # the previous field was a dict or list: this part is its key / index
    for part in loc[:-1]:
        if keyed:
            keyed = False
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        ann = model.model_fields[part].annotation
        keyed = typing.get_origin(ann) in (dict, list)
        args = [a for a in typing.get_args(ann) if isinstance(a, type)] or [ann]
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(model.model_fields) if model is not None else []


_UNION_TAGS = re.compile(r"^(str|int|float|bool|none|[A-Z]\w*|.*[\[(].*)$")


def _clean_loc(loc: tuple) -> tuple:
    """A pydantic location without the union-member tags (`str`, `ParallelInput`, `function-after[…]`)
    that name which alternative failed: config field names are snake_case, so these never clash."""
    return tuple(x for x in loc if not (isinstance(x, str) and _UNION_TAGS.match(x)))


def _specific_errors(errors: list[dict]) -> list[dict]:
    """Drop an error of a union alternative when another alternative failed deeper (`inputs.0` is not
    a string *and* `inputs.0.src_lang` is bad: only the second says something)."""
    locs = [_clean_loc(tuple(e["loc"])) for e in errors]
    return [e for e, loc in zip(errors, locs, strict=True)
            if not any(len(other) > len(loc) and other[:len(loc)] == loc for other in locs)]


def _describe_error(err: dict) -> str:
    import difflib

    loc = _clean_loc(tuple(err["loc"]))
    dotted = ".".join(str(x) for x in loc)
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _field_names_at(loc), n=1) if loc else []
        return f"unknown field {dotted!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    msg = err["msg"].removeprefix("Value error, ")
    return f"{dotted}: {msg}" if dotted else msg


def _override_for(loc: tuple, overrides: dict[str, object]) -> str | None:
    dotted = ".".join(str(x) for x in loc)
    for key in overrides:
        if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
            return key
    return None


def load_config(path: str | Path | None = None, overrides: dict[str, object] | None = None) -> Config:
    """Load a YAML config (or defaults), apply dotted overrides, validate. Raises ConfigError.

    Every error names where it comes from: `file:line:column` for the YAML file, `--set key=value`
    for an override (CLI flags are overrides too: --workers sets runner.workers).
    """
    raw: dict = {}
    node = None
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (pass an existing YAML file to --config)")
        raw, node = _read_yaml(p)
        # Relative input paths in a config file are relative to the file, so configs are portable.
        raw.setdefault("_base_dir", str(p.parent.resolve()))
    base_dir = raw.pop("_base_dir", None)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    for k, v in given.items():
        _set_dotted(raw, k, v)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        lines = []
        for err in _specific_errors(e.errors()):
            key = _override_for(_clean_loc(tuple(err["loc"])), given)
            if key is not None:
                where = f"--set {key}={_show(given[key])}"
            elif path is not None:
                pos = _yaml_position(node, _clean_loc(tuple(err["loc"])))
                where = f"{path}:{pos}" if pos else str(path)
            else:
                where = "defaults"
            lines.append(f"{where}: {_describe_error(err)}")
        raise ConfigError("invalid config: " + "; ".join(lines)) from e
    unknown = [s for s in cfg.stages if s not in STAGE_ORDER]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}: choose from {', '.join(STAGE_ORDER)}")
    problem = length_problem(cfg)  # train.seq_len against encode's limits: fail before any stage runs
    if problem:
        raise ConfigError(problem)
    if base_dir:
        cfg = resolve_paths(cfg, Path(base_dir))
    return cfg


def _resolve(p: str, base: Path) -> str:
    if "://" in p or Path(p).is_absolute():
        return p
    return str((base / p).resolve())


def resolve_paths(cfg: Config, base: Path) -> Config:
    """Make relative input/output paths of a config file relative to the file's folder."""
    data = cfg.model_dump()
    data["out"] = _resolve(data["out"], base)

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("inputs", "input_paths") and isinstance(v, list):
                    node[k] = [_resolve(x, base) if isinstance(x, str) else walk(x) for x in v]
                elif k.endswith("_path") and isinstance(v, str) and v:
                    node[k] = _resolve(v, base)
                else:
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)
        return node

    walk(data)
    return Config.model_validate(data)
