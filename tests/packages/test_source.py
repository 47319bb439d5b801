"""Reading deploy request bodies into CWL text: each media type, execution units inline or
linked (over a real HTTP server and the real S3 of the session), and what is refused."""

import json

import pytest

from ades.errors import InvalidPackage, InvalidRequest
from ades.packages.source import PackageReader
from tests.api.deploying import PACKAGES, http_files

CWL = "cwlVersion: v1.2\nclass: CommandLineTool\nid: t\nbaseCommand: 'true'\ninputs: []\n"


@pytest.fixture(scope="module")
def reader(object_store):
    return PackageReader(object_store, timeout=10)


@pytest.fixture(scope="module")
def files():
    with http_files(PACKAGES) as base:
        yield base


def read(reader, body, media_type="application/ogcapppkg+json", w=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return reader.read(media_type, data, w)


@pytest.mark.parametrize("media_type", ["application/cwl", "application/cwl+yaml",
                                        "application/cwl+yaml; charset=utf-8"])
def test_the_cwl_itself(reader, media_type):
    source = reader.read(media_type, CWL.encode(), "t")
    assert (source.text, source.name, source.workflow_id, source.href) == (
        CWL, "package.cwl", "t", None)


def test_plain_cwl_sent_as_application_json_is_taken_as_cwl(reader):
    document = {"cwlVersion": "v1.2", "class": "Workflow"}
    assert json.loads(read(reader, document, "application/json").text) == document


@pytest.mark.parametrize(
    "unit",
    [
        {"value": CWL, "mediaType": "application/cwl+yaml"},
        [{"value": CWL}],
        {"unit": {"value": CWL}},  # the older draft's wrapper
    ],
)
def test_inline_units(reader, unit):
    assert read(reader, {"executionUnit": unit}).text == CWL


def test_a_linked_unit_over_http_names_the_file_and_the_fragment(reader, files):
    source = read(reader, {"executionUnit": {"href": f"{files}/snuggs.cwl#say_one"}})
    assert (source.name, source.workflow_id) == ("snuggs.cwl", "say_one")
    assert source.text == (PACKAGES / "snuggs.cwl").read_text()


def test_a_linked_unit_on_s3(reader, object_store):
    object_store.put_bytes(CWL.encode(), "apps/t.cwl")
    source = read(reader, {"executionUnit": {"href": object_store.uri("apps/t.cwl")}})
    assert (source.text, source.name) == (CWL, "t.cwl")


@pytest.mark.parametrize(
    ("body", "media_type", "error", "named"),
    [
        (b"{nope", "application/json", InvalidRequest, "not valid JSON"),
        (b"[1]", "application/ogcapppkg+json", InvalidRequest, "JSON object"),
        ({"processDescription": {}}, "application/json", InvalidRequest, "executionUnit"),
        ({"executionUnit": [{"value": CWL}, {"value": CWL}]}, None, InvalidRequest, "lists 2"),
        ({"executionUnit": {"value": 3}}, None, InvalidRequest, "'value'"),
        ({"executionUnit": {"value": CWL, "mediaType": "text/html"}}, None, InvalidRequest,
         "text/html"),
        ({"executionUnit": {"href": "https://x.org/a.cwl", "type": "image/png"}}, None,
         InvalidRequest, "image/png"),
        ({"executionUnit": "https://x.org/a.cwl"}, None, InvalidRequest, "an object"),
        ({"executionUnit": {"href": ""}}, None, InvalidRequest, "'href'"),
        ({"executionUnit": {"href": "a.cwl"}}, None, InvalidRequest, "scheme '(none)'"),
        ({"executionUnit": {"href": "http://127.0.0.1:9/a.cwl"}}, None, InvalidPackage,
         "cannot fetch the package 'http://127.0.0.1:9/a.cwl'"),
        (b"\xff\xfe", "application/cwl", InvalidPackage, "not UTF-8"),
    ],
)
def test_what_is_refused(reader, body, media_type, error, named):
    with pytest.raises(error) as caught:
        read(reader, body, media_type or "application/ogcapppkg+json")
    assert named in str(caught.value)
