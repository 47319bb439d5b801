"""CWL types → the JSON Schema of one value of a process input or output, with the
occurrence bounds and staging kind that OGC API – Processes descriptions carry beside it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ades.errors import InvalidPackage

# What a client sends for a File or Directory: an OGC link, of which only href is needed.
REFERENCE_PROPERTIES: dict[str, Any] = {
    "href": {"type": "string", "format": "uri"},
    "type": {"type": "string", "description": "media type of the referenced resource"},
}

_LITERALS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "boolean": {"type": "boolean"},
    "null": {"type": "null"},
    "Any": {},
}

# cwltool turns stdout/stderr outputs into Files; raw documents still spell them so.
_FILE_LIKE = {"File", "stdout", "stderr"}


@dataclass(frozen=True)
class ParameterShape:
    """The JSON Schema of one value, how many values may be given, and the CWL kind of
    value ("File", "Directory" or "literal") that staging needs to know."""

    schema: dict[str, Any]
    min_occurs: int = 1
    max_occurs: int | str = 1
    kind: str = "literal"


def cwl_type_to_schema(
    cwl_type: Any,
    default: Any = None,
    *,
    types: Mapping[str, Any] | None = None,
) -> ParameterShape:
    """Map a CWL type (as written, or as cwltool's loader expands it) to a ParameterShape.

    ``default`` is the CWL default (None: none); it becomes the schema's "default" and
    makes the parameter optional. ``types`` resolves named types from a
    SchemaDefRequirement, keyed by their (full or short) name.
    """
    named = dict(types or {})
    optional, core = _strip_null(cwl_type)
    schema, kind = _schema_of(core, named)
    is_array = _is_array(core, named)
    if default is not None:
        schema = {**schema, "default": default_to_json(default)}
    return ParameterShape(
        schema=schema,
        min_occurs=0 if optional or default is not None else 1,
        max_occurs="unbounded" if is_array else 1,
        kind=kind,
    )


def reference_schema(kind: str) -> dict[str, Any]:
    """The schema of a reference to a File or a Directory."""
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["href"],
        "properties": dict(REFERENCE_PROPERTIES),
    }
    if kind == "File":
        schema["properties"]["format"] = {
            "type": "string",
            "format": "uri",
            "description": "CWL format of the file (an IRI, e.g. an EDAM term)",
        }
    if kind == "Directory":
        # A directory travels as a STAC catalog: the href points at its catalog.json (or an
        # Item, or a Collection); stage-in fetches it with the assets named here (all if none).
        schema["contentMediaType"] = "application/json"
        schema["properties"]["assets"] = {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "keys of the STAC assets to stage in (default: all)",
        }
    return schema


def reference_kind(schema: Mapping[str, Any]) -> str | None:
    """"File" or "Directory" when ``schema`` is that of a reference (``reference_schema``),
    else None: how a File nested in a record is told apart from a plain object."""
    properties = schema.get("properties", {})
    if schema.get("type") != "object" or schema.get("required") != ["href"]:
        return None
    if set(properties) - {"href", "type", "format", "assets"}:
        return None
    return "Directory" if "assets" in properties else "File"


def default_to_json(default: Any) -> Any:
    """A CWL default as plain JSON; File/Directory objects become references."""
    if isinstance(default, Mapping):
        if default.get("class") in ("File", "Directory") and "location" in default:
            return {"href": default["location"]}
        return {str(k): default_to_json(v) for k, v in default.items()}
    if isinstance(default, list | tuple):
        return [default_to_json(v) for v in default]
    return default


def data_locations(node: Any, where: str) -> Iterator[tuple[str, str, str, Any]]:
    """Every location a File or Directory anywhere in ``node`` (a CWL document or a job
    value) names: (where it stands, the nearest enclosing ``id``'s short name or ``where``;
    its class; "location" or "path"; the value)."""
    if isinstance(node, list):
        for item in node:
            yield from data_locations(item, where)
        return
    if not isinstance(node, Mapping):
        return
    if isinstance(node.get("id"), str):
        where = short_name(node["id"]) or where
    if node.get("class") in ("File", "Directory"):
        for key in ("location", "path"):
            if key in node:
                yield where, node["class"], key, node[key]
    for value in node.values():
        yield from data_locations(value, where)


def short_name(identifier: str) -> str:
    """The last segment of a loaded CWL identifier: 'file:///p.cwl#main/red' → 'red'."""
    return identifier.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _strip_null(cwl_type: Any) -> tuple[bool, Any]:
    """Split optionality off a type: (is optional, the type without null)."""
    if isinstance(cwl_type, str) and cwl_type.endswith("?"):
        return True, cwl_type[:-1]
    if isinstance(cwl_type, list):
        members = [t for t in cwl_type if t != "null"]
        optional = len(members) != len(cwl_type)
        if len(members) == 1:
            inner_optional, core = _strip_null(members[0])
            return optional or inner_optional, core
        return optional, members
    return False, cwl_type


def _resolve(cwl_type: Any, named: Mapping[str, Any]) -> Any:
    if (
        isinstance(cwl_type, str)
        and cwl_type not in _LITERALS
        and cwl_type not in (_FILE_LIKE | {"Directory"})
    ):
        if cwl_type.endswith("[]"):
            return {"type": "array", "items": cwl_type[:-2]}
        for key in (cwl_type, short_name(cwl_type)):
            if key in named:
                return named[key]
        for name, definition in named.items():
            if short_name(name) == short_name(cwl_type):
                return definition
        raise InvalidPackage(f"unknown CWL type '{cwl_type}'")
    return cwl_type


def _is_array(cwl_type: Any, named: Mapping[str, Any]) -> bool:
    resolved = _resolve(cwl_type, named)
    return isinstance(resolved, Mapping) and resolved.get("type") == "array"


def _schema_of(cwl_type: Any, named: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The schema of one value of a null-free type, and its kind."""
    cwl_type = _resolve(cwl_type, named)
    if isinstance(cwl_type, str):
        if cwl_type in _FILE_LIKE:
            return reference_schema("File"), "File"
        if cwl_type == "Directory":
            return reference_schema("Directory"), "Directory"
        return dict(_LITERALS[cwl_type]), "literal"
    if isinstance(cwl_type, list):
        return _union_schema(cwl_type, named)
    if isinstance(cwl_type, Mapping):
        compound = cwl_type.get("type")
        if compound == "array":
            items, kind = _schema_of(_strip_null(cwl_type["items"])[1], named)
            return {"type": "array", "items": items}, kind
        if compound == "enum":
            symbols = [_symbol(s, cwl_type.get("name")) for s in cwl_type.get("symbols", [])]
            return {"type": "string", "enum": symbols}, "literal"
        if compound == "record":
            return _record_schema(cwl_type, named), "literal"
        if isinstance(compound, str | list | Mapping):
            # {"type": "string"} and the like: a type wrapped in a mapping.
            return _schema_of(compound, named)
    raise InvalidPackage(f"unsupported CWL type {cwl_type!r}")


def _union_schema(members: list[Any], named: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    schemas, kinds = [], set()
    for member in members:
        schema, kind = _schema_of(member, named)
        schemas.append(schema)
        kinds.add(kind)
    kind = kinds.pop() if len(kinds) == 1 else "literal"
    # oneOf is exact only when no value can match two members; an integer is also a
    # number, and two object members may overlap, so those unions stay anyOf.
    types = [sch.get("type") for sch in schemas]
    disjoint = (
        None not in types
        and "object" not in types
        and len(set(types)) == len(types)
        and not {"integer", "number"} <= set(types)
    )
    return {"oneOf" if disjoint else "anyOf": schemas}, kind


def _record_schema(record: Mapping[str, Any], named: Mapping[str, Any]) -> dict[str, Any]:
    fields = record.get("fields", [])
    if isinstance(fields, Mapping):  # the map form, as written before the loader expands it
        fields = [
            {"name": k, **(v if isinstance(v, Mapping) else {"type": v})} for k, v in fields.items()
        ]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in fields:
        name = short_name(field["name"])
        shape = cwl_type_to_schema(field["type"], field.get("default"), types=named)
        schema = dict(shape.schema)
        if shape.max_occurs == "unbounded" and schema.get("type") != "array":
            schema = {"type": "array", "items": schema}
        for cwl_key, schema_key in (("label", "title"), ("doc", "description")):
            if field.get(cwl_key):
                schema[schema_key] = text_of(field[cwl_key])
        properties[name] = schema
        if shape.min_occurs > 0:
            required.append(name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _symbol(symbol: str, enum_name: str | None) -> str:
    """An enum symbol without the id prefix the loader gives it ('...#mode/fast' → 'fast')."""
    if enum_name and symbol.startswith(enum_name + "/"):
        return symbol[len(enum_name) + 1 :]
    # Only loaded symbols carry an id; a symbol as written may itself contain a '/'.
    return short_name(symbol) if "#" in symbol else symbol


def text_of(value: Any) -> str:
    """A CWL label or doc as one string (doc may be a list of strings since CWL v1.1)."""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)
