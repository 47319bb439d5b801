"""A workspace's jobs never read another workspace's objects as inputs: with
ADES_AUTH=token, a job of lab naming demo's results in the results bucket
(``s3://<bucket>/demo/…``), or linking demo's download route (which it calls without a
token: the server refuses its own loopback address unless ADES_FETCH_ALLOW lists it, and
then the route answers 401), fails at stage-in naming the reference, and nothing of demo
reaches lab's results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from ades.auth.tokens import TokenStore
from tests.api.conftest import Live, Secured, serve, server_settings
from tests.api.deploying import CWL_YAML, unique

# A lab process that copies the File it is given.
COPY = """\
cwlVersion: v1.2
class: CommandLineTool
id: {pid}
baseCommand: cat
inputs:
  source: {{type: File, inputBinding: {{position: 1}}}}
outputs:
  copied: {{type: stdout}}
"""
SECRET = "demo's result, not lab's"


def echo_by_reference(demo) -> str:
    """Runs demo's echo of SECRET synchronously; the download route of its output file,
    without the signature of the link the results give (a signed link is a credential of
    its own, for whoever it is handed to)."""
    body = {"inputs": {"stringInput": SECRET},
            "outputs": {"echoOutput": {"transmissionMode": "reference"}},
            "response": "document"}
    r = demo.post("/demo/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    return r.json()["echoOutput"]["href"].split("?", 1)[0]


@pytest.fixture(scope="module")
def demo_result(secured: Secured) -> tuple[str, str]:
    """A finished job of demo whose output is a file: (its s3:// URI, its download href)."""
    demo = secured.as_(secured.tokens["demo"])
    href = echo_by_reference(demo)
    job_id = href.split("/jobs/", 1)[1].split("/", 1)[0]
    objects = secured.live.server.services.objects
    keys = [k for k in objects.list_keys(f"demo/jobs/{job_id}/") if not k.endswith("/")]
    (key,) = [k for k in keys if objects.get_bytes(k) == SECRET.encode()]
    return objects.uri(key), href


@pytest.fixture(scope="module")
def lab(secured: Secured) -> tuple[Live, str]:
    """Lab's client, and the id of its copying process."""
    client = secured.as_(secured.tokens["lab"])
    pid = unique("copy")
    r = client.post("/lab/ogc-api/processes", data=COPY.format(pid=pid), headers=CWL_YAML)
    assert r.status_code == 201, r.text
    return client, pid


def _run_in_lab(lab: tuple[Live, str], process: str, inputs: dict) -> dict:
    client, pid = lab
    r = client.post(f"/lab/ogc-api/processes/{process or pid}/execution",
                    json={"inputs": inputs}, headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    return client.wait_for(r.headers["Location"], {"successful", "failed", "dismissed"})


def _assert_not_staged(lab: tuple[Live, str], done: dict, href: str, why: str) -> None:
    assert done["status"] == "failed", done
    assert href in done["message"], done["message"]
    assert why in done["message"], done["message"]
    client, _ = lab
    results = client.get(f"/lab/ogc-api/jobs/{done['jobID']}/results")
    assert results.status_code >= 400
    assert SECRET not in results.text


def test_a_lab_job_cannot_read_demos_results_from_the_bucket(lab, demo_result):
    uri, _ = demo_result
    done = _run_in_lab(lab, "", {"source": {"href": uri}})
    _assert_not_staged(lab, done, uri, "lies outside workspace 'lab' in the results bucket")


def test_nor_demos_job_folder_as_a_directory(lab, demo_result):
    uri, _ = demo_result
    folder = uri.rsplit("/", 2)[0] + "/"  # s3://<bucket>/demo/jobs/<id>/
    done = _run_in_lab(lab, "stac-assets", {"scene": {"href": folder}})
    _assert_not_staged(lab, done, folder, "lies outside workspace 'lab' in the results bucket")


def test_nor_demos_workspace_data(secured, lab):
    uri = secured.live.server.services.objects.uri("demo/data/app.cwl")
    done = _run_in_lab(lab, "", {"source": {"href": uri}})
    _assert_not_staged(lab, done, uri, "lies outside workspace 'lab' in the results bucket")


def test_nor_demos_download_route_which_it_may_not_even_reach(secured, lab, demo_result):
    _, href = demo_result
    # Demo's own token reads it; the route without one is refused.
    assert secured.as_(secured.tokens["demo"]).get(href.removeprefix(secured.live.base)).ok
    assert secured.as_(None).http.get(href, allow_redirects=False).status_code == 401
    # With authentication the server fetches no loopback address unless ADES_FETCH_ALLOW
    # lists it: the server's own included.
    done = _run_in_lab(lab, "", {"source": {"href": href}})
    _assert_not_staged(lab, done, href, "127.0.0.1 is a loopback address")


@pytest.fixture(scope="module")
def reachable(seaweedfs, tmp_path_factory) -> Iterator[Secured]:
    """A token-mode server whose jobs may fetch from 127.0.0.1, its own address."""
    root = tmp_path_factory.mktemp("reachable")
    settings = server_settings(root, seaweedfs, bucket="ades-reachable-tests")
    settings = replace(settings, auth="token", allow_uncontained=True, fetch_allow="127.0.0.1")
    with serve(settings) as live:
        store = TokenStore(live.server.services.database)
        tokens = {ws: store.create(ws)[1] for ws in ("demo", "lab")}
        yield Secured(live, tokens, "")


def test_a_job_reaching_demos_download_route_gets_no_token_from_the_server(reachable):
    demo, lab = (reachable.as_(reachable.tokens[ws]) for ws in ("demo", "lab"))
    href = echo_by_reference(demo)
    pid = unique("copy")
    r = lab.post("/lab/ogc-api/processes", data=COPY.format(pid=pid), headers=CWL_YAML)
    assert r.status_code == 201, r.text
    done = _run_in_lab((lab, pid), "", {"source": {"href": href}})
    _assert_not_staged((lab, pid), done, href, "HTTP 401")
