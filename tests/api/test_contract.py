"""The contract holds under generated requests: schemathesis sends requests made from
``openapi/ades.yaml`` (valid ones and ones the spec forbids) to the live server, under both
roots of the demo workspace, and checks that none earns a 5xx and that every answer is one
the spec documents: its status code, its content type, its headers and its body's schema.

Ids drawn at random name nothing, so valid requests would only ever meet 404s: the valid
ids are narrowed to processes of the workspace and to placeholders that each call replaces
with a real job (one successful, one failed, one created). Requests that change a job get a
job of their own. The answers are checked against the spec as it is."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ades.api.spec import load_spec

PROCESSES = ["echo", "ndvi", "no-such-process"]
JOBS = ["successful-job", "failed-job", "created-job", "no-such-job"]
# A job that fails at stage-in as soon as it is started: nothing runs for long.
DOOMED = {
    "process": "ndvi",
    "inputs": {"red": {"href": "s3://no-such-bucket-here/B04.tif"},
               "nir": {"href": "s3://no-such-bucket-here/B08.tif"}},
}


def _generation_spec() -> dict:
    spec = copy.deepcopy(load_spec())
    parameters = spec["components"]["parameters"]
    parameters["processId"]["schema"] = {"type": "string", "enum": PROCESSES}
    parameters["jobId"]["schema"] = {"type": "string", "enum": JOBS}
    return spec


schema = schemathesis.openapi.from_dict(_generation_spec())
# application/cwl is CWL text (YAML or JSON): sent as it is, like text/plain.
schemathesis.serializer.alias("application/cwl", "text/plain")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def job_ids(live) -> dict[str, str]:
    ids = {"no-such-job": "no-such-job"}
    r = live.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "contract"}}, headers={"Prefer": "respond-async"})
    ids["successful-job"] = r.json()["jobID"]
    live.wait_for(r.headers["Location"], {"successful"})
    r = live.post("/demo/ogc-api/processes/ndvi/execution", json={"inputs": DOOMED["inputs"]},
                  headers={"Prefer": "respond-async"})
    ids["failed-job"] = r.json()["jobID"]
    live.wait_for(r.headers["Location"], {"failed"})
    ids["created-job"] = live.post("/demo/ogc-api/jobs", json=DOOMED).json()["jobID"]
    return ids


@pytest.fixture(scope="module")
def fresh_job(live) -> Callable[[], str]:
    return lambda: live.post("/demo/ogc-api/jobs", json=DOOMED).json()["jobID"]


@pytest.mark.parametrize("root", ["ogc-api", "wps3"])
@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_meet_the_contract(live, job_ids, fresh_job, root, case):
    job = case.path_parameters.get("jobId") if case.path_parameters else None
    if job in job_ids:
        changes = case.method != "GET"
        case.path_parameters["jobId"] = fresh_job() if changes else job_ids[job]
    case.call_and_validate(base_url=live.url(f"/demo/{root}"), checks=CHECKS, timeout=90)
