"""The workspace's deployed processes as openEO processes, and the file formats they take
and produce."""

from __future__ import annotations

import openeo

from tests.api.conftest import Live

ROOT = "/demo/openeo/1.2"


def test_the_deployed_processes_are_openeo_processes(live: Live):
    doc = live.get(f"{ROOT}/processes").json()
    processes = {p["id"]: p for p in doc["processes"]}
    echo = processes["echo"]
    assert echo["summary"] == "Echo"
    assert echo["description"].startswith("The OGC API - Processes test process")
    assert echo["categories"]
    params = {p["name"]: p for p in echo["parameters"]}
    assert list(params)[:2] == ["stringInput", "pause"]  # in the package's order
    assert params["stringInput"] == {
        "name": "stringInput",
        "description": "The string to echo back.",
        "schema": {"type": "string"},
    }
    assert params["pause"]["optional"] is True
    assert params["pause"]["schema"] == {"type": "number"}
    # Several outputs: returned as one object of them.
    assert set(echo["returns"]["schema"]["properties"]) == {"echoOutput", "mixedOutput"}
    ndvi = processes["ndvi"]
    red = next(p for p in ndvi["parameters"] if p["name"] == "red")
    assert red["schema"]["properties"]["href"]["format"] == "uri"
    assert "optional" not in red
    assert ndvi["returns"]["schema"]["type"] == "object"  # a reference to its STAC catalog


def test_the_openeo_client_lists_them(live: Live):
    connection = openeo.connect(live.url(ROOT))
    assert {"echo", "ndvi"} <= {p["id"] for p in connection.list_processes()}


def test_processes_page_with_a_next_link(live: Live):
    first = live.get(f"{ROOT}/processes", params={"limit": 1}).json()
    assert len(first["processes"]) == 1
    (next_href,) = [link["href"] for link in first["links"] if link["rel"] == "next"]
    second = live.http.get(next_href).json()
    assert second["processes"][0]["id"] != first["processes"][0]["id"]


def test_a_limit_out_of_range_is_a_bad_request_naming_it(live: Live):
    r = live.get(f"{ROOT}/processes", params={"limit": 0})
    assert r.status_code == 400
    assert r.json()["code"] == "BadRequest"
    assert "'limit'" in r.json()["message"]


def test_file_formats_are_what_the_outputs_produce(live: Live):
    doc = live.get(f"{ROOT}/file_formats").json()
    # ndvi writes a STAC catalog of a GeoTIFF, echo answers JSON values.
    assert {"GTiff", "JSON"} <= set(doc["output"])
    gtiff = doc["output"]["GTiff"]
    assert gtiff["gis_data_types"] == ["raster"]
    assert gtiff["parameters"] == {}
    assert gtiff["title"]
    # ndvi takes files: any file format is an input.
    assert {"GTiff", "netCDF", "PNG"} <= set(doc["input"])
    connection = openeo.connect(live.url(ROOT))
    assert "GTiff" in connection.list_output_formats()
