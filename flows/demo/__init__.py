"""The bundled demo: generates a small multilingual crawl, wiki dump and parallel corpus from text
written for this project, plus a config that runs every stage on them."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_demo(data_dir: Path, out_dir: Path, workers: int = 1) -> Path:
    """Write the demo inputs under data_dir and a config (demo.yaml) whose outputs go to out_dir."""
    # Absolute, because the config's relative paths would be resolved against demo.yaml's own folder.
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    config: dict = {"out": str(Path(out_dir).resolve()), "runner": {"kind": "local", "workers": workers}}
    # Each generator writes its inputs and returns its config section(s).
    from flows.demo import sections

    for make in sections():
        config.update(make(data_dir))
    path = data_dir / "demo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=True, allow_unicode=True), encoding="utf-8")
    return path


DEMO_MODULES = ("crawl", "wiki", "parallel", "tokens", "train")


def sections():
    """Generators of the demo inputs, one per stage family: each module's
    ``make_section(data_dir) -> dict`` writes its inputs and returns its config section(s)."""
    import importlib

    return [importlib.import_module(f"flows.demo.{m}").make_section for m in DEMO_MODULES]
