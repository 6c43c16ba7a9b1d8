"""The instance JSON Schema, generated from the declarations in :mod:`optimizer.instance.schema`.

Published as ``docs/instance.schema.json`` and printed by ``dcplan schema``. The generated
schema is pydantic's, adjusted to what the loader really accepts (integer identifiers) and
with the identifier pattern pydantic leaves out.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from optimizer.instance import schema
from optimizer.instance.schema import Instance


def _pattern_of(cs: Any) -> str | None:
    """The string pattern somewhere inside a pydantic core schema, if any."""
    if isinstance(cs, dict):
        if cs.get("type") == "str" and cs.get("pattern"):
            pattern: str = cs["pattern"]  # a str schema's pattern is its regular expression, as text
            return pattern
        for key in ("schema", "steps"):
            sub = cs.get(key)
            for s in sub if isinstance(sub, list) else [sub]:
                found = _pattern_of(s)
                if found:
                    return found
    return None


class _InputSchema(GenerateJsonSchema):
    """Schema of the input as the loader reads it (identifiers may be integers)."""

    def function_before_schema(self, cs: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        js = super().function_before_schema(cs)
        if cs.get("function", {}).get("function") is schema._to_id:
            return {"anyOf": [js, {"type": "integer", "minimum": 0}]}
        return js

    def chain_schema(self, cs: core_schema.ChainSchema) -> JsonSchemaValue:
        js = super().chain_schema(cs)
        pattern = next((p for p in map(_pattern_of, cs["steps"][1:]) if p), None)
        if pattern:
            for branch in js.get("anyOf", [js]):
                if branch.get("type") == "string":
                    branch["pattern"] = pattern
        return js


def instance_json_schema() -> dict[str, Any]:
    """``Instance.model_json_schema()``, with identifiers also accepting integers.

    YAML reads ``2026`` as an integer and the loader accepts it as the identifier '2026'
    (``schema._to_id``); the schema says so, so editors do not flag ``id: 2026``. The
    identifier pattern, which pydantic leaves out of the generated schema, is put back.
    """
    out = Instance.model_json_schema(schema_generator=_InputSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **out}


def schema_text() -> str:
    """The instance JSON Schema as indented JSON text (ending in a newline)."""
    return json.dumps(instance_json_schema(), indent=2, ensure_ascii=False) + "\n"
