"""The download route every result href points to, ``…/jobs/{id}/download/{path}``: a
302 to a URL made now when the S3 is reachable by clients, the bytes streamed (with Range)
when it is not, and never an object outside the job."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.api.conftest import serve, server_settings

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
BY_REFERENCE = {
    "outputs": {"echoOutput": {"transmissionMode": "reference"}},
    "response": "document",
}


def _file_job(live, text: str, workspace: str = "demo") -> tuple[str, str]:
    """A successful echo job whose output is a file: (job id, the file's href)."""
    body = {"inputs": {"stringInput": text}, **BY_REFERENCE}
    r = live.post(f"/{workspace}/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    href = r.json()["echoOutput"]["href"]
    job_id = href.split("/jobs/", 1)[1].split("/", 1)[0]
    assert href.startswith(live.url(f"/{workspace}/ogc-api/jobs/{job_id}/download/"))
    return job_id, href


@pytest.fixture(scope="module")
def streaming(seaweedfs, tmp_path_factory):
    settings = server_settings(tmp_path_factory.mktemp("streaming"), seaweedfs)
    with serve(dataclasses.replace(settings, result_downloads="stream")) as server:
        yield server


def test_with_a_reachable_s3_the_route_redirects_to_a_url_made_now(live, seaweedfs):
    _, href = _file_job(live, "redirected")
    r = live.http.get(href, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(seaweedfs.endpoint)
    assert requests.get(href, timeout=10).content == b"redirected"


def test_without_one_the_route_streams_the_file_and_honours_range(streaming):
    _, href = _file_job(streaming, "streamed bytes")
    r = streaming.http.get(href, allow_redirects=False)
    assert (r.status_code, r.content) == (200, b"streamed bytes")
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Accept-Ranges"] == "bytes"
    part = streaming.http.get(href, headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, b"streamed")
    assert part.headers["Content-Range"] == "bytes 0-7/14"
    outside = streaming.http.get(href, headers={"Range": "bytes=100-200"})
    assert outside.status_code == 416
    assert outside.json()["type"] == OGC1 + "invalid-parameter-value"
    assert "bytes=100-200" in outside.json()["detail"]


@pytest.mark.parametrize("server", ["live", "streaming"])
def test_only_the_jobs_own_files_are_reachable(server, request):
    live = request.getfixturevalue(server)
    job_id, href = _file_job(live, "mine")
    other_id, other_href = _file_job(live, "another job's")
    other_path = other_href.split("/download/", 1)[1]
    route = live.url(f"/demo/ogc-api/jobs/{job_id}/download/")
    for path in (
        f"%2E%2E/{other_id}/{other_path}",  # ../<other job>/<its file>
        f"..%2F{other_id}%2F{other_path}",
        f"x/%2E%2E/%2E%2E/{other_id}/{other_path}",
        "no-such-file.txt",
    ):
        r = live.http.get(route + path, allow_redirects=False)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["type"] == OGC1 + "not-found"
        assert f"job '{job_id}' has no result file '" in r.json()["detail"]
    # The other job's own route serves it.
    assert requests.get(other_href, timeout=10).content == b"another job's"


def test_the_route_of_an_unknown_or_unfinished_job_is_a_404(live):
    r = live.get("/demo/ogc-api/jobs/no-such-job/download/x.txt")
    assert (r.status_code, r.json()["type"]) == (404, OGC1 + "no-such-job")
    assert "no-such-job" in r.json()["detail"]
    job_id, _ = _file_job(live, "demo's")
    r = live.get(f"/lab/ogc-api/jobs/{job_id}/download/x.txt")  # another workspace
    assert (r.status_code, r.json()["type"]) == (404, OGC1 + "no-such-job")
    r = live.post("/demo/ogc-api/processes/echo/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"stringInput": "slow", "pause": 30}})
    running = r.json()["jobID"]
    try:
        r = live.get(f"/demo/ogc-api/jobs/{running}/download/echoOutput/x.txt")
        assert (r.status_code, r.json()["type"]) == (404, OGC1 + "result-not-ready")
        assert running in r.json()["detail"]
    finally:
        live.delete(f"/demo/ogc-api/jobs/{running}")


# With authentication on, result links are signed: they open by plain HTTP until they expire.


def _signed_job(secured, text: str, workspace: str = "demo") -> tuple[str, dict]:
    """A successful echo job of ``workspace``, run with its token: (job id, results doc)."""
    user = secured.as_(secured.tokens[workspace])
    body = {"inputs": {"stringInput": text}, **BY_REFERENCE}
    r = user.post(f"/{workspace}/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    href = r.json()["echoOutput"]["href"]
    job_id = href.split("/jobs/", 1)[1].split("/", 1)[0]
    results = user.get(f"/{workspace}/ogc-api/jobs/{job_id}/results")
    assert results.status_code == 200, results.text
    return job_id, results.json()


def _with_query(href: str, **changes: str) -> str:
    url = urlsplit(href)
    query = dict(parse_qsl(url.query))
    query.update(changes)
    return urlunsplit(url._replace(query=urlencode(query)))


def test_under_auth_every_result_link_opens_by_plain_http(secured):
    _, results = _signed_job(secured, "signed bytes")
    hrefs = [v["href"] for v in results.values() if isinstance(v, dict) and "href" in v]
    assert hrefs
    for href in hrefs:
        query = dict(parse_qsl(urlsplit(href).query))
        assert set(query) == {"expires", "signature"}, href
        r = requests.get(href, timeout=10)  # no Authorization
        assert (r.status_code, r.content) == (200, b"signed bytes")
        # Without its signature the link is the route, which needs a token.
        bare = requests.get(href.split("?", 1)[0], timeout=10)
        assert bare.status_code == 401
        assert "Authorization: Bearer <token>" in bare.json()["detail"]


def test_under_auth_the_stac_collection_links_are_signed_too(secured):
    job_id, _ = _signed_job(secured, "in stac")
    user = secured.as_(secured.tokens["demo"])
    stac = user.get(
        f"/demo/ogc-api/jobs/{job_id}/results", headers={"Accept": "application/geo+json"}
    )
    assert stac.status_code == 200, stac.text
    hrefs = [a["href"] for a in stac.json()["assets"].values()]
    assert hrefs and all("signature=" in h for h in hrefs)
    assert requests.get(hrefs[0], timeout=10).content == b"in stac"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"signature": "0" * 64}, "signature does not match its path and expiry"),
        ({"expires": "4102444800"}, "signature does not match its path and expiry"),
        ({"expires": "soon"}, "'expires' is 'soon'"),
    ],
)
def test_an_altered_signed_link_is_a_401_naming_the_problem(secured, change, named):
    _, results = _signed_job(secured, "tampered")
    href = _with_query(results["echoOutput"]["href"], **change)
    r = requests.get(href, timeout=10, allow_redirects=False)
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["type"].endswith("/unauthorized") and body["title"] == "NotAuthenticated"
    assert named in body["detail"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_signed_link_is_a_401_saying_when_it_expired(secured):
    job_id, results = _signed_job(secured, "expired")
    href = results["echoOutput"]["href"]
    path = urlsplit(href).path.split("/download/", 1)[1]
    signer = secured.live.server.services.links.signer
    route = f"/demo/ogc-api/jobs/{job_id}/download/{path}"
    past = signer.query(route, now=1_000_000_000 - signer.expires)  # expired 2001-09-09
    r = requests.get(secured.live.url(route) + "?" + past, timeout=10)
    assert r.status_code == 401, r.text
    assert "the download link expired at 2001-09-09T01:46:40Z" in r.json()["detail"]


def test_the_signature_covers_the_path_as_the_server_decodes_it(secured):
    job_id, _ = _signed_job(secured, "encoded")
    signer = secured.live.server.services.links.signer
    route = f"/demo/ogc-api/jobs/{job_id}/download/out put/%41 ü.txt"
    r = requests.get(secured.live.url(quote(route)) + "?" + signer.query(route), timeout=10)
    # Past the security layer: the route itself answers that there is no such file.
    assert r.status_code == 404, r.text
    assert "has no result file 'out put/%41 ü.txt'" in r.json()["detail"]


def test_a_signed_link_opens_nothing_but_its_own_path(secured):
    job_id, demo = _signed_job(secured, "demo's")
    href = demo["echoOutput"]["href"]
    # demo's link re-pointed to lab: the workspace is part of what was signed.
    repointed = href.replace("/demo/ogc-api/", "/lab/ogc-api/")
    r = requests.get(repointed, timeout=10, allow_redirects=False)
    assert r.status_code in (401, 403), r.text
    assert "signature does not match" in r.json()["detail"]
    # The same path under the other root is another path too.
    other_root = href.replace("/demo/ogc-api/", "/demo/wps3/")
    assert requests.get(other_root, timeout=10).status_code == 401
    # A bearer token still opens the route; lab's token does not open demo's.
    path = urlsplit(href).path
    assert secured.as_(secured.tokens["demo"]).get(path).content == b"demo's"
    assert secured.as_(secured.tokens["lab"]).get(path).status_code == 403
    # The signed link opens for anyone holding it, whatever token comes with it.
    assert secured.as_(secured.tokens["lab"]).http.get(href).content == b"demo's"


def test_the_contract_offers_the_signature_on_the_download_route_only(secured):
    spec = secured.as_(None).get("/demo/ogc-api/api").json()
    assert spec["components"]["securitySchemes"]["signedUrl"] == {
        **spec["components"]["securitySchemes"]["signedUrl"], "type": "apiKey", "in": "query",
        "name": "signature",
    }
    download = spec["paths"]["/jobs/{jobId}/download/{path}"]["get"]
    assert download["security"] == [{"bearer": []}, {"signedUrl": []}]
    others = [
        op.get("security") for item in spec["paths"].values() for op in item.values()
        if isinstance(op, dict) and op is not download and "operationId" in op
    ]
    assert all(s is None or s == [] for s in others)


def test_under_auth_a_streamed_signed_link_honours_range(seaweedfs, tmp_path):
    from ades.auth.tokens import TokenStore

    settings = dataclasses.replace(
        server_settings(tmp_path, seaweedfs), result_downloads="stream", auth="token",
        allow_uncontained=True,
    )
    with serve(settings) as server:
        token = TokenStore(server.server.services.database).create("demo")[1]
        server.http.headers["Authorization"] = f"Bearer {token}"
        _, href = _file_job(server, "streamed under auth")
        assert "signature=" in href
        whole = requests.get(href, timeout=10)
        assert (whole.status_code, whole.content) == (200, b"streamed under auth")
        part = requests.get(href, headers={"Range": "bytes=0-7"}, timeout=10)
        assert (part.status_code, part.content) == (206, b"streamed")
