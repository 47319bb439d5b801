"""OGC API - Processes clients that nobody here wrote, driving the live server: OWSLib and
EOEPCA's ogc-api-processes-client, each through a synchronous raw execution, a synchronous
document execution and an asynchronous one (submit, poll the status, read the results),
under both roots of the demo workspace."""

from __future__ import annotations

import json

import pytest
import requests
from ogc_api_processes_client.api.execute_api import ExecuteApi
from ogc_api_processes_client.api.result_api import ResultApi
from ogc_api_processes_client.api_client import Configuration
from ogc_api_processes_client.api_client_wrapper import ApiClientWrapper
from ogc_api_processes_client.models.execute import Execute
from ogc_api_processes_client.models.execute_inputs_value import ExecuteInputsValue
from ogc_api_processes_client.models.inline_or_ref_data import InlineOrRefData
from ogc_api_processes_client.models.input_value_no_object import InputValueNoObject
from ogc_api_processes_client.models.link import Link
from ogc_api_processes_client.models.status_info import StatusCode, StatusInfo
from owslib.ogcapi.processes import Processes

from tests.api.conftest import poll

ROOTS = ["ogc-api", "wps3"]
WORDS = "hello from a client"
FINISHED = {"successful", "failed", "dismissed"}


def eoepca_value(doc: dict, output_id: str = "echoOutput") -> dict:
    """One output's value in the EOEPCA results document that `wps3` answers with."""
    return next(o["value"] for o in doc["outputs"] if o["id"] == output_id)


# --- OWSLib 0.35 ----------------------------------------------------------------------
# `Processes.execute` POSTs with `Accept: */*` (it drops its own Accept for JSON bodies,
# leaving requests' default) and reads every answer with `response.json()`.


@pytest.fixture
def owslib(live, root) -> Processes:
    return Processes(live.url(f"/demo/{root}"))


@pytest.mark.parametrize("root", ROOTS)
def test_owslib_sync_raw(owslib, root):
    answer = owslib.execute("echo", inputs={"stringInput": WORDS}, response="raw")
    if root == "ogc-api":
        # The raw value itself, JSON-encoded since nothing else was asked for.
        assert answer == WORDS
        assert owslib.response_headers["Content-Type"] == "application/json"
    else:
        assert eoepca_value(answer) == {"inlineValue": WORDS}


@pytest.mark.parametrize("root", ROOTS)
def test_owslib_sync_document(owslib, root):
    answer = owslib.execute("echo", inputs={"stringInput": WORDS, "mixedInput": 4.5},
                            response="document")
    if root == "ogc-api":
        assert answer == {"echoOutput": WORDS, "mixedOutput": 4.5}
    else:
        assert eoepca_value(answer) == {"inlineValue": WORDS}
        assert eoepca_value(answer, "mixedOutput") == {"inlineValue": 4.5}


@pytest.mark.parametrize("root", ROOTS)
def test_owslib_async(live, owslib, root):
    status = owslib.execute("echo", inputs={"stringInput": WORDS}, async_=True)
    assert status["status"] in {"accepted", "running", "successful"}
    job_id = status["jobID"]
    assert owslib.response_headers["Location"] == live.url(f"/demo/{root}/jobs/{job_id}")
    # OWSLib 0.35 has no job methods: its own request helper reads the job resources, as
    # its process methods do.
    done = poll(lambda: owslib._request(path=f"jobs/{job_id}"), lambda d: d["status"] in FINISHED)
    assert done["status"] == "successful", done
    results = owslib._request(path=f"jobs/{job_id}/results")
    if root == "ogc-api":
        assert results == {"echoOutput": WORDS}
    else:
        assert eoepca_value(results) == {"inlineValue": WORDS}


# --- ogc-api-processes-client 0.6 ------------------------------------------------------
# Generated from the OGC OpenAPI document; it sends `Accept: application/json` and parses
# answers into pydantic models. Its `oneOf` models have overlapping branches (a JSON string
# is both `str` and `bytes`, a number both `float` and `int`), so they refuse every bare
# string or number, whichever server sent it: a string input is built without that check,
# a raw string answer is read through the client's `*_without_preload_content` call (the
# same request, undecoded), and async results are asked for by reference (a Link parses).


def string_input(value: str) -> ExecuteInputsValue:
    return ExecuteInputsValue(InlineOrRefData(InputValueNoObject.model_construct(
        actual_instance=value)))


@pytest.fixture
def client(live, root) -> ApiClientWrapper:
    return ApiClientWrapper(configuration=Configuration(host=live.url(f"/demo/{root}")))


@pytest.mark.parametrize("root", ROOTS)
def test_ogc_api_processes_client_sync_raw(client, root):
    request = Execute(inputs={"stringInput": string_input(WORDS)}, response="raw")
    answer = ExecuteApi(client.api_client).execute_without_preload_content("echo", request)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    if root == "ogc-api":
        assert json.loads(answer.data) == WORDS
    else:
        assert eoepca_value(json.loads(answer.data)) == {"inlineValue": WORDS}


@pytest.mark.parametrize("root", ROOTS)
def test_ogc_api_processes_client_sync_document(client, root):
    request = Execute(inputs={"stringInput": string_input(WORDS)}, response="document")
    answer = client.execute("echo", request).actual_instance
    if root == "ogc-api":
        assert answer == {"echoOutput": WORDS}
    else:
        assert eoepca_value(answer) == {"inlineValue": WORDS}


@pytest.mark.parametrize("root", ROOTS)
def test_ogc_api_processes_client_async(client, root):
    request = {"inputs": {"stringInput": WORDS},
               "outputs": {"echoOutput": {"transmissionMode": "reference"}}}
    status = client.execute_simple("echo", request, _headers={"Prefer": "respond-async"})
    assert isinstance(status, StatusInfo)
    done = poll(lambda: client.get_status(status.job_id),
                lambda s: s.status in {StatusCode.SUCCESSFUL, StatusCode.FAILED})
    assert done.status == StatusCode.SUCCESSFUL, done
    assert done.progress == 100
    if root == "ogc-api":
        link = client.get_result(status.job_id)["echoOutput"].actual_instance
        assert isinstance(link, Link)
        assert link.type == "text/plain"
        assert requests.get(link.href, timeout=10).text == WORDS
    else:
        # `wps3` promises the EOEPCA results document, which is not the OGC results
        # document the client's model expects: read it undecoded.
        raw = ResultApi(client.api_client).get_result_without_preload_content(status.job_id)
        value = eoepca_value(json.loads(raw.data))
        assert value["href"].startswith("s3://")
        assert value["type"] == "text/plain"
