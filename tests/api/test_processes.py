"""Process list and descriptions derived from the workspace's CWL packages."""

import pytest

from tests.ogc_documents import validate

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"


@pytest.mark.parametrize("root", ["ogc-api", "wps3"])
def test_list_processes(live, root):
    r = live.get(f"/demo/{root}/processes")
    assert r.status_code == 200
    doc = r.json()
    validate(doc, "processList.yaml")
    ids = [p["id"] for p in doc["processes"]]
    assert {"echo", "ndvi"} <= set(ids)
    echo = next(p for p in doc["processes"] if p["id"] == "echo")
    assert echo["version"] == "1.0.0"
    assert set(echo["jobControlOptions"]) == {"sync-execute", "async-execute", "dismiss"}


def test_list_processes_pages_with_limit_and_next(live):
    first = live.get("/demo/ogc-api/processes", params={"limit": 1}).json()
    assert len(first["processes"]) == 1
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = live.http.get(nxt).json()
    assert len(second["processes"]) == 1
    assert second["processes"][0]["id"] != first["processes"][0]["id"]
    assert any(link["rel"] == "prev" for link in second["links"])


@pytest.mark.conformance(CONF + "ogc-process-description")
def test_describe_echo(live):
    r = live.get("/demo/ogc-api/processes/echo")
    assert r.status_code == 200
    doc = r.json()
    validate(doc, "process.yaml")
    string_input = doc["inputs"]["stringInput"]
    assert string_input["schema"]["type"] == "string"
    assert "enum" not in string_input["schema"]
    assert string_input["minOccurs"] == 1
    assert doc["inputs"]["pause"]["minOccurs"] == 0
    assert doc["outputs"]["echoOutput"]["schema"]["type"] == "string"


def test_describe_ndvi_has_file_inputs_and_a_directory_output(live):
    doc = live.get("/demo/ogc-api/processes/ndvi").json()
    validate(doc, "process.yaml")
    assert set(doc["inputs"]) >= {"red", "nir"}
    assert "ndvi_catalog" in doc["outputs"]


def test_unknown_process_is_404_naming_it(live):
    r = live.get("/demo/ogc-api/processes/nope")
    assert r.status_code == 404
    assert r.json()["type"] == OGC1 + "no-such-process"
    assert "'nope'" in r.json()["detail"]
    validate(r.json(), "exception.yaml")


@pytest.mark.parametrize("value", ["0", "abc", "-3"])
def test_bad_limit_is_400_naming_it(live, value):
    r = live.get("/demo/ogc-api/processes", params={"limit": value})
    assert r.status_code == 400
    assert r.json()["type"] == OGC1 + "invalid-parameter-value"
    assert "limit" in r.json()["detail"]


def _schemas(node):
    """Every JSON Schema object nested in a description's input/output schema."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_echo_description_is_what_the_cite_suite_reads(live):
    """Mirrors ets-ogcapi-processes10 (it cannot run here without Maven Central): the suite
    sends a plain string to the first input, and its schema checks refuse constructs of
    JSON Schema that OpenAPI 3.0 schemas do not have."""
    doc = live.get("/demo/ogc-api/processes/echo").json()
    assert isinstance(doc["inputs"], dict) and isinstance(doc["outputs"], dict)
    first = next(iter(doc["inputs"].values()))
    assert first["schema"] == {"type": "string"}
    for where in ("inputs", "outputs"):
        for schema in _schemas([p["schema"] for p in doc[where].values()]):
            assert not {"const", "examples", "$schema"} & set(schema), schema
            assert not isinstance(schema.get("type"), list), schema
            assert schema.get("type") != "null", schema
        assert any("oneOf" in p["schema"] for p in doc[where].values()), where
