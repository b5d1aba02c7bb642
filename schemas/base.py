"""Schema identity: every product schema carries its name and version in the schema metadata."""

from __future__ import annotations

import pyarrow as pa

SCHEMA_NAME_KEY = b"xlcorpus.schema"
SCHEMA_VERSION_KEY = b"xlcorpus.schema_version"


def with_identity(name: str, version: int, fields: list[pa.Field]) -> pa.Schema:
    """Build a schema whose metadata names the product and its version."""
    return pa.schema(fields, metadata={SCHEMA_NAME_KEY: name.encode(), SCHEMA_VERSION_KEY: str(version).encode()})


def schema_id(schema: pa.Schema) -> tuple[str, int]:
    """(name, version) of a product schema; raises ValueError for a schema without identity."""
    meta = schema.metadata or {}
    if SCHEMA_NAME_KEY not in meta or SCHEMA_VERSION_KEY not in meta:
        raise ValueError("schema has no xlcorpus identity metadata (name/version)")
    return meta[SCHEMA_NAME_KEY].decode(), int(meta[SCHEMA_VERSION_KEY].decode())


def conform(record: dict, schema: pa.Schema) -> dict:
    """Return the record restricted to the schema's fields (missing nullable fields → None).

    Raises KeyError naming the missing field when a non-nullable field is absent, so a stage that
    forgets a column fails at the record, not at write time with an opaque Arrow error.
    """
    out = {}
    for field in schema:
        if field.name in record:
            out[field.name] = record[field.name]
        elif field.nullable:
            out[field.name] = None
        else:
            raise KeyError(f"record lacks required field {field.name!r} of schema {schema_id(schema)[0]}")
    return out
