"""OGC execute inputs → CWL job order, and every way an input can be refused."""

from pathlib import Path

import pytest

from ades.errors import InvalidInput, InvalidRequest
from ades.model import Parameter, Process
from ades.packages.inputs import to_job_order
from ades.packages.load import load_process
from ades.packages.schema import cwl_type_to_schema

DATA = Path(__file__).parent / "data"
DEMO = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes"
TIF = "https://data.test/b04.tif"


@pytest.fixture(scope="module")
def echo():
    return load_process(DEMO / "echo.cwl", "demo")


@pytest.fixture(scope="module")
def types():
    return load_process(DATA / "types.cwl", "ws")


def required_of(process):
    """Valid values for every required input of types.cwl, to vary one at a time."""
    values = {
        "text": "t",
        "count": 1,
        "big": 2,
        "ratio": 0.5,
        "precise": 1.5,
        "flag": True,
        "choice": "low",
        "colour": "red",
        "colours": ["red"],
        "image": {"href": TIF},
        "folder": {"href": "s3://bucket/catalog.json"},
        "images": [TIF],
        "words": ["a"],
        "nested": [[1, 2], [3]],
        "options": {"size": 3},
        "anything": {"free": ["form"]},
        "either": 3,
    }
    assert {p.id for p in process.inputs if p.min_occurs > 0} == set(values)
    return values


def refused(process, inputs):
    with pytest.raises(InvalidInput) as caught:
        to_job_order(process, inputs)
    return caught.value


def process_with(*parameters):
    return Process("p", "ws", "1.0.0", None, None, tuple(parameters), ())


def test_plain_values(echo):
    assert to_job_order(echo, {"stringInput": "hi", "pause": 0.1}) == {
        "stringInput": "hi",
        "pause": 0.1,
    }


def test_qualified_values(echo):
    inputs = {"stringInput": {"value": "hi", "mediaType": "text/plain"}, "pause": {"value": 2}}
    assert to_job_order(echo, inputs) == {"stringInput": "hi", "pause": 2}


def test_omitted_and_null_optional_inputs_stay_out(echo):
    assert to_job_order(echo, {"stringInput": "hi"}) == {"stringInput": "hi"}
    assert to_job_order(echo, {"stringInput": "hi", "pause": None}) == {"stringInput": "hi"}


def test_every_required_type(types):
    order = to_job_order(types, required_of(types))
    assert order["image"] == {"class": "File", "location": TIF}
    assert order["folder"] == {"class": "Directory", "location": "s3://bucket/catalog.json"}
    # A bare URL is a reference too.
    assert order["images"] == [{"class": "File", "location": TIF}]
    assert order["nested"] == [[1, 2], [3]]
    assert order["options"] == {"size": 3}
    assert order["anything"] == {"free": ["form"]}
    assert order["colours"] == ["red"]
    assert "tuned" not in order and "mode" not in order  # cwltool applies the CWL defaults


def test_references_with_a_media_type_and_arrays_of_mixed_forms(types):
    inputs = required_of(types) | {
        "images": [
            {"href": TIF, "type": "image/tiff; application=geotiff"},
            TIF,
            {"value": {"href": "http://data.test/b08.tif"}},
        ],
        "folders": [{"href": "s3://b/c.json", "type": "application/json"}],
    }
    order = to_job_order(types, inputs)
    assert order["images"] == [
        {"class": "File", "location": TIF},
        {"class": "File", "location": TIF},
        {"class": "File", "location": "http://data.test/b08.tif"},
    ]
    assert order["folders"] == [{"class": "Directory", "location": "s3://b/c.json"}]


def test_one_value_for_an_array_input_is_a_list_of_one(types):
    order = to_job_order(types, required_of(types) | {"words": "solo", "images": {"href": TIF}})
    assert order["words"] == ["solo"]
    assert order["images"] == [{"class": "File", "location": TIF}]


def test_a_list_of_one_for_a_single_value_is_that_value(echo):
    assert to_job_order(echo, {"stringInput": ["hi"]}) == {"stringInput": "hi"}


def test_whole_numbers_for_integers_become_ints(types):
    order = to_job_order(types, required_of(types) | {"count": 3.0})
    assert order["count"] == 3 and isinstance(order["count"], int)


def test_enum_and_union_values(types):
    order = to_job_order(types, required_of(types) | {"mode": "slow", "either": "three"})
    assert (order["mode"], order["either"]) == ("slow", "three")


def test_missing_required_input(echo):
    error = refused(echo, {})
    assert error.name == "stringInput"
    assert str(error) == "input 'stringInput': is required"


def test_null_for_a_required_input(echo):
    assert str(refused(echo, {"stringInput": None})) == "input 'stringInput': is required"


def test_unknown_input(echo):
    error = refused(echo, {"stringInput": "hi", "colour": "red"})
    assert error.name == "colour"
    assert str(error) == "input 'colour': is not an input of process 'echo'"


def test_inputs_must_be_an_object(echo):
    with pytest.raises(InvalidRequest, match="'inputs' must be an object"):
        to_job_order(echo, ["stringInput"])


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("pause", "abc", "expected a number, got 'abc'"),
        ("stringInput", 5, "expected a string, got 5"),
        ("stringInput", {"a": 1}, "expected a string, got an object"),
    ],
)
def test_wrong_type(echo, name, value, reason):
    error = refused(echo, {"stringInput": "hi", name: value})
    assert (error.name, str(error)) == (name, f"input '{name}': {reason}")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("count", 1.5, "expected an integer, got 1.5"),
        ("count", True, "expected an integer, got true"),
        ("flag", "yes", "expected a boolean, got 'yes'"),
        ("choice", "medium", "expected one of 'low', 'high', got 'medium'"),
        ("colours", ["red", "pink"], "item 2: expected one of 'red', 'green', 'blue', got 'pink'"),
        ("words", ["a", 2], "item 2: expected a string, got 2"),
        ("nested", [[1], ["x"]], "item 2: item 1: expected an integer, got 'x'"),
        ("options", {"size": "big"}, "field 'size': expected an integer, got 'big'"),
        ("options", {}, "'size' is a required property"),
        ("options", {"size": 1, "colour": "red"}, "'colour' was unexpected"),
        ("either", 1.5, "expected an integer or a string, got 1.5"),
        ("tuned", "fast", "expected a number, got 'fast'"),
    ],
)
def test_wrong_values(types, name, value, reason):
    error = refused(types, required_of(types) | {name: value})
    assert error.name == name
    assert reason in str(error)


def test_too_many_values_for_a_single_value_input(echo):
    error = refused(echo, {"stringInput": ["a", "b"]})
    assert str(error) == "input 'stringInput': accepts at most 1 value, got 2"


def test_max_occurs_is_enforced():
    shape = cwl_type_to_schema("string")
    process = process_with(Parameter("band", shape.schema, min_occurs=1, max_occurs=2))
    assert to_job_order(process, {"band": ["B04", "B08"]}) == {"band": ["B04", "B08"]}
    assert to_job_order(process, {"band": "B04"}) == {"band": ["B04"]}
    error = refused(process, {"band": ["B02", "B04", "B08"]})
    assert str(error) == "input 'band': accepts at most 2 values, got 3"
    error = refused(process, {"band": ["B04", 8]})
    assert str(error) == "input 'band': value 2: expected a string, got 8"


def test_max_occurs_of_an_array_input_is_enforced():
    shape = cwl_type_to_schema("File[]")
    process = process_with(Parameter("scenes", shape.schema, max_occurs=2, kind="File"))
    error = refused(process, {"scenes": [TIF, TIF, TIF]})
    assert str(error) == "input 'scenes': accepts at most 2 values, got 3"


def test_an_empty_list_is_a_value_of_a_required_array(types):
    # [] is a valid CWL array: the input is given, with no items.
    assert to_job_order(types, required_of(types) | {"images": []})["images"] == []


def test_min_occurs_of_repeated_values_is_enforced():
    shape = cwl_type_to_schema("string")
    process = process_with(Parameter("band", shape.schema, min_occurs=2, max_occurs=3))
    error = refused(process, {"band": ["B04"]})
    assert str(error) == "input 'band': expects at least 2 values, got 1"


def test_empty_list_for_an_optional_array_is_fine(types):
    assert to_job_order(types, required_of(types) | {"folders": []})["folders"] == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"type": "image/tiff"}, "expected a reference to a File (an object with an 'href' URL)"),
        (42, "expected a reference to a File (an object with an 'href' URL), got 42"),
        ({"href": 7}, "has a reference whose href is 7"),
        ({"href": ""}, "has a reference whose href is ''"),
        ("b04.tif", "has a reference 'b04.tif' that is not a URL"),
        ("file:///etc/passwd", "unsupported scheme 'file' (use http, https, s3)"),
        ({"href": TIF, "type": 3}, "field 'type': expected a string, got 3"),
    ],
)
def test_bad_references(types, value, reason):
    error = refused(types, required_of(types) | {"image": value})
    assert error.name == "image"
    assert reason in str(error)


def test_bad_reference_inside_an_array(types):
    error = refused(types, required_of(types) | {"images": [TIF, "ftp://x/y.tif"]})
    assert (error.name, "unsupported scheme 'ftp'" in str(error)) == ("images", True)


def test_a_reference_for_a_literal_input(echo):
    error = refused(echo, {"stringInput": {"href": TIF}})
    assert str(error) == "input 'stringInput': takes a value, not a reference ('href')"


RECORD_WITH_FILES = {
    "type": "record",
    "fields": {"label": "string", "f1": "File", "f2": "File[]", "d": "Directory?"},
}


def test_references_inside_a_record_become_cwl_files():
    shape = cwl_type_to_schema(RECORD_WITH_FILES)
    process = process_with(Parameter("rec", shape.schema))
    order = to_job_order(process, {"rec": {"label": "x", "f1": {"href": TIF},
                                           "f2": [{"href": TIF, "format": "http://e.org/f"}],
                                           "d": {"href": "s3://b/prefix/"}}})
    assert order["rec"] == {"label": "x", "f1": {"class": "File", "location": TIF},
                            "f2": [{"class": "File", "location": TIF,
                                    "format": "http://e.org/f"}],
                            "d": {"class": "Directory", "location": "s3://b/prefix/"}}


def test_a_reference_inside_a_record_is_checked_like_any_other():
    shape = cwl_type_to_schema(RECORD_WITH_FILES)
    process = process_with(Parameter("rec", shape.schema))
    error = refused(process, {"rec": {"label": "x", "f1": {"href": "file:///etc/passwd"},
                                      "f2": []}})
    assert str(error) == ("input 'rec': has a reference 'file:///etc/passwd' with an "
                          "unsupported scheme 'file' (use http, https, s3)")


def test_a_file_reference_carries_its_cwl_format():
    process = process_with(Parameter("seq", cwl_type_to_schema("File").schema, kind="File"))
    order = to_job_order(process, {"seq": {"href": TIF,
                                           "format": "http://edamontology.org/format_2330"}})
    assert order["seq"] == {"class": "File", "location": TIF,
                            "format": "http://edamontology.org/format_2330"}


@pytest.mark.parametrize("cwl_type", ["Any", ["null", "File", "string"]])
def test_a_reference_for_any_or_a_union_with_file_is_a_file(cwl_type):
    process = process_with(Parameter("bar", cwl_type_to_schema(cwl_type).schema, min_occurs=0))
    assert to_job_order(process, {"bar": {"href": TIF}}) == {
        "bar": {"class": "File", "location": TIF}}
    assert to_job_order(process, {"bar": "words"}) == {"bar": "words"}
    error = refused(process, {"bar": {"href": "file:///etc/passwd"}})
    assert "unsupported scheme 'file'" in str(error)


def test_secondary_file_patterns_ride_along_for_stage_in():
    process = process_with(
        Parameter("ref", cwl_type_to_schema("File").schema, kind="File",
                  secondary_files=(".fai", "^.dict?")),
        Parameter("rec", cwl_type_to_schema(RECORD_WITH_FILES).schema, min_occurs=0,
                  field_secondary_files=(("f1", (".s2",)), ("f2", (".s3",)))),
    )
    order = to_job_order(process, {"ref": {"href": TIF},
                                   "rec": {"label": "x", "f1": {"href": TIF},
                                           "f2": [{"href": TIF}]}})
    assert order["ref"]["ades:secondaryFiles"] == [".fai", "^.dict?"]
    assert order["rec"]["f1"]["ades:secondaryFiles"] == [".s2"]
    assert order["rec"]["f2"][0]["ades:secondaryFiles"] == [".s3"]


@pytest.mark.parametrize(
    ("value", "size"),
    [("x" * 101, 101), ("\u00e9" * 51, 102),
     ({"value": "y" * 101, "mediaType": "text/plain"}, 101)],
    ids=["ascii", "utf-8 bytes", "qualified"],
)
def test_a_literal_larger_than_the_limit_is_refused_naming_input_size_and_limit(
    echo, value, size
):
    with pytest.raises(InvalidInput) as caught:
        to_job_order(echo, {"stringInput": value}, max_literal_bytes=100)
    assert str(caught.value).startswith(
        f"input 'stringInput': its value is {size} bytes, more than the 100 bytes"
    )
    assert "ADES_MAX_LITERAL_BYTES" in str(caught.value)


def test_the_literal_limit_counts_structured_values_as_json_and_skips_references(types):
    inputs = required_of(types) | {"anything": {"free": ["f" * 40] * 3}}
    with pytest.raises(InvalidInput, match="input 'anything': its value is 139 bytes"):
        to_job_order(types, inputs, max_literal_bytes=100)
    # A File's href is a reference, not a literal: its length does not count.
    long_href = TIF + "?" + "q" * 200
    order = to_job_order(types, required_of(types) | {"image": {"href": long_href}},
                         max_literal_bytes=100)
    assert order["image"]["location"] == long_href


def test_a_literal_at_the_limit_is_taken(echo):
    assert to_job_order(echo, {"stringInput": "z" * 100}, max_literal_bytes=100) == {
        "stringInput": "z" * 100}


@pytest.mark.parametrize(
    "value",
    [
        {"class": "File", "location": "file:///etc/hostname"},
        {"class": "File", "path": "/etc/hostname"},
        {"free": [{"class": "Directory", "location": "file:///etc"}]},
        {"class": "File", "location": "https://example.org/a.txt",
         "secondaryFiles": [{"class": "File", "path": "/etc/hostname"}]},
    ],
)
def test_a_cwl_file_of_this_machine_inside_a_literal_is_refused(types, value):
    inputs = {**required_of(types), "anything": value}
    err = refused(types, inputs)
    assert err.name == "anything"
    assert "/etc" in str(err)


def test_a_cwl_file_over_https_inside_a_literal_passes(types):
    remote = {"class": "File", "location": "https://example.org/a.txt"}
    order = to_job_order(types, {**required_of(types), "anything": remote})
    assert order["anything"] == remote
