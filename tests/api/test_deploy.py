"""Deploying application packages (OGC API – Processes Part 2): every body type, the
process it makes, and every error, through HTTP on the live server."""

import json

import pytest
import yaml

from tests.api.deploying import (
    CONF2,
    CWL_YAML,
    OGC1,
    PACKAGES,
    PART2,
    http_files,
    package,
    unique,
)
from tests.ogc_documents import validate


@pytest.fixture(scope="module")
def files():
    with http_files(PACKAGES) as base:
        yield base


def deploy(live, body, content_type, workspace="lab", root="ogc-api", **kw):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return live.post(f"/{workspace}/{root}/processes", data=data,
                     headers={"Content-Type": content_type}, **kw)


def execute(live, process_id, inputs, workspace="lab"):
    r = live.post(f"/{workspace}/ogc-api/processes/{process_id}/execution",
                  json={"inputs": inputs, "response": "document"})
    assert r.status_code == 200, r.text
    return r.json()


def assert_deployed(live, r, process_id, workspace="lab", root="ogc-api"):
    assert r.status_code == 201, r.text
    location = live.url(f"/{workspace}/{root}/processes/{process_id}")
    assert r.raw.headers.getlist("Location") == [location]
    doc = r.json()
    assert doc["id"] == process_id
    assert doc["mutable"] is True
    assert isinstance(doc["warnings"], list)
    validate({k: v for k, v in doc.items() if k != "warnings"}, "processSummary.yaml")
    assert live.http.get(location).status_code == 200
    return doc


def assert_problem(r, status, type_uri, *named):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    problem = r.json()
    validate(problem, "exception.yaml")
    assert problem["type"] == type_uri
    for name in named:
        assert name in problem["detail"], problem["detail"]
    return problem


@pytest.mark.conformance(CONF2 + "deploy-replace-undeploy")
@pytest.mark.conformance(CONF2 + "cwl")
def test_deploy_cwl_yaml_describe_and_execute(live):
    pid = unique("greet")
    r = deploy(live, package("greet", pid), "application/cwl+yaml")
    doc = assert_deployed(live, r, pid)
    assert doc["version"] == "0.1.0"
    assert any("is a CommandLineTool, not a Workflow" in w for w in doc["warnings"])

    described = live.get(f"/lab/ogc-api/processes/{pid}").json()
    validate(described, "process.yaml")
    assert described["inputs"]["greeting"]["schema"] == {"type": "string", "default": "Hello"}
    assert described["inputs"]["greeting"]["minOccurs"] == 0
    assert described["inputs"]["name"]["minOccurs"] == 1
    # The CWL default is applied when the input is omitted.
    assert execute(live, pid, {"name": "Ada"}) == {"message": "Hello, Ada"}
    assert execute(live, pid, {"name": "Ada", "greeting": "Hi"}) == {"message": "Hi, Ada"}


@pytest.mark.conformance(CONF2 + "cwl")
@pytest.mark.parametrize("content_type", ["application/cwl+json", "application/cwl"])
def test_deploy_cwl_json_and_plain_cwl(live, content_type):
    pid = unique("greet")
    text = package("greet", pid)
    body = json.dumps(yaml.safe_load(text)) if content_type.endswith("json") else text
    assert_deployed(live, deploy(live, body, content_type), pid)
    assert execute(live, pid, {"name": "Bo"}) == {"message": "Hello, Bo"}
    served = live.get(f"/lab/ogc-api/processes/{pid}/package")
    assert served.status_code == 200
    assert served.text == body
    described = live.get(f"/lab/ogc-api/processes/{pid}").json()
    package_link = next(link for link in described["links"]
                        if link["rel"].endswith("/application-package"))
    assert package_link["href"] == served.url
    expected = "application/cwl+json" if content_type.endswith("json") else "application/cwl+yaml"
    assert package_link["type"] == served.headers["Content-Type"].split(";")[0] == expected


@pytest.mark.conformance(CONF2 + "ogcapppkg")
@pytest.mark.parametrize("form", ["json-value", "yaml-text"])
def test_deploy_ogcapppkg_with_the_cwl_inline(live, form):
    pid = unique("greet")
    text = package("greet", pid)
    if form == "json-value":
        unit = {"value": yaml.safe_load(text), "mediaType": "application/cwl+json"}
    else:
        unit = {"value": text, "mediaType": "application/cwl+yaml"}
    body = {"processDescription": {"process": {"id": pid}}, "executionUnit": unit}
    assert_deployed(live, deploy(live, body, "application/ogcapppkg+json"), pid)
    assert execute(live, pid, {"name": "Cy"}) == {"message": "Hello, Cy"}


@pytest.mark.conformance(CONF2 + "ogcapppkg")
def test_deploy_declares_job_control_options_which_replace_keeps_or_changes(live):
    pid = unique("greet")
    unit = {"value": package("greet", pid), "mediaType": "application/cwl+yaml"}
    body = {"processDescription": {"process": {"id": pid, "jobControlOptions": ["async-execute"]}},
            "executionUnit": unit}
    assert deploy(live, body, "application/ogcapppkg+json").status_code == 201
    assert live.get(f"/lab/ogc-api/processes/{pid}").json()["jobControlOptions"] == [
        "async-execute"]
    # Replaced without any: as the package says (all options).
    r = live.put(f"/lab/ogc-api/processes/{pid}", data=json.dumps({"executionUnit": unit}),
                 headers={"Content-Type": "application/ogcapppkg+json"})
    assert r.status_code == 204, r.text
    assert len(live.get(f"/lab/ogc-api/processes/{pid}").json()["jobControlOptions"]) == 3
    # The Part 1 process description form (no "process" member) is read too.
    body = {"processDescription": {"id": pid, "jobControlOptions": ["sync-execute"]},
            "executionUnit": unit}
    r = live.put(f"/lab/ogc-api/processes/{pid}", data=json.dumps(body),
                 headers={"Content-Type": "application/ogcapppkg+json"})
    assert r.status_code == 204, r.text
    assert live.get(f"/lab/ogc-api/processes/{pid}").json()["jobControlOptions"] == [
        "sync-execute"]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ([], "needs a list of jobControlOptions"),
        (["async-execute", "later"], "unknown jobControlOptions ['later']"),
        (["dismiss"], "must allow sync-execute or async-execute"),
    ],
)
def test_deploy_refuses_unusable_job_control_options(live, options, reason):
    pid = unique("greet")
    unit = {"value": package("greet", pid), "mediaType": "application/cwl+yaml"}
    body = {"processDescription": {"process": {"id": pid, "jobControlOptions": options}},
            "executionUnit": unit}
    assert_problem(deploy(live, body, "application/ogcapppkg+json"), 400,
                   OGC1 + "invalid-parameter-value", "processDescription jobControlOptions",
                   reason)
    assert live.get(f"/lab/ogc-api/processes/{pid}").status_code == 404


@pytest.mark.conformance(CONF2 + "ogcapppkg")
def test_deploy_ogcapppkg_linking_the_cwl_over_http(live, files):
    unit = {"href": f"{files}/greet.cwl", "type": "application/cwl"}
    workspace = "demo"  # lab has no 'greet' of its own, demo neither: one of each
    r = deploy(live, {"executionUnit": unit}, "application/ogcapppkg+json", workspace)
    try:
        assert_deployed(live, r, "greet", workspace)
        served = live.get("/demo/ogc-api/processes/greet/package")
        assert served.headers["Content-Type"].startswith("application/cwl+yaml")
        assert served.text == package("greet")
        as_app_package = live.get("/demo/ogc-api/processes/greet/package",
                                  headers={"Accept": "application/ogcapppkg+json"})
        assert as_app_package.json()["executionUnit"]["value"] == package("greet")
        # The EOEPCA alias <id>-<version with . as _> names the same process.
        alias = live.get("/demo/ogc-api/processes/greet-0_1_0")
        assert alias.status_code == 200 and alias.json()["id"] == "greet"
        assert execute(live, "greet-0_1_0", {"name": "Di"}, "demo") == {"message": "Hello, Di"}
    finally:
        assert live.delete("/demo/ogc-api/processes/greet").status_code == 204


def test_eoepca_body_fragment_picks_the_workflow_of_a_graph(live, files):
    body = {"executionUnit": {"href": f"{files}/snuggs.cwl#say_one", "type": "application/cwl"}}
    r = deploy(live, body, "application/json", "demo", root="wps3")
    try:
        assert_deployed(live, r, "say_one", "demo", root="wps3")
        described = live.get("/demo/wps3/processes/say_one").json()
        assert set(described["inputs"]) == {"word", "mode", "repeat", "suffix", "style"}
    finally:
        assert live.delete("/demo/wps3/processes/say_one").status_code == 204


def test_query_w_picks_the_workflow_of_a_graph(live):
    r = deploy(live, package("snuggs"), "application/cwl+yaml", "demo", params={"w": "say_one"})
    try:
        assert_deployed(live, r, "say_one", "demo")
        line = execute(live, "say_one", {"word": "hey", "mode": "quiet", "repeat": 1}, "demo")
        assert line == {"line": "hey"}
    finally:
        live.delete("/demo/ogc-api/processes/say_one")


def test_w_and_fragment_must_agree(live, files):
    body = {"executionUnit": {"href": f"{files}/snuggs.cwl#say_one"}}
    r = deploy(live, body, "application/json", params={"w": "snuggs"})
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", "'say_one'", "'snuggs'")


def test_deploy_from_s3_of_the_servers_bucket(live):
    pid = unique("greet")
    objects = live.server.services.objects
    key = f"lab/packages/{pid}.cwl"
    objects.put_bytes(package("greet", pid).encode(), key)
    body = {"executionUnit": {"href": objects.uri(key), "type": "application/cwl+yaml"}}
    assert_deployed(live, deploy(live, body, "application/ogcapppkg+json"), pid)
    missing = {"executionUnit": {"href": objects.uri("lab/packages/none.cwl")}}
    assert_problem(deploy(live, missing, "application/ogcapppkg+json"), 400,
                   OGC1 + "invalid-package", "packages/none.cwl")


def test_a_package_in_another_workspaces_prefix_is_not_read(live):
    """A deploy href reads the deploying workspace's prefix of the bucket only, as s3://
    inputs do: lab cannot deploy (and so read) what lies under demo/."""
    objects = live.server.services.objects
    pid = unique("greet")
    key = f"demo/packages/{pid}.cwl"
    objects.put_bytes(package("greet", pid).encode(), key)
    body = {"executionUnit": {"href": objects.uri(key)}}
    r = deploy(live, body, "application/ogcapppkg+json", "lab")
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", objects.uri(key),
                   "outside workspace 'lab'")
    assert live.get(f"/lab/ogc-api/processes/{pid}").status_code == 404


@pytest.mark.parametrize(
    ("href", "named"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://example.org/app.cwl", "scheme 'ftp'"),
        ("s3://another-bucket/app.cwl", "s3://another-bucket/app.cwl"),
    ],
)
def test_hrefs_the_server_does_not_read_are_refused(live, href, named):
    r = deploy(live, {"executionUnit": {"href": href}}, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", named)


def test_an_href_that_cannot_be_fetched_is_400_naming_it(live, files):
    r = deploy(live, {"executionUnit": {"href": f"{files}/absent.cwl"}}, "application/json")
    assert_problem(r, 400, OGC1 + "invalid-package", "absent.cwl", "404")


def test_duplicate_id_is_409(live):
    pid = unique("greet")
    assert deploy(live, package("greet", pid), "application/cwl+yaml").status_code == 201
    again = deploy(live, package("greet", pid), "application/cwl+yaml")
    assert_problem(again, 409, PART2 + "duplicated-process", f"'{pid}'")


def test_the_id_of_an_installed_process_is_409(live):
    echo = (live.get("/demo/ogc-api/processes/echo/package")).text
    assert_problem(deploy(live, echo, "application/cwl+yaml", "demo"), 409,
                   PART2 + "duplicated-process", "'echo'")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_installed_processes_are_immutable_403(live, method):
    kw = {"data": package("greet"), "headers": CWL_YAML} if method == "put" else {}
    r = getattr(live, method)("/demo/ogc-api/processes/echo", **kw)
    assert_problem(r, 403, PART2 + "immutable-process", "'echo'")
    assert live.get("/demo/ogc-api/processes/echo").json()["mutable"] is False


@pytest.mark.parametrize("path", ["/lab/ogc-api/processes", "/demo/ogc-api/processes/echo"])
def test_unsupported_media_type_is_415_before_anything_else(live, path):
    send = live.post if path.endswith("processes") else live.put
    r = send(path, data="hello", headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, PART2 + "unsupported-media-type", "text/plain")


def test_invalid_cwl_is_400_with_the_validators_line_and_nothing_is_stored(live):
    r = deploy(live, package("invalid"), "application/cwl+yaml")
    problem = assert_problem(r, 400, OGC1 + "invalid-package", "package.cwl:6:", "strng")
    assert "ades-package" not in problem["detail"]
    assert live.get("/lab/ogc-api/processes/broken").status_code == 404


def test_yaml_that_does_not_parse_is_400_naming_the_line(live):
    r = deploy(live, "cwlVersion: v1.2\nclass: [Workflow\n", "application/cwl+yaml")
    assert_problem(r, 400, OGC1 + "invalid-package", "package.cwl:2:")


def test_a_required_container_without_an_engine_is_400_and_nothing_is_stored(live):
    r = deploy(live, package("boxed"), "application/cwl+yaml")
    assert_problem(r, 400, OGC1 + "invalid-package", "DockerRequirement",
                   "ADES_CONTAINER_ENGINE=none", "alpine:3.20")
    assert live.get("/lab/ogc-api/processes/boxed").status_code == 404


def test_a_container_as_a_hint_is_fine_without_an_engine(live):
    pid = unique("hinted")
    text = package("boxed", pid).replace("requirements:", "hints:")
    assert_deployed(live, deploy(live, text, "application/cwl+yaml"), pid)
    r = live.post(f"/lab/ogc-api/processes/{pid}/execution", json={"inputs": {"name": "x"}})
    assert r.status_code == 200, r.text


def test_a_package_without_an_id_is_400(live):
    text = package("greet").replace("id: greet\n", "")
    assert_problem(deploy(live, text, "application/cwl+yaml"), 400, OGC1 + "invalid-package",
                   "no id")


def test_a_body_without_execution_unit_is_400(live):
    r = deploy(live, {"processDescription": {}}, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", "executionUnit")


def test_a_bare_container_execution_unit_is_400(live):
    body = {"executionUnit": {"type": "docker", "image": "example/ndvi:1"}}
    r = deploy(live, body, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", "'docker'")


def test_strict_workspace_refuses_best_practice_violations(live):
    r = deploy(live, package("greet"), "application/cwl+yaml", "strict")
    assert_problem(r, 400, OGC1 + "invalid-package", "workspace 'strict'",
                   "not a Workflow", "names no container image")
    assert live.get("/strict/ogc-api/processes/greet").status_code == 404


@pytest.mark.parametrize("method", ["put", "delete"])
def test_replace_or_undeploy_an_unknown_process_is_404(live, method):
    kw = {"data": package("greet"), "headers": CWL_YAML} if method == "put" else {}
    r = getattr(live, method)("/lab/ogc-api/processes/nope", **kw)
    assert_problem(r, 404, OGC1 + "no-such-process", "'nope'")


def test_deploy_in_an_unknown_workspace_is_404(live):
    r = deploy(live, package("greet"), "application/cwl+yaml", "nowhere")
    assert_problem(r, 404, OGC1 + "no-such-workspace", "'nowhere'")


def test_conformance_claims_part_2(live):
    claimed = live.get("/lab/ogc-api/conformance").json()["conformsTo"]
    for name in ("deploy-replace-undeploy", "ogcapppkg", "cwl"):
        assert CONF2 + name in claimed


def test_strict_workspace_takes_a_package_that_follows_the_best_practice(live):
    pid = unique("tidy")
    r = deploy(live, package("tidy", pid), "application/cwl+yaml", "strict")
    assert assert_deployed(live, r, pid, "strict")["warnings"] == []
    assert live.delete(f"/strict/ogc-api/processes/{pid}").status_code == 204


def test_a_process_description_naming_another_id_is_400(live):
    pid = unique("greet")
    body = {"processDescription": {"process": {"id": "something-else"}},
            "executionUnit": {"value": package("greet", pid), "mediaType": "application/cwl"}}
    r = deploy(live, body, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", "'something-else'", f"'{pid}'")
    assert live.get(f"/lab/ogc-api/processes/{pid}").status_code == 404


@pytest.mark.parametrize(("content_type", "type_uri", "named"), [
    ("application/cwl+yaml", OGC1 + "invalid-package", "empty"),
    ("application/ogcapppkg+json", OGC1 + "invalid-parameter-value", "RequestBody"),
])
def test_an_empty_body_is_400(live, content_type, type_uri, named):
    assert_problem(deploy(live, b"", content_type), 400, type_uri, named)


def test_a_body_that_looks_like_a_path_is_cwl_text_never_a_file_to_read(live):
    r = deploy(live, str(PACKAGES / "greet.cwl"), "application/cwl")
    problem = assert_problem(r, 400, OGC1 + "invalid-package", "mapping")
    assert "Hello" not in problem["detail"]
