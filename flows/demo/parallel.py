"""Demo inputs for the parallel part (not built yet)."""

from pathlib import Path


def make_section(data_dir: Path) -> dict:
    return {}
