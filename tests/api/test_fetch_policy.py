"""What a server that is not the embedded default fetches, seen over HTTP: a server bound for
other hosts (ADES_AUTH=none behind a gateway) with ADES_FETCH_ALLOW=127.0.0.2/32,localhost.
Deploy hrefs, stage-in hrefs and callbacks to 127.0.0.1 are refused (deploy: 400; stage-in:
the job fails before the run; callbacks: a warning in the job's log), the allowed forms get
through, redirects are checked at each hop; s3:// inputs read other buckets only when the
workspace's settings.yaml lists them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.conftest import LAB, Live, poll, serve, server_settings
from tests.api.deploying import OGC1, package, unique

ASYNC = {"Prefer": "respond-async"}


class Files:
    """An HTTP server on ``host`` answering from ``pages`` (path → body, or ``("302",
    location)``); ``hits`` records the paths asked."""

    def __init__(self, host: str):
        self.pages: dict[str, bytes | tuple[str, str]] = {}
        self.hits: list[str] = []
        files = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                files.hits.append(self.path)
                page = files.pages.get(self.path)
                if isinstance(page, tuple):
                    self.send_response(302)
                    self.send_header("Location", page[1])
                    body = b""
                elif page is None:
                    self.send_response(404)
                    body = b"no"
                else:
                    self.send_response(200)
                    body = page
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextmanager
def files_on(host: str) -> Iterator[Files]:
    files = Files(host)
    try:
        yield files
    finally:
        files.server.shutdown()
        files.server.server_close()


@pytest.fixture(scope="module")
def exposed(seaweedfs, scene, tmp_path_factory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("exposed")
    settings = server_settings(root, seaweedfs, bucket="ades-fetch-policy-tests")
    # A workspace like lab whose inputs may read the scene's bucket.
    reader = settings.workspaces / "reader"
    reader.mkdir()
    (reader / "processes").symlink_to(LAB / "processes")
    bucket = scene.s3.split("/")[2]
    (reader / "settings.yaml").write_text(f"s3_read: [{bucket}]\n")
    settings = replace(settings, host="0.0.0.0", auth="none", fetch_allow="127.0.0.2/32,localhost")
    assert not settings.fetches_private
    with serve(settings) as live:
        yield live


@pytest.fixture(scope="module")
def loopback() -> Iterator[Files]:
    with files_on("127.0.0.1") as files:
        yield files


@pytest.fixture(scope="module")
def listed() -> Iterator[Files]:
    with files_on("127.0.0.2") as files:
        yield files


def _deploy(live: Live, href: str):
    return live.post("/lab/ogc-api/processes", data=json.dumps({"executionUnit": {"href": href}}),
                     headers={"Content-Type": "application/ogcapppkg+json"})


def _problem(r, status: int, type_uri: str, *named: str) -> dict:
    assert r.status_code == status, r.text
    problem = r.json()
    assert problem["type"] == type_uri
    for name in named:
        assert name in problem["detail"], problem["detail"]
    return problem


def test_a_deploy_href_to_loopback_is_400_naming_it(exposed, loopback):
    pid = unique("greet")
    loopback.pages[f"/{pid}.cwl"] = package("greet", pid).encode()
    href = f"{loopback.base}/{pid}.cwl"
    r = _deploy(exposed, href)
    _problem(r, 400, OGC1 + "invalid-package", href,
             "127.0.0.1 is a loopback address", "ADES_FETCH_ALLOW")
    assert f"/{pid}.cwl" not in loopback.hits


def test_a_deploy_href_allowed_by_cidr_or_by_host_name_deploys(exposed, listed, loopback):
    by_cidr = unique("greet")
    listed.pages[f"/{by_cidr}.cwl"] = package("greet", by_cidr).encode()
    assert _deploy(exposed, f"{listed.base}/{by_cidr}.cwl").status_code == 201
    by_name = unique("greet")
    loopback.pages[f"/{by_name}.cwl"] = package("greet", by_name).encode()
    r = _deploy(exposed, f"http://localhost:{loopback.port}/{by_name}.cwl")
    assert r.status_code == 201, r.text


def test_a_redirect_from_an_allowed_address_to_a_refused_one_is_400(exposed, listed, loopback):
    pid = unique("greet")
    loopback.pages[f"/{pid}.cwl"] = package("greet", pid).encode()
    listed.pages[f"/{pid}.cwl"] = ("302", f"{loopback.base}/{pid}.cwl")
    href = f"{listed.base}/{pid}.cwl"
    _problem(_deploy(exposed, href), 400, OGC1 + "invalid-package",
             href, "127.0.0.1 is a loopback address")
    assert f"/{pid}.cwl" in listed.hits
    assert f"/{pid}.cwl" not in loopback.hits


@pytest.mark.parametrize(
    ("href", "why"),
    [("http://169.254.169.254/latest/meta-data/app.cwl", "169.254.169.254 is a link-local"),
     ("http://[::ffff:169.254.169.254]/app.cwl", "::ffff:169.254.169.254 is a link-local"),
     ("http://100.100.100.200/app.cwl", "100.100.100.200 is a metadata")],
)
def test_a_deploy_href_to_a_metadata_address_is_400(exposed, href, why):
    _problem(_deploy(exposed, href), 400, OGC1 + "invalid-package", href, why, "never fetches")


@pytest.mark.parametrize("member", ["location: file:///etc/hostname", "path: /etc/hostname"])
def test_a_package_whose_default_is_a_local_file_is_400(exposed, member):
    pid = unique("leak")
    text = (
        "cwlVersion: v1.2\nclass: CommandLineTool\nid: " + pid + "\nbaseCommand: cat\n"
        "inputs:\n  secret:\n    type: File\n"
        "    default: {class: File, " + member + "}\n    inputBinding: {position: 1}\n"
        "outputs:\n  out: stdout\n"
    )
    r = exposed.post("/lab/ogc-api/processes", data=text,
                     headers={"Content-Type": "application/cwl+yaml"})
    _problem(r, 400, OGC1 + "invalid-package", "'secret'", "file:///etc/hostname")
    assert exposed.get(f"/lab/ogc-api/processes/{pid}").status_code == 404


def _run(live: Live, workspace: str, inputs: dict) -> dict:
    r = live.post(f"/{workspace}/ogc-api/processes/stac-assets/execution",
                  json={"inputs": inputs}, headers=ASYNC)
    assert r.status_code == 201, r.text
    return live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)


def test_a_stage_in_href_to_loopback_fails_the_job_naming_it(exposed, scene):
    href = f"{scene.http}/catalog.json"
    done = _run(exposed, "lab", {"scene": {"href": href}})
    assert done["status"] == "failed"
    assert done["message"].startswith(
        f"stage-in failed: input 'scene': {href}: refused: 127.0.0.1 is a loopback address")
    assert "ADES_FETCH_ALLOW" in done["message"]
    assert done["failure"]["category"] == "stage-in"


def test_an_s3_input_reads_another_bucket_only_when_the_workspace_lists_it(exposed, scene):
    href = f"{scene.s3}/scene/scene.json"
    bucket = scene.s3.split("/")[2]
    refused = _run(exposed, "lab", {"scene": href})
    assert refused["status"] == "failed"
    assert refused["message"] == (
        f"stage-in failed: input 'scene': {href}: bucket '{bucket}' is not readable by "
        f"workspace 'lab': list it under s3_read in the workspace's settings.yaml, or set "
        f"ADES_S3_READ_ANY=true")
    allowed = _run(exposed, "reader", {"scene": href})
    assert allowed["status"] == "successful", allowed


def test_a_callback_to_loopback_is_refused_once_in_the_jobs_log(exposed, loopback):
    target = f"{loopback.base}/called"
    body = {"inputs": {"stringInput": "unheard"}, "subscriber": {"successUri": target}}
    r = exposed.post("/demo/ogc-api/processes/echo/execution", json=body, headers=ASYNC)
    assert r.status_code == 201, r.text
    logs = r.headers["Location"] + "/logs"

    def warnings() -> list[str]:
        entries = exposed.http.get(logs, params={"level": "warning"}).json()["logs"]
        return [e["message"] for e in entries if e["level"] == "warning"]

    said = poll(warnings, bool, deadline=60)
    assert said == [f"callback (successUri) to {target} refused: 127.0.0.1 is a loopback "
                    f"address; list the host or a network holding the address in "
                    f"ADES_FETCH_ALLOW to allow it"]
    assert "/called" not in loopback.hits
