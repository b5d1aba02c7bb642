"""The code version of one stage: a hash of the modules that stage actually runs.

A stage's key must change when its code changes, and only then: editing the report must not rerun
mono on a whole crawl. So the version covers the stage's own module (flows/stages/<stage>.py), every
module of `pipelines`, `schemas` and `xlmodel` it imports (found by walking `import` statements with
`ast`, function-level imports included, transitively), the package `__init__`s those imports execute,
and schemas/manifest.py (the manifest format is part of every stage's output). Other `flows` modules
(CLI, report, demo, config models) are not followed: the config values a stage uses are in its key
already.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from pathlib import Path

# Packages whose modules are part of a stage's code version when the stage imports them.
TRACKED_PACKAGES = ("pipelines", "schemas", "xlmodel")
ALWAYS = ("schemas.manifest",)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def module_file(module: str, root: Path) -> Path | None:
    """The source file of a dotted module name under root (a module or a package's __init__)."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_tracked(module: str, own: str) -> bool:
    return module == own or module.split(".", 1)[0] in TRACKED_PACKAGES


def _imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Dotted names a module's source imports: `import a.b`, `from a import b` (b may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    with _PARSE_LOCK:  # CPython 3.11's parser is not safe in concurrent threads (stages run at once)
        tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


_PARSE_LOCK = threading.Lock()


def stage_modules(stage_module: str, root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """{module: file} of the stage module and everything tracked it imports, transitively."""
    found: dict[str, Path] = {}
    todo = [stage_module, *ALWAYS]
    while todo:
        module = todo.pop()
        if module in found or not _is_tracked(module, stage_module):
            continue
        path = module_file(module, root)
        if path is None:  # `from pkg import name` where name is not a module, or a third-party module
            continue
        found[module] = path
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages' __init__ run too
        todo += _imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    return dict(sorted(found.items()))


def code_hash(stage_module: str, root: Path = PROJECT_ROOT) -> str:
    """12 hex digits over the (relative path, bytes) of every module the stage runs."""
    h = hashlib.sha256()
    for _module, path in stage_modules(stage_module, root).items():
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:12]
