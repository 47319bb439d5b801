"""Content negotiation of raw results: the rules of ``ades.api.negotiation`` on their own,
then through HTTP on a synchronous raw execution (one output, several as multipart) and on
``GET …/results/{outputID}``, with the 406 and 400 answers when Accept cannot be met."""

from __future__ import annotations

import uuid

import pytest

from ades.api.negotiation import JSON, TEXT, best, offered_for_output, parse_accept
from ades.errors import InvalidRequest
from ades.model import Parameter

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
EXECUTE = "/demo/ogc-api/processes/echo/execution"
HELLO = {"inputs": {"stringInput": "hello world"}}
TWO = {"inputs": {"stringInput": "hi", "mixedInput": 7}}


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("text/plain", TEXT),
        ("TEXT/Plain", TEXT),
        ("text/*", TEXT),
        ("application/json", JSON),
        ("text/plain, application/json;q=0.9", TEXT),
        ("application/*;q=0.5, text/plain;q=0.4", JSON),
        ("text/plain;q=0, */*", JSON),  # the most specific range decides
        ("*/*;q=0.1, application/json;q=0", TEXT),
        ("text/plain;charset=utf-8;q=0.8, image/png", TEXT),
        ("image/png", None),
        ("application/json;q=0, text/plain;q=0", None),
    ],
)
def test_the_best_offered_type_for_an_accept_header(accept, chosen):
    assert best(parse_accept(accept), (JSON, TEXT)) == chosen


@pytest.mark.parametrize(
    ("accept", "named"),
    [
        ("json", "'json' is not a media range"),
        ("text/plain, /json", "'/json' is not a media range"),
        ("*/plain", "'*/plain' is not a media range"),
        ("text/plain;q=high", "'text/plain;q=high' has a q that is not a number from 0 to 1"),
        ("text/plain;q=1.5", "'text/plain;q=1.5' has a q that is not a number from 0 to 1"),
    ],
)
def test_a_malformed_accept_header_is_named(accept, named):
    with pytest.raises(InvalidRequest, match="Accept header: " + named.replace("*", r"\*")):
        parse_accept(accept)


@pytest.mark.parametrize(
    ("schema", "kind", "max_occurs", "by_reference", "offered"),
    [
        ({"type": "string"}, "literal", 1, False, (JSON, TEXT)),
        ({"oneOf": [{"type": "string"}, {"type": "number"}]}, "literal", 1, False, (JSON, TEXT)),
        ({"type": "string"}, "literal", 1, True, (JSON,)),
        ({"type": "string"}, "literal", "unbounded", False, (JSON,)),
        ({"type": "object"}, "literal", 1, False, (JSON,)),
        ({"type": "object"}, "File", 1, False, (JSON,)),
        ({}, "literal", 1, False, (JSON,)),
    ],
)
def test_what_an_output_is_offered_as(schema, kind, max_occurs, by_reference, offered):
    output = Parameter("out", schema, kind=kind, max_occurs=max_occurs)
    assert offered_for_output(output, by_reference) == offered


def _job_count(live):
    return live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"]


def _parts(r) -> dict[str, tuple[str, bytes]]:
    """Content-ID → (Content-Type, body) of a multipart/related answer."""
    media_type, boundary = r.headers["Content-Type"].split("; boundary=")
    assert media_type == "multipart/related"
    parts = r.content.split(b"--" + boundary.strip('"').encode())[1:-1]
    out = {}
    for part in parts:
        head, data = part.strip(b"\r\n").split(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        out[headers["Content-ID"]] = (headers["Content-Type"], data)
    return out


@pytest.mark.parametrize(
    ("accept", "content_type", "body"),
    [
        ("text/plain", "text/plain; charset=utf-8", b"hello world"),
        ("application/json", "application/json", b'"hello world"'),
        ("text/*;q=0.5, application/json;q=0.4", "text/plain; charset=utf-8", b"hello world"),
        ("image/png, */*;q=0.1", "application/json", b'"hello world"'),
        # Asked for several outputs' envelope, the one non-null output comes as itself.
        ("multipart/related", "application/json", b'"hello world"'),
    ],
)
def test_sync_raw_answers_in_the_type_accept_prefers(live, accept, content_type, body):
    r = live.post(EXECUTE, json=HELLO, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert (r.headers["Content-Type"], r.content) == (content_type, body)


def test_a_number_has_a_plain_text_form(live):
    body = {**TWO, "outputs": {"mixedOutput": {}}}
    r = live.post(EXECUTE, json=body, headers={"Accept": "text/plain"})
    assert (r.status_code, r.text) == (200, "7")


def test_sync_raw_that_nothing_acceptable_can_answer_is_406_before_a_job_exists(live):
    before = _job_count(live)
    r = live.post(EXECUTE, json=HELLO, headers={"Accept": "image/png"})
    assert r.status_code == 406, r.text
    problem = r.json()
    assert problem["type"] == OGC1 + "not-acceptable"
    assert problem["detail"] == ("output 'echoOutput' can be sent as application/json, "
                                 "text/plain; none is acceptable to 'Accept: image/png'")
    assert _job_count(live) == before


JSON_PARTS = (("application/json", b'"hi"'), ("application/json", b"7"))
TEXT_PARTS = (("text/plain; charset=utf-8", b"hi"), ("text/plain; charset=utf-8", b"7"))


@pytest.mark.parametrize(
    ("accept", "parts"),
    [
        # What the OGC test suite sends for raw executions of several outputs.
        ("application/json", JSON_PARTS),
        ("multipart/related", JSON_PARTS),
        ("multipart/related, text/plain", TEXT_PARTS),
    ],
)
def test_accept_chooses_the_parts_of_a_multipart_answer(live, accept, parts):
    r = live.post(EXECUTE, json=TWO, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert _parts(r) == dict(zip(["<echoOutput>", "<mixedOutput>"], parts, strict=True))


def test_a_part_that_has_no_acceptable_form_is_406_naming_it(live):
    """A link (an output by reference) is JSON only: plain text cannot carry it."""
    body = {**TWO, "outputs": {"echoOutput": {"transmissionMode": "reference"},
                               "mixedOutput": {}}}
    before = _job_count(live)
    r = live.post(EXECUTE, json=body, headers={"Accept": "text/plain"})
    assert r.status_code == 406, r.text
    assert r.json()["type"] == OGC1 + "not-acceptable"
    assert r.json()["detail"] == ("output 'echoOutput' can be sent as application/json; "
                                  "none is acceptable to 'Accept: text/plain'")
    assert _job_count(live) == before


@pytest.mark.parametrize(
    ("accept", "named"),
    [("plain", "'plain' is not a media range"), ("text/plain;q=x", "'text/plain;q=x' has a q")],
)
def test_a_malformed_accept_on_a_raw_execute_is_400(live, accept, named):
    before = _job_count(live)
    r = live.post(EXECUTE, json=HELLO, headers={"Accept": accept})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == OGC1 + "invalid-parameter-value"
    assert named in r.json()["detail"]
    assert _job_count(live) == before


def test_documents_are_json_whatever_accept_says(live):
    """Accept negotiates raw results; a results document is JSON, as every document is."""
    body = {**HELLO, "response": "document"}
    r = live.post(EXECUTE, json=body, headers={"Accept": "text/plain"})
    assert r.status_code == 200, r.text
    assert r.json() == {"echoOutput": "hello world"}


@pytest.fixture(scope="module")
def finished(live):
    r = live.post(EXECUTE, json=TWO, headers={"Prefer": "respond-async"})
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done
    return f"/demo/ogc-api/jobs/{done['jobID']}/results"


@pytest.mark.parametrize(
    ("output", "accept", "content_type", "body"),
    [
        ("echoOutput", None, "application/json", b'"hi"'),
        ("echoOutput", "text/plain", "text/plain; charset=utf-8", b"hi"),
        ("mixedOutput", "text/plain;q=0.9, application/json;q=0.8",
         "text/plain; charset=utf-8", b"7"),
    ],
)
def test_one_literal_output_is_negotiated(live, finished, output, accept, content_type, body):
    r = live.get(f"{finished}/{output}", headers={"Accept": accept} if accept else {})
    assert r.status_code == 200, r.text
    assert (r.headers["Content-Type"], r.content) == (content_type, body)


def test_one_literal_output_that_accept_refuses_is_406(live, finished):
    r = live.get(f"{finished}/echoOutput", headers={"Accept": "image/*"})
    assert r.status_code == 406
    assert r.json()["type"] == OGC1 + "not-acceptable"
    assert "output 'echoOutput'" in r.json()["detail"]
    assert "'Accept: image/*'" in r.json()["detail"]
    bad = live.get(f"{finished}/echoOutput", headers={"Accept": "text/plain;q=2"})
    assert bad.status_code == 400
    assert bad.json()["type"] == OGC1 + "invalid-parameter-value"
    assert "'text/plain;q=2'" in bad.json()["detail"]


RECORD_TOOL = """cwlVersion: v1.2
class: CommandLineTool
id: {pid}
baseCommand: "true"
inputs:
  n: int
outputs:
  pair:
    type:
      type: record
      fields:
        - name: count
          type: int
          outputBinding: {{outputEval: $(inputs.n)}}
"""


def test_a_literal_output_holding_an_object_is_its_json_not_a_file(live):
    """A record output is a literal whose value is an object: GET …/results/{outputID}
    answers its JSON (it was taken for a file and failed with a 500)."""
    pid = f"record-{uuid.uuid4().hex[:8]}"
    r = live.post("/demo/ogc-api/processes", data=RECORD_TOOL.format(pid=pid),
                  headers={"Content-Type": "application/cwl+yaml"})
    assert r.status_code == 201, r.text
    r = live.post(f"/demo/ogc-api/processes/{pid}/execution", json={"inputs": {"n": 3}},
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    assert live.wait_for(r.headers["Location"], {"successful", "failed"})["status"] == (
        "successful")
    output = live.http.get(r.headers["Location"] + "/results/pair", allow_redirects=False)
    assert output.status_code == 200, output.text
    assert output.headers["Content-Type"].startswith("application/json")
    assert output.json() == {"count": 3}
    refused = live.http.get(r.headers["Location"] + "/results/pair",
                       headers={"Accept": "text/plain"})
    assert refused.status_code == 406, refused.text
    assert refused.json()["type"] == OGC1 + "not-acceptable"
    assert "'pair'" in refused.json()["detail"]
