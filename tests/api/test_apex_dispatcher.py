"""The calls ESA's APEx dispatcher (ESA-APEx/apex_dispatch_api, its ``OGCAPIProcessPlatform``)
makes to an OGC API - Processes platform, made here with the same client library
(ogc-api-processes-client 0.6) the same way: the process description read into parameters,
an execute with ``Accept: */*`` and no ``Prefer`` (so only a 201 with a status document will
do), the status polled and parsed strictly, and the results read as a qualified GeoJSON
FeatureCollection value whose features link (``rel: collection``) to a STAC Collection,
fetched with the same token, whose items and assets are then fetched. Once without
authentication and once with an API token, as the dispatcher sends its exchanged token.

(The dispatcher's other branch, a qualified value with the STAC Collection schema URL, cannot
work with this client: its ``InputValue`` turns any JSON object value into an empty
``InputValueNoObject`` as ``actual_instance``, which the dispatcher hands to
``Collection.model_validate``; only ``oneof_schema_2_validator``, which the FeatureCollection
branch reads, keeps the object. ``test_the_stac_collection_branch_cannot_work`` shows it.)"""

from __future__ import annotations

import json

import pytest
import requests
from ogc_api_processes_client.api_client import Configuration
from ogc_api_processes_client.api_client_wrapper import ApiClientWrapper
from ogc_api_processes_client.models.link import Link
from ogc_api_processes_client.models.qualified_input_value import QualifiedInputValue
from ogc_api_processes_client.models.status_info import StatusCode, StatusInfo
from stac_pydantic import Collection

from tests.api.conftest import REPO, Live, poll
from tests.api.deploying import OGC1, unique
from tests.api.test_deploy import assert_problem

# What the dispatcher compares a result's ``schema`` with (app/platforms/implementations/
# ogc_api_process.py).
STAC_COLLECTION_SCHEMA = (
    "https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json"
)
FEATURE_COLLECTION_SCHEMA = (
    "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/schemas/"
    "featureCollectionGeoJSON.yaml"
)
# The dispatcher's execute headers: it leaves Prefer out on purpose.
EXECUTE_HEADERS = {"accept": "*/*", "Content-Type": "application/json"}


def deploy_stac_items(live: Live, workspace: str = "lab") -> str:
    """Deploy examples/stac-items.cwl (STAC results as FeatureCollections) as an OGC
    application package whose processDescription makes it run only as a job."""
    pid = unique("stac-items")
    text = (REPO / "examples" / "stac-items.cwl").read_text().replace(
        "id: stac-items", f"id: {pid}")
    body = {
        "processDescription": {"process": {"id": pid,
                                           "jobControlOptions": ["async-execute", "dismiss"]}},
        "executionUnit": {"value": text, "mediaType": "application/cwl+yaml"},
    }  # fmt: skip
    r = live.post(f"/{workspace}/ogc-api/processes", data=json.dumps(body),
                  headers={"Content-Type": "application/ogcapppkg+json"})
    assert r.status_code == 201, r.text
    assert r.json()["jobControlOptions"] == ["async-execute", "dismiss"]
    return pid


def client(live: Live, workspace: str, token: str | None) -> ApiClientWrapper:
    """The client as the dispatcher builds it: host <endpoint>/<namespace>, and the token
    as a default Authorization header."""
    auth = {"header_name": "Authorization", "header_value": f"Bearer {token}"} if token else {}
    return ApiClientWrapper(Configuration(host=live.url(f"/{workspace}/ogc-api")), **auth)


def parameters(description) -> dict[str, dict]:
    """What the dispatcher reads of each input: its schema's type, enum and minOccurs."""
    found = {}
    for input_id, details in (description.inputs or {}).items():
        schema = details.model_dump().get("var_schema", {}).get("actual_instance", {})
        found[input_id] = {
            "type": schema.get("type", ""),
            "options": schema.get("enum") or [],
            "optional": details.min_occurs == 0,
        }
    return found


def dispatcher_flow(live: Live, token: str | None) -> tuple[dict, dict]:
    """Deploy, then everything the dispatcher does; (the Collection it would return, the
    raw results document)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    pid = deploy_stac_items(live)
    api = client(live, "lab", token)

    assert parameters(api.get_process_description(pid)) == {
        "word": {"type": "string", "options": [], "optional": False},
        "count": {"type": "integer", "options": [], "optional": True},
        "case": {"type": "string", "options": ["lower", "upper"], "optional": True},
    }

    status = api.execute_simple(
        process_id=pid,
        execute={"inputs": {"word": "apex", "count": 2, "case": "upper"}},
        _headers={**EXECUTE_HEADERS, **headers},
    )
    assert isinstance(status, StatusInfo)
    assert status.status in (StatusCode.ACCEPTED, StatusCode.RUNNING, StatusCode.SUCCESSFUL)

    final = poll(lambda: api.get_status(job_id=status.job_id),
                 lambda s: s.status in (StatusCode.SUCCESSFUL, StatusCode.FAILED), deadline=60)
    assert final.status == StatusCode.SUCCESSFUL, final
    assert final.progress == 100

    results = api.get_result(job_id=status.job_id)
    qualified = results["items"].actual_instance
    assert isinstance(qualified, QualifiedInputValue)
    assert qualified.var_schema.actual_instance == FEATURE_COLLECTION_SCHEMA
    features = qualified.value.oneof_schema_2_validator or {}
    hrefs = [link["href"] for feature in features.get("features", [])
             for link in feature.get("links", []) if link.get("rel") == "collection"]
    assert len(hrefs) == 2
    # The dispatcher GETs it with httpx, following redirects, with its token.
    response = requests.get(hrefs[0], headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    collection = Collection.model_validate(response.json())
    # The plain file output stays a link (which the dispatcher passes over).
    assert isinstance(results["summary"].actual_instance, Link)
    raw = live.get(f"/lab/ogc-api/jobs/{status.job_id}/results", headers=headers).json()
    jobs = f"/lab/ogc-api/jobs/{status.job_id}/results"
    assert_problem(live.get(f"{jobs}/summary/collection", headers=headers), 400,
                   OGC1 + "invalid-parameter-value", "output 'summary'")
    assert_problem(live.get(f"{jobs}/nothing/collection", headers=headers), 404,
                   OGC1 + "no-such-output", "'nothing'")
    return collection.model_dump(mode="json", by_alias=True, exclude_none=True), raw


def check_items(collection: dict, headers: dict[str, str]) -> None:
    """The collection links both items of the job; each item (read with the dispatcher's
    token) has a downloadable asset, which opens without it (a signed link when auth is on)."""
    items = [link for link in collection["links"] if link["rel"] == "item"]
    assert sorted(link["title"] for link in items) == ["item-0", "item-1"]
    assert collection["extent"]["spatial"]["bbox"] == [[0.0, 0.0, 2.0, 1.0]]
    said = []
    for link in items:
        item = requests.get(link["href"], headers=headers, timeout=10)
        assert item.status_code == 200, item.text
        asset = item.json()["assets"]["said"]
        said.append(requests.get(asset["href"], timeout=10).text)
    assert sorted(said) == ["APEX 0\n", "APEX 1\n"]
    # The collection's own assets are the same files.
    assert sorted(a["title"] for a in collection["assets"].values()) == [
        "What item 0 says", "What item 1 says"
    ]


def test_dispatcher_flow_without_auth(live):
    collection, raw = dispatcher_flow(live, None)
    check_items(collection, {})
    assert raw["items"]["schema"] == FEATURE_COLLECTION_SCHEMA
    assert raw["items"]["mediaType"] == "application/geo+json"
    features = raw["items"]["value"]["features"]
    assert [f["id"] for f in features] == ["item-0", "item-1"]
    assert {f["collection"] for f in features} == {collection["id"]}


def test_dispatcher_flow_with_a_token(secured):
    token = secured.tokens["lab"]
    collection, _ = dispatcher_flow(secured.as_(token), token)
    check_items(collection, {"Authorization": f"Bearer {token}"})
    # The item links need the token; the asset links carry a signature instead.
    item = next(link["href"] for link in collection["links"] if link["rel"] == "item")
    assert requests.get(item, timeout=10).status_code == 401
    assert all("signature=" in a["href"] for a in collection["assets"].values())


def test_the_stac_collection_branch_cannot_work():
    """Why the FeatureCollection form: a qualified value holding a STAC Collection comes out
    of the client as an ``actual_instance`` the dispatcher cannot validate."""
    from ogc_api_processes_client.models.inline_or_ref_data import InlineOrRefData

    value = {"type": "Collection", "id": "c", "description": "d", "license": "proprietary",
             "stac_version": "1.0.0", "links": [],
             "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]},
                        "temporal": {"interval": [[None, None]]}}}
    qualified = InlineOrRefData.from_json(json.dumps(
        {"mediaType": "application/json", "schema": STAC_COLLECTION_SCHEMA, "value": value}
    )).actual_instance
    assert qualified.value.oneof_schema_2_validator == value
    with pytest.raises(ValueError):
        Collection.model_validate(qualified.value.actual_instance)
