"""The execute form of a process page: one field per input of the process description,
chosen from the input's JSON Schema (as ``ades.packages.schema`` writes it), with the HTML
constraints that schema implies. The same schema goes to the page's script, which
validates with it and builds the execute request, so the form and the API agree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The kinds of control a field is drawn as (form.js reads the value back by kind).
TEXT, NUMBER, INTEGER, SELECT, CHECKBOX, HREF, UNION, JSON = (
    "text", "number", "integer", "select", "checkbox", "href", "union", "json",
)  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One input of the form. ``repeated`` inputs take a list of values (a schema of type
    array, or ``maxOccurs`` above 1), each drawn as the item's control in a row."""

    id: str
    title: str
    description: str
    kind: str
    required: bool
    repeated: bool
    # The schema of one value (an array's items for a repeated field).
    schema: dict[str, Any]
    # The schema of the whole input value, as the description gives it.
    full_schema: dict[str, Any]
    default: Any = None
    options: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    min_items: int = 0
    max_items: int | None = None

    @property
    def defaults(self) -> list[str]:
        """The initial text of each row: the default's items, or one row (empty)."""
        if self.repeated:
            values = self.default if isinstance(self.default, list) else []
            return [display(v, self.kind) for v in values] or [""]
        return [display(self.default, self.kind)]

    @property
    def checked(self) -> bool:
        return self.default is True

    @property
    def spec(self) -> str:
        """What form.js needs about the field, as JSON for a data attribute."""
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind,
                "required": self.required,
                "repeated": self.repeated,
                "schema": self.schema,
                "minItems": self.min_items,
                "maxItems": self.max_items,
                "hasDefault": self.default is not None,
            }
        )


def display(value: Any, kind: str) -> str:
    """A default value as a control's text (JSON for structured values)."""
    if value is None:
        return ""
    if kind == HREF and isinstance(value, Mapping):
        return str(value.get("href", ""))
    if kind == JSON or isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_reference(schema: Mapping[str, Any]) -> bool:
    """A File or Directory input: an object whose only required member is ``href``."""
    return schema.get("type") == "object" and schema.get("required") == ["href"]


def _kind(schema: Mapping[str, Any]) -> str:
    if is_reference(schema):
        return HREF
    if "enum" in schema:
        return SELECT
    kind = schema.get("type")
    if kind == "string":
        return TEXT
    if kind == "number":
        return NUMBER
    if kind == "integer":
        return INTEGER
    if kind == "boolean":
        return CHECKBOX
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches and all(b.get("type") in ("string", "number", "integer") for b in branches):
        return UNION
    return JSON


def _attributes(schema: Mapping[str, Any], kind: str) -> dict[str, str]:
    """HTML constraints of one control, from the value's schema."""
    attrs: dict[str, str] = {}
    if kind in (NUMBER, INTEGER):
        attrs["step"] = "1" if kind == INTEGER else "any"
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(schema.get(key), int | float) and not isinstance(schema[key], bool):
                attrs[attr] = str(schema[key])
    if kind == TEXT:
        for key, attr in (("minLength", "minlength"), ("maxLength", "maxlength")):
            if isinstance(schema.get(key), int):
                attrs[attr] = str(schema[key])
        if isinstance(schema.get("pattern"), str):
            attrs["pattern"] = schema["pattern"]
    if kind == HREF:
        attrs["inputmode"] = "url"
        attrs["placeholder"] = "https://… or s3://…"
    return attrs


def form_fields(description: Mapping[str, Any]) -> list[Field]:
    """The fields of the execute form of a process description, in its inputs' order."""
    fields = []
    for input_id, spec in (description.get("inputs") or {}).items():
        schema = spec.get("schema") or {}
        max_occurs = spec.get("maxOccurs", 1)
        repeated = schema.get("type") == "array" or max_occurs == "unbounded" or (
            isinstance(max_occurs, int) and max_occurs > 1
        )
        item = (schema.get("items") or {}) if schema.get("type") == "array" else schema
        kind = _kind(item)
        if schema.get("type") == "array":
            min_items, max_items = schema.get("minItems", 0), schema.get("maxItems")
        else:  # several occurrences of a plain value
            min_items = spec.get("minOccurs", 1)
            max_items = max_occurs if isinstance(max_occurs, int) else None
        fields.append(
            Field(
                id=input_id,
                title=spec.get("title") or input_id,
                description=spec.get("description") or "",
                kind=kind,
                required=spec.get("minOccurs", 1) > 0,
                repeated=repeated,
                schema=dict(item),
                full_schema=dict(schema),
                default=schema.get("default"),
                options=tuple(str(v) for v in item.get("enum", ())),
                attributes=_attributes(item, kind),
                min_items=int(min_items or 0),
                max_items=max_items,
            )
        )
    return fields
