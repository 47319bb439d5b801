"""The contract holds under generated requests: schemathesis sends requests made from
``openapi/ades.yaml`` (valid ones and ones the spec forbids) to the live server, under both
roots of the demo workspace, and checks that none earns a 5xx and that every answer is one
the spec documents: its status code, its content type, its headers and its body's schema.

Ids drawn at random name nothing, so valid requests would only ever meet 404s: the valid
ids are narrowed to processes of the workspace and to placeholders that each call replaces
with a real job (one successful, one failed, one created). Requests that change a job get a
job of their own. The answers are checked against the spec as it is.

A second, shorter run does the same on a server with ADES_AUTH=token, every request carrying
demo's token: the contract as served secured holds, and no answer refuses the token."""

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
from tests.api.conftest import Live, Secured

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
    # A job's event stream lasts as long as the job: only ended jobs give a whole answer.
    events = spec["paths"]["/jobs/{jobId}/events"]
    events["parameters"] = [{**parameters["jobId"], "schema": {
        "type": "string", "enum": ["successful-job", "failed-job", "no-such-job"]}}]
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


@schemathesis.check
def authenticated(ctx, response, case) -> bool | None:
    """The token was taken: no answer of the secured run refuses it (a 403 for what the
    request asks, an immutable process, is the operation's own)."""
    refused = response.status_code == 401 or (
        response.status_code == 403 and "NotAllowed" in response.text
    )
    if refused:
        raise AssertionError(f"refused with the token: {response.status_code} {response.text}")
    return None


def _job_ids(client: Live) -> dict[str, str]:
    ids = {"no-such-job": "no-such-job"}
    r = client.post("/demo/ogc-api/processes/echo/execution",
                    json={"inputs": {"stringInput": "contract"}},
                    headers={"Prefer": "respond-async"})
    ids["successful-job"] = r.json()["jobID"]
    client.wait_for(r.headers["Location"], {"successful"})
    r = client.post("/demo/ogc-api/processes/ndvi/execution", json={"inputs": DOOMED["inputs"]},
                    headers={"Prefer": "respond-async"})
    ids["failed-job"] = r.json()["jobID"]
    client.wait_for(r.headers["Location"], {"failed"})
    ids["created-job"] = client.post("/demo/ogc-api/jobs", json=DOOMED).json()["jobID"]
    return ids


def _fresh_job(client: Live) -> Callable[[], str]:
    return lambda: client.post("/demo/ogc-api/jobs", json=DOOMED).json()["jobID"]


def _call(client: Live, job_ids, fresh_job, root, case, headers=None, checks=CHECKS) -> None:
    job = case.path_parameters.get("jobId") if case.path_parameters else None
    if job in job_ids:
        changes = case.method != "GET"
        case.path_parameters["jobId"] = fresh_job() if changes else job_ids[job]
    if headers:
        # Over whatever was generated: schemathesis also makes cases without the
        # credentials the spec's security asks for.
        case.headers = {**(case.headers or {}), **headers}
    case.call_and_validate(base_url=client.url(f"/demo/{root}"), checks=checks, timeout=90)


@pytest.fixture(scope="module")
def job_ids(live) -> dict[str, str]:
    return _job_ids(live)


@pytest.fixture(scope="module")
def fresh_job(live) -> Callable[[], str]:
    return _fresh_job(live)


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
    _call(live, job_ids, fresh_job, root, case)


@pytest.fixture(scope="module")
def demo_client(secured: Secured) -> Live:
    """demo's token on the server with ADES_AUTH=token."""
    return secured.as_(secured.tokens["demo"])


@pytest.fixture(scope="module")
def secured_job_ids(demo_client) -> dict[str, str]:
    return _job_ids(demo_client)


@pytest.fixture(scope="module")
def secured_fresh_job(demo_client) -> Callable[[], str]:
    return _fresh_job(demo_client)


# The same with ADES_AUTH=token and demo's token on every request: the contract as it is
# served secured (every workspace operation requiring the bearer scheme) holds too. Fewer
# examples: this run proves that authentication changes no answer, not the answers anew.
@pytest.mark.parametrize("root", ["ogc-api", "wps3"])
@schema.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_with_a_token_meet_the_contract(
    secured, demo_client, secured_job_ids, secured_fresh_job, root, case
):
    headers = {"Authorization": f"Bearer {secured.tokens['demo']}"}
    _call(demo_client, secured_job_ids, secured_fresh_job, root, case, headers,
          [*CHECKS, authenticated])
