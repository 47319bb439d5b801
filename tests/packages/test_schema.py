"""CWL types → JSON Schema of one value, occurrence bounds and staging kind."""

import pytest

from ades.errors import InvalidPackage
from ades.packages.schema import ParameterShape, cwl_type_to_schema, reference_schema

PREFIX = "file:///work/pkg.cwl#"


@pytest.mark.parametrize(
    ("cwl_type", "schema"),
    [
        ("string", {"type": "string"}),
        ("int", {"type": "integer"}),
        ("long", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("double", {"type": "number"}),
        ("boolean", {"type": "boolean"}),
        ("Any", {}),
    ],
)
def test_literal_types(cwl_type, schema):
    assert cwl_type_to_schema(cwl_type) == ParameterShape(schema, 1, 1, "literal")


def test_file_is_a_reference():
    shape = cwl_type_to_schema("File")
    assert shape.kind == "File"
    assert shape.schema["type"] == "object"
    assert shape.schema["required"] == ["href"]
    assert shape.schema["properties"]["href"] == {"type": "string", "format": "uri"}
    assert shape.schema["properties"]["type"]["type"] == "string"
    assert "contentMediaType" not in shape.schema


def test_directory_is_a_reference_to_a_stac_catalog():
    shape = cwl_type_to_schema("Directory")
    assert shape.kind == "Directory"
    assert shape.schema["required"] == ["href"]
    assert shape.schema["contentMediaType"] == "application/json"


def test_stdout_output_is_a_file():
    assert cwl_type_to_schema("stdout").kind == "File"


@pytest.mark.parametrize("cwl_type", ["string?", ["null", "string"], ["string", "null"]])
def test_optional_types_have_min_occurs_zero(cwl_type):
    shape = cwl_type_to_schema(cwl_type)
    assert shape == ParameterShape({"type": "string"}, 0, 1, "literal")


@pytest.mark.parametrize(
    "cwl_type",
    ["int[]", {"type": "array", "items": "int"}, ["null", {"type": "array", "items": "int"}]],
)
def test_arrays_are_unbounded(cwl_type):
    shape = cwl_type_to_schema(cwl_type)
    assert shape.schema == {"type": "array", "items": {"type": "integer"}}
    assert shape.max_occurs == "unbounded"
    assert shape.min_occurs == (0 if isinstance(cwl_type, list) else 1)


def test_array_of_files_keeps_the_file_kind():
    shape = cwl_type_to_schema({"type": "array", "items": "File"})
    assert shape.kind == "File"
    assert shape.schema["type"] == "array"
    assert shape.schema["items"] == reference_schema("File")


def test_optional_array_of_directories():
    shape = cwl_type_to_schema("Directory[]?")
    assert (shape.min_occurs, shape.max_occurs, shape.kind) == (0, "unbounded", "Directory")


def test_nested_arrays():
    shape = cwl_type_to_schema({"type": "array", "items": {"type": "array", "items": "float"}})
    assert shape.schema == {
        "type": "array",
        "items": {"type": "array", "items": {"type": "number"}},
    }


def test_enum_symbols_lose_their_id_prefix():
    loaded = {"type": "enum", "symbols": [PREFIX + "mode/fast", PREFIX + "mode/slow"]}
    assert cwl_type_to_schema(loaded).schema == {"type": "string", "enum": ["fast", "slow"]}


def test_named_enum_symbols_lose_the_enum_name():
    loaded = {
        "type": "enum",
        "name": PREFIX + "Colour",
        "symbols": [PREFIX + "Colour/red", PREFIX + "Colour/dark/blue"],
    }
    assert cwl_type_to_schema(loaded).schema["enum"] == ["red", "dark/blue"]


def test_enum_as_written_keeps_its_symbols():
    written = {"type": "enum", "symbols": ["a/b", "c"]}
    assert cwl_type_to_schema(written).schema["enum"] == ["a/b", "c"]


def test_records_become_objects():
    record = {
        "type": "record",
        "fields": [
            {"name": PREFIX + "options/size", "type": "int", "doc": "Pixels."},
            {"name": PREFIX + "options/label", "type": ["null", "string"]},
            {"name": PREFIX + "options/mask", "type": "File"},
            {"name": PREFIX + "options/bands", "type": {"type": "array", "items": "string"}},
        ],
    }
    shape = cwl_type_to_schema(record)
    assert shape.kind == "literal"
    assert shape.schema == {
        "type": "object",
        "properties": {
            "size": {"type": "integer", "description": "Pixels."},
            "label": {"type": "string"},
            "mask": reference_schema("File"),
            "bands": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["size", "mask", "bands"],
        "additionalProperties": False,
    }


def test_record_fields_in_map_form():
    shape = cwl_type_to_schema({"type": "record", "fields": {"a": "int", "b": {"type": "string?"}}})
    assert shape.schema["properties"] == {"a": {"type": "integer"}, "b": {"type": "string"}}
    assert shape.schema["required"] == ["a"]


def test_unions_of_disjoint_types_become_one_of():
    shape = cwl_type_to_schema(["int", "string"])
    assert shape.schema == {"oneOf": [{"type": "integer"}, {"type": "string"}]}
    assert shape.min_occurs == 1


def test_unions_that_can_overlap_stay_any_of():
    # 3 is both an integer and a number: oneOf would reject it.
    shape = cwl_type_to_schema(["int", "double"])
    assert shape.schema == {"anyOf": [{"type": "integer"}, {"type": "number"}]}


def test_defaults_become_schema_defaults_and_make_the_parameter_optional():
    shape = cwl_type_to_schema("float", 0.5)
    assert shape.schema == {"type": "number", "default": 0.5}
    assert shape.min_occurs == 0


def test_false_and_zero_are_defaults_too():
    assert cwl_type_to_schema("boolean", False).schema["default"] is False
    assert cwl_type_to_schema("int", 0).min_occurs == 0


def test_file_default_becomes_a_reference():
    shape = cwl_type_to_schema("File", {"class": "File", "location": "https://x.test/a.tif"})
    assert shape.schema["default"] == {"href": "https://x.test/a.tif"}


def test_named_types_resolve_through_schema_defs():
    named = {PREFIX + "Colour": {"type": "enum", "name": PREFIX + "Colour", "symbols": ["red"]}}
    assert cwl_type_to_schema(PREFIX + "Colour", types=named).schema["enum"] == ["red"]
    array = {"type": "array", "items": PREFIX + "Colour"}
    assert cwl_type_to_schema(array, types=named).schema["items"]["enum"] == ["red"]


def test_unknown_type_is_a_package_error():
    with pytest.raises(InvalidPackage, match="unknown CWL type 'Colour'"):
        cwl_type_to_schema("Colour")
