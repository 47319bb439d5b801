"""The execute form's fields from process descriptions (ades/web/form.py): the control
each schema is drawn as, its HTML constraints, required and repeated inputs, defaults."""

import json

from ades.web.form import form_fields


def one(schema, **spec):
    (field,) = form_fields({"inputs": {"x": {"schema": schema, **spec}}})
    return field


def test_numbers_take_their_bounds_as_html_constraints():
    field = one({"type": "integer", "minimum": 1, "maximum": 10, "default": 4}, minOccurs=0)
    assert field.kind == "integer" and not field.required
    assert field.attributes == {"step": "1", "min": "1", "max": "10"}
    assert field.defaults == ["4"]
    number = one({"type": "number", "minimum": -0.5})
    assert number.attributes == {"step": "any", "min": "-0.5"} and number.required


def test_strings_enums_booleans_and_unions():
    text = one({"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"})
    assert text.kind == "text"
    assert text.attributes == {"minlength": "2", "maxlength": "5", "pattern": "^[a-z]+$"}
    select = one({"type": "string", "enum": ["a", "b"], "default": "b"})
    assert select.kind == "select" and select.options == ("a", "b")
    assert select.defaults == ["b"]
    flag = one({"type": "boolean", "default": True}, minOccurs=0)
    assert flag.kind == "checkbox" and flag.checked
    union = one({"oneOf": [{"type": "string"}, {"type": "number"}]})
    assert union.kind == "union"
    record = one({"type": "object", "properties": {"a": {"type": "string"}}})
    assert record.kind == "json"


def test_references_and_arrays():
    reference = {"type": "object", "required": ["href"],
                 "properties": {"href": {"type": "string", "format": "uri"}}}  # fmt: skip
    file = one(reference, minOccurs=1, maxOccurs=1)
    assert file.kind == "href" and file.required and not file.repeated
    files = one({"type": "array", "items": reference, "minItems": 2, "default":
                 [{"href": "s3://b/a.tif"}]}, minOccurs=1, maxOccurs="unbounded")  # fmt: skip
    assert files.kind == "href" and files.repeated and files.min_items == 2
    assert files.defaults == ["s3://b/a.tif"]
    occurs = one({"type": "string"}, minOccurs=1, maxOccurs=3)
    assert occurs.repeated and (occurs.min_items, occurs.max_items) == (1, 3)
    spec = json.loads(occurs.spec)
    assert spec == {"id": "x", "kind": "text", "required": True, "repeated": True,
                    "schema": {"type": "string"}, "minItems": 1, "maxItems": 3,
                    "hasDefault": False}  # fmt: skip
