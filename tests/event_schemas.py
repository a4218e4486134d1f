"""Validate bus events against events/schemas (JSON Schema 2020-12, with their relative $refs)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "events" / "schemas"
BY_TYPE = {
    "Moderation Decision": "moderation-decision.schema.json",
    "Moderation Escalation": "moderation-escalation.schema.json",
    "Account Escalation": "account-escalation.schema.json",
}


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(schema)))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def validate_event(detail_type: str, detail: Any) -> None:
    """Raise jsonschema.ValidationError unless ``detail`` matches its detail-type's schema."""
    if detail_type not in BY_TYPE:
        raise AssertionError(f"no schema for detail-type {detail_type!r}")
    _validator(BY_TYPE[detail_type]).validate(detail)
