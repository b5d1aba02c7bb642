"""Markdown configuration reference, generated from the pydantic models (so it cannot drift).

    python -m flows.config.reference                          # print to stdout
    python -m flows.config.reference docs/configuration.md    # write the docs page

One table per section (top level, runner, runner.dataflow, mono, ...): field, type, default,
constraints and description, in declaration order.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from flows.config import Config


def type_name(tp: object) -> str:
    """Readable type: `int`, `str | None`, `list[str]`, `"local" | "dataflow"`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def _model_of(tp: object) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def default_text(f: FieldInfo) -> str:
    if f.default_factory is not None:
        value = f.default_factory()
    elif f.default is PydanticUndefined:
        return "*required*"
    else:
        value = f.default
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


_BOUNDS = ((at.Ge, "≥", "ge"), (at.Gt, ">", "gt"), (at.Le, "≤", "le"), (at.Lt, "<", "lt"),
           (at.MinLen, "min length", "min_length"), (at.MaxLen, "max length", "max_length"))


def constraints(f: FieldInfo) -> str:
    out = []
    for m in f.metadata:
        for cls, sign, attr in _BOUNDS:
            if isinstance(m, cls):
                out.append(f"{sign} {getattr(m, attr)}")
    return ", ".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sections(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type[BaseModel]]]:
    """(dotted path, model) of this model and every nested section model, depth first."""
    out = [(prefix, model)]
    for name, f in model.model_fields.items():
        sub = _model_of(f.annotation)
        if sub is not None:
            out += sections(sub, f"{prefix}.{name}" if prefix else name)
    return out


def section_table(path: str, model: type[BaseModel]) -> str:
    title = f"`{path}`" if path else "top level"
    lines = [f"### {title}", ""]
    doc = (model.__doc__ or "").strip()
    if doc and path and not doc.startswith(("Usage docs", "A base class")):
        lines += [doc.splitlines()[0], ""]
    lines += ["| field | type | default | constraints | description |", "|---|---|---|---|---|"]
    for name, f in model.model_fields.items():
        if _model_of(f.annotation) is not None:
            kind, desc = "section", f"see `{path + '.' if path else ''}{name}`"
        else:
            kind, desc = type_name(f.annotation), f.description or ""
        lines.append(f"| `{name}` | {_cell(kind)} | {_cell(default_text(f))} | {constraints(f)} | {_cell(desc)} |")
    return "\n".join(lines) + "\n"


def reference(model: type[BaseModel] = Config) -> str:
    head = ("# Configuration reference\n\n"
            "Use this page to look up any field of a YAML config: its section, type, default, constraints and\n"
            "meaning. A config holds these sections; `xlcorpus build --set section.field=value` overrides any\n"
            "field. Relative paths in a config file are relative to the file. Unknown fields are errors.\n\n"
            "This page is generated from the pydantic models (`flows/config/`) by\n"
            "`python -m flows.config.reference docs/configuration.md`; a test fails when it is stale.\n\n")
    return head + "\n".join(section_table(path, m) for path, m in sections(model))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = reference()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
