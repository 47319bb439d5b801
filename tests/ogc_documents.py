"""Validating response bodies against the OGC API - Processes JSON schemas kept in
``../shared/ogc-schemas`` (relative ``$ref``s resolve against each schema's folder)."""

from __future__ import annotations

import base64
import binascii
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "ogc-schemas"


@functools.cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.rglob("*.yaml"):
        contents = yaml.safe_load(path.read_text())
        resources.append((path.as_uri(), Resource.from_contents(contents, DRAFT202012)))
    return Registry().with_resources(resources)


_formats = jsonschema.FormatChecker()


@_formats.checks("byte")
def _is_base64(value: object) -> bool:
    # binaryInputValue is a base64 string; without checking it, every plain string output
    # would match both it and `type: string`, and the 1.0 `oneOf` would reject them all.
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def validate(document: Any, schema: str, folder: str = "part1-1.0") -> None:
    """Raise jsonschema.ValidationError unless ``document`` matches ``folder/schema``."""
    uri = (SCHEMAS / folder / schema).as_uri()
    validator = jsonschema.Draft202012Validator(
        {"$ref": uri}, registry=_registry(), format_checker=_formats
    )
    validator.validate(document)
