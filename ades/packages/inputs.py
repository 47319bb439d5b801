"""Turn the ``inputs`` of an OGC execute request into a CWL job order, checking every
value against its parameter's JSON Schema and occurrence bounds before anything runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ades.errors import InvalidInput, InvalidRequest
from ades.model import Parameter, Process
from ades.packages.schema import data_locations, reference_kind

# Where a File or Directory may come from. Not file://: a client must not make the server
# read its own disk.
REFERENCE_SCHEMES = ("http", "https", "s3")
# A Directory reference to STAC may name the assets to stage in: {"href": ..., "assets": [...]}.
# The list rides along in the CWL Directory object until stage-in replaces it.
ASSETS = "assets"
# A File's secondaryFiles patterns ride along the same way, for stage-in to fetch them.
SECONDARY = "ades:secondaryFiles"

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def to_job_order(
    process: Process, inputs: Mapping[str, Any] | None, *, max_literal_bytes: int | None = None
) -> dict[str, Any]:
    """The CWL job order for ``inputs`` (OGC form: plain values, qualified values
    ``{"value": ...}``, references ``{"href": ...}`` or lists of those).

    Omitted optional inputs stay out of the job order, so cwltool applies the CWL
    defaults. A literal input larger than ``max_literal_bytes`` is refused: it would reach
    the tool as a command-line argument longer than the OS takes. Raises InvalidInput
    naming the first offending input.
    """
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, Mapping):
        raise InvalidRequest("'inputs' must be an object mapping input ids to values")
    parameters = {p.id: p for p in process.inputs}
    for name in inputs:
        if name not in parameters:
            raise InvalidInput(name, f"is not an input of process '{process.id}'")
    order: dict[str, Any] = {}
    for parameter in process.inputs:
        value = inputs.get(parameter.id)
        if value is None:
            if parameter.min_occurs > 0:
                raise InvalidInput(parameter.id, "is required")
            continue
        if max_literal_bytes is not None and parameter.kind == "literal":
            plain = [_unqualified(v) for v in value] if isinstance(value, list) else value
            _check_literal_size(parameter, _unqualified(plain), max_literal_bytes)
        order[parameter.id] = _job_value(parameter, value)
        _check_locations(parameter, order[parameter.id])
    return order


def _check_locations(parameter: Parameter, value: Any) -> None:
    """Every File or Directory in a job value (a CWL object a literal of type Any or a
    record carries too) points over http(s) or s3: never at a file of this server."""
    for _, _, _, href in data_locations(value, parameter.id):
        _check_href(parameter, href)


def _check_literal_size(parameter: Parameter, value: Any, limit: int) -> None:
    size = literal_bytes(value)
    if size > limit:
        raise InvalidInput(
            parameter.id,
            f"its value is {size} bytes, more than the {limit} bytes a literal input may be "
            f"(ADES_MAX_LITERAL_BYTES); pass large data as a File reference instead",
        )


def literal_bytes(value: Any) -> int:
    """The size of a literal as the tool gets it: a string's UTF-8 bytes, any other value's
    compact JSON text."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    # surrogatepass: JSON may carry lone surrogates ("\ud800"); they still take room.
    return len(text.encode("utf-8", "surrogatepass"))


def _job_value(parameter: Parameter, value: Any) -> Any:
    value = _unqualified(value)
    schema = parameter.schema
    if _takes_list(schema):
        # The list is the value itself (a CWL array input); one bare value is a list of one.
        items = value if isinstance(value, list) else [value]
        if schema.get("type") == "array":
            # The list is one occurrence of the input: a required array given [] is present,
            # and an empty array is a valid CWL value. Only its length is bounded.
            _check_occurrences(parameter, len(items), at_least=0)
        else:
            _check_occurrences(parameter, 1)
        plain: Any = [_plain(parameter, _unqualified(item)) for item in items]
        if not isinstance(value, list) and schema.get("type") != "array":
            plain = plain[0]
        _validate(parameter, plain, schema)
        return _to_cwl(parameter, plain, many=isinstance(plain, list))
    if parameter.max_occurs != 1:
        # Several occurrences of a value that is not itself a list.
        items = value if isinstance(value, list) else [value]
        _check_occurrences(parameter, len(items))
        plain = [_plain(parameter, _unqualified(item)) for item in items]
        for index, item in enumerate(plain):
            _validate(parameter, item, schema, where=f"value {index + 1}: ")
        return _to_cwl(parameter, plain, many=True)
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidInput(parameter.id, f"accepts at most 1 value, got {len(value)}")
        value = _unqualified(value[0])
    plain = _plain(parameter, value)
    _validate(parameter, plain, schema)
    return _to_cwl(parameter, plain, many=False)


def _takes_list(schema: Mapping[str, Any]) -> bool:
    """Whether one value of this schema may be a JSON array (array, Any, or a union
    with an array member)."""
    if "type" not in schema and "anyOf" not in schema and "oneOf" not in schema:
        return True
    if schema.get("type") == "array":
        return True
    members = schema.get("anyOf", []) + schema.get("oneOf", [])
    return any(_takes_list(member) for member in members)


def _check_occurrences(parameter: Parameter, count: int, at_least: int | None = None) -> None:
    least = parameter.min_occurs if at_least is None else at_least
    if count < least:
        raise InvalidInput(parameter.id, f"expects at least {_values(least)}, got {count}")
    if isinstance(parameter.max_occurs, int) and count > parameter.max_occurs:
        raise InvalidInput(
            parameter.id, f"accepts at most {_values(parameter.max_occurs)}, got {count}"
        )


def _values(count: int) -> str:
    return f"{count} value" if count == 1 else f"{count} values"


_QUALIFIED_KEYS = {"value", "mediaType", "encoding", "schema"}


def _unqualified(value: Any) -> Any:
    """The value of an OGC qualified value ``{"value": v, "mediaType": ...}``."""
    if isinstance(value, Mapping) and "value" in value and set(value) <= _QUALIFIED_KEYS:
        return value["value"]
    return value


def _plain(parameter: Parameter, value: Any) -> Any:
    """One value in the JSON form its schema describes: for a File or Directory a reference
    object (a bare URL string is accepted as its href), checked to point somewhere usable."""
    if parameter.kind not in ("File", "Directory"):
        if isinstance(value, Mapping) and "href" in value and not _takes_reference(
            parameter.schema
        ):
            raise InvalidInput(parameter.id, "takes a value, not a reference ('href')")
        return value
    if isinstance(value, str):
        value = {"href": value}
    if not isinstance(value, Mapping) or "href" not in value:
        raise InvalidInput(
            parameter.id,
            f"expected a reference to a {parameter.kind} (an object with an 'href' URL), "
            f"got {_describe(value)}",
        )
    _check_href(parameter, value["href"])
    if ASSETS in value:
        _check_asset_selection(parameter, value[ASSETS])
    return dict(value)


def _check_href(parameter: Parameter, href: Any) -> None:
    if not isinstance(href, str) or not href.strip():
        raise InvalidInput(parameter.id, f"has a reference whose href is {_describe(href)}")
    scheme = urlparse(href).scheme
    if not scheme:
        raise InvalidInput(parameter.id, f"has a reference '{href}' that is not a URL")
    if scheme not in REFERENCE_SCHEMES:
        raise InvalidInput(
            parameter.id,
            f"has a reference '{href}' with an unsupported scheme '{scheme}' "
            f"(use {', '.join(REFERENCE_SCHEMES)})",
        )


def _check_asset_selection(parameter: Parameter, assets: Any) -> None:
    if parameter.kind != "Directory":
        raise InvalidInput(
            parameter.id,
            "'assets' selects assets of a STAC reference: only a Directory takes it",
        )
    if (
        not isinstance(assets, list)
        or not assets
        or not all(isinstance(a, str) and a for a in assets)
    ):
        raise InvalidInput(
            parameter.id,
            f"'assets' must be a non-empty list of asset keys, not {_describe(assets)}",
        )


def _takes_reference(schema: Mapping[str, Any]) -> bool:
    """Whether a value of ``schema`` may be an object with an href: a File or Directory
    member of a union, CWL's Any (which takes Files), a record with an href field."""
    if not schema or "href" in schema.get("properties", {}):
        return True
    return any(_takes_reference(m) for m in schema.get("anyOf", []) + schema.get("oneOf", []))


def _validate(parameter: Parameter, value: Any, schema: Mapping[str, Any], where: str = "") -> None:
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        raise InvalidInput(parameter.id, where + _reason(error))


def _reason(error: ValidationError) -> str:
    """A short sentence for a jsonschema error, naming where inside the value it is."""
    where = "".join(
        f"item {p + 1}: " if isinstance(p, int) else f"field '{p}': " for p in error.absolute_path
    )
    if error.validator == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        return f"{where}expected {expected}, got {_describe(error.instance)}"
    if error.validator == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        return f"{where}expected one of {choices}, got {_describe(error.instance)}"
    if error.validator in ("anyOf", "oneOf"):
        names = [_TYPE_NAMES.get(s.get("type"), "a value") for s in error.validator_value]
        expected = " or ".join(dict.fromkeys(names))
        return f"{where}expected {expected}, got {_describe(error.instance)}"
    return f"{where}{error.message}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "a reference" if "href" in value else "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__


def _to_cwl(parameter: Parameter, value: Any, *, many: bool) -> Any:
    """A checked value in CWL's terms: references become File/Directory objects."""
    if many:
        return [_to_cwl(parameter, item, many=False) for item in value]
    if parameter.kind in ("File", "Directory") and isinstance(value, Mapping):
        cwl = _cwl_reference(parameter.kind, value)
        if parameter.kind == "File" and parameter.secondary_files:
            cwl[SECONDARY] = list(parameter.secondary_files)
        return cwl
    if parameter.kind == "literal" and isinstance(value, Mapping | list):
        return _nested_references(parameter, value, parameter.schema, "")
    if isinstance(value, float) and value.is_integer() and _wants_integer(parameter.schema):
        # JSON has one number type; cwltool's int check rejects 3.0.
        return int(value)
    return value


def _cwl_reference(kind: str, value: Mapping[str, Any]) -> dict[str, Any]:
    cwl: dict[str, Any] = {"class": kind, "location": value["href"]}
    if kind == "File" and isinstance(value.get("format"), str):
        cwl["format"] = value["format"]
    if ASSETS in value:
        cwl[ASSETS] = list(value[ASSETS])
    return cwl


def _nested_references(
    parameter: Parameter, value: Any, schema: Mapping[str, Any], path: str
) -> Any:
    """A record (or list) value with the references its schema places inside it (a File
    field of a CWL record) turned into File/Directory objects, their hrefs checked; ``path``
    is the field path there, for the field's secondaryFiles patterns."""
    kind = reference_kind(schema)
    if not schema and isinstance(value, Mapping) and "href" in value and set(value) <= {
        "href", "type", "format"
    }:
        kind = "File"  # CWL's Any takes Files: a bare reference is one
    if kind is not None and isinstance(value, Mapping) and "href" in value:
        _check_href(parameter, value["href"])
        cwl = _cwl_reference(kind, value)
        patterns = dict(parameter.field_secondary_files).get(path)
        if kind == "File" and patterns:
            cwl[SECONDARY] = list(patterns)
        return cwl
    if isinstance(value, list) and not schema:
        return [_nested_references(parameter, v, schema, path) for v in value]
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_nested_references(parameter, v, schema["items"], path) for v in value]
    if isinstance(value, Mapping) and isinstance(schema.get("properties"), Mapping):
        fields = schema["properties"]
        return {
            k: _nested_references(parameter, v, fields.get(k, {}), f"{path}/{k}" if path else k)
            for k, v in value.items()
        }
    for member in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(value, Mapping) and (
            reference_kind(member) is not None and "href" in value
            or "properties" in member and "href" not in value
        ):
            return _nested_references(parameter, value, member, path)
    return value


def _wants_integer(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "array":
        return _wants_integer(schema.get("items", {}))
    return schema.get("type") == "integer"


TRANSMISSION_MODES = ("value", "reference")
RESPONSE_MODES = ("raw", "document")


def check_outputs_request(process: Process, request: Mapping[str, Any]) -> None:
    """The ``outputs`` and ``response`` members of an execute request name outputs of the
    process and modes this server knows; InvalidRequest names what does not."""
    response = request.get("response")
    if response is not None and response not in RESPONSE_MODES:
        raise InvalidRequest(f"'response': {response!r} is not one of {', '.join(RESPONSE_MODES)}")
    outputs = request.get("outputs")
    if outputs is None:
        return
    if not isinstance(outputs, Mapping):
        raise InvalidRequest("'outputs' must be an object mapping output ids to options")
    known = {p.id for p in process.outputs}
    for name, options in outputs.items():
        if name not in known:
            raise InvalidRequest(f"output '{name}' is not an output of process '{process.id}'")
        mode = (options or {}).get("transmissionMode") if isinstance(options, Mapping) else None
        if mode is not None and mode not in TRANSMISSION_MODES:
            raise InvalidRequest(
                f"output '{name}': transmissionMode {mode!r} is not one of "
                f"{', '.join(TRANSMISSION_MODES)}"
            )
