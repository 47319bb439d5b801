"""The checks of the OGC CITE suite ets-ogcapi-processes10-part2, in its order, against
/demo/ogc-api (the suite itself needs Maven Central, which this machine cannot reach):
conformance, the `mutable` indicator, 415 before anything else, deploy twice (201 then
409) with each body type, replace (204), undeploy a mutable (204) and an immutable (403)
process picked from the list."""

import pytest
import requests

from tests.api.deploying import CONF2, PART2, http_files, unique

ROOT = "/demo/ogc-api"
ACCEPT_JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def app_package(tmp_path_factory):
    """The suite's URL_APP_PKG: a CWL package on an HTTP server of its own."""
    folder = tmp_path_factory.mktemp("cite")
    process_id = unique("cite-echo")
    (folder / "echo.cwl").write_text(f"""\
cwlVersion: v1.2
class: CommandLineTool
id: {process_id}
baseCommand: echo
inputs:
  message: {{type: string, inputBinding: {{position: 1}}}}
outputs:
  echoed: stdout
""")
    with http_files(folder) as base:
        yield process_id, f"{base}/echo.cwl"


def processes(live):
    return live.get(f"{ROOT}/processes", headers=ACCEPT_JSON).json()["processes"]


@pytest.mark.conformance(CONF2 + "deploy-replace-undeploy")
def test_conformance_declares_deploy_replace_undeploy(live):
    assert CONF2 + "deploy-replace-undeploy" in live.get(f"{ROOT}/conformance").json()["conformsTo"]


def test_every_process_has_a_boolean_mutable(live):
    landing = live.get(f"{ROOT}/", headers=ACCEPT_JSON).json()
    alternate = next(link["href"] for link in landing["links"]
                     if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/processes")
    for listed in (processes(live), live.http.get(alternate).json()["processes"]):
        assert listed and all(isinstance(p["mutable"], bool) for p in listed)


@pytest.mark.parametrize(("method", "path"), [("POST", "/processes"),
                                              ("PUT", "/processes/echo")])
def test_unsupported_content_type_without_a_body(live, method, path):
    r = live.http.request(method, live.url(ROOT + path),
                          headers={**ACCEPT_JSON, "Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.json()["type"] == PART2 + "unsupported-media-type"


def _deploy_twice_replace_and_remove(live, content_type, body):
    url = live.url(f"{ROOT}/processes")
    headers = {**ACCEPT_JSON, "Content-Type": content_type}
    first = requests.post(url, data=body, headers=headers)
    assert first.status_code == 201, first.text
    locations = first.raw.headers.getlist("Location")
    assert len(locations) == 1
    process_id = locations[0].split("/processes/")[1]
    again = requests.post(url, data=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == PART2 + "duplicated-process"
    replaced = requests.put(f"{url}/{process_id}", data=body, headers=headers)
    assert replaced.status_code == 204, replaced.text
    assert requests.delete(f"{url}/{process_id}", headers=ACCEPT_JSON).status_code == 204
    return process_id


@pytest.mark.conformance(CONF2 + "cwl")
def test_cwl_deploy_replace(live, app_package):
    process_id, url = app_package
    text = requests.get(url).text
    assert _deploy_twice_replace_and_remove(live, "application/cwl+yaml", text) == process_id


@pytest.mark.conformance(CONF2 + "ogcapppkg")
def test_ogcapppkg_deploy_replace(live, app_package):
    process_id, url = app_package
    body = f'{{"executionUnit": {{"href": "{url}", "type": "application/cwl"}}}}'
    assert _deploy_twice_replace_and_remove(live, "application/ogcapppkg+json", body) \
        == process_id


@pytest.mark.conformance(CONF2 + "deploy-replace-undeploy")
def test_undeploy_the_first_mutable_process_listed(live, app_package):
    _, url = app_package
    body = {"executionUnit": {"href": url, "type": "application/cwl"}}
    assert live.post(f"{ROOT}/processes", json=body).status_code == 201
    mutable = next(p["id"] for p in processes(live) if p["mutable"])
    assert live.delete(f"{ROOT}/processes/{mutable}", headers=ACCEPT_JSON).status_code == 204
    assert mutable not in [p["id"] for p in processes(live)]


def test_undeploy_the_first_immutable_process_listed_is_403(live):
    immutable = next(p["id"] for p in processes(live) if not p["mutable"])
    r = live.delete(f"{ROOT}/processes/{immutable}", headers=ACCEPT_JSON)
    assert r.status_code == 403
    assert r.json()["type"] == PART2 + "immutable-process"
