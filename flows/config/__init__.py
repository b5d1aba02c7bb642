"""One pydantic config tree, loaded from YAML; CLI flags override single values.

Each stage owns its section model in ``flows/config/<stage>.py``. The resolved config and its hash
are written next to the outputs (OUT/config.resolved.json).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.config.encode import EncodeConfig
from flows.config.mono import MonoConfig
from flows.config.neardup import NearDupConfig
from flows.config.parallel import ParallelConfig
from flows.config.tokenizer import TokenizerConfig
from flows.config.train import TrainConfig
from flows.config.wiki import WikiConfig

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


@functools.cache
def registered_subtags() -> tuple[frozenset[str], frozenset[str]]:
    """(ISO 639-3 languages, ISO 15924 scripts) from the IANA subtag registry shipped with `langcodes`."""
    from importlib.resources import files

    text = (files("langcodes") / "data" / "language-subtag-registry.txt").read_text(encoding="utf-8")
    from langcodes import Language

    langs, scripts = set(), set()
    for record in text.split("%%"):
        fields = dict(re.findall(r"^(Type|Subtag): (\S+)$", record, flags=re.M))
        sub = fields.get("Subtag", "")
        if fields.get("Type") == "language" and len(sub) == 3:
            langs.add(sub)
        elif fields.get("Type") == "language" and len(sub) == 2:  # BCP 47 prefers 'en' to 'eng'
            langs.add(Language.get(sub, normalize=False).to_alpha3())
        elif fields.get("Type") == "script":
            scripts.add(fields["Subtag"])
    return frozenset(langs), frozenset(scripts)


def check_language(code: str) -> str:
    """`code` if it is a known xxx_Scrp code (ISO 639-3 + ISO 15924), else ValueError saying what is wrong."""
    m = re.fullmatch(r"([a-z]{3})_([A-Z][a-z]{3})", code)
    if not m:
        raise ValueError(f"{code!r} is not a language code of the form xxx_Scrp (ISO 639-3 + script, e.g. eng_Latn)")
    langs, scripts = registered_subtags()
    if m[1] not in langs:
        raise ValueError(f"{code!r}: {m[1]!r} is not an ISO 639-3 language code")
    if m[2] not in scripts:
        raise ValueError(f"{code!r}: {m[2]!r} is not an ISO 15924 script code")
    return code


class Config(Strict):
    out: str = Field("out", description="output root: local path or gs:// / s3:// URI")
    seed: int = Field(0, description="seed of every sampling decision (part of each stage key)")
    languages: list[str] = Field(
        default_factory=list, description="training language set (xxx_Scrp); empty = every language found"
    )
    stages: list[str] = Field(default_factory=lambda: list(STAGE_ORDER), description="stages to run, in order")
    runner: RunnerConfig = RunnerConfig()
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
        return [check_language(c) for c in v]


def canonical_json(obj) -> str:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(obj) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]


def _set_dotted(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def load_config(path: str | Path | None = None, overrides: dict[str, object] | None = None) -> Config:
    """Load a YAML config (or defaults), apply dotted overrides, validate. Raises ConfigError."""
    raw: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (pass an existing YAML file to --config)")
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p} is not valid YAML: {e}") from e
        if not isinstance(raw, dict):
            raise ConfigError(f"{p} must hold a mapping of config sections at the top level")
        # Relative input paths in a config file are relative to the file, so configs are portable.
        raw.setdefault("_base_dir", str(p.parent.resolve()))
    base_dir = raw.pop("_base_dir", None)
    for k, v in (overrides or {}).items():
        if v is not None:
            _set_dotted(raw, k, v)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        where = f" in {path}" if path else ""
        lines = [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
        raise ConfigError(f"invalid config{where}: " + "; ".join(lines)) from e
    unknown = [s for s in cfg.stages if s not in STAGE_ORDER]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}: choose from {', '.join(STAGE_ORDER)}")
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
