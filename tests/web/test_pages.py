"""The HTML pages over HTTP (ades/web/pages.py): every page answers HTML to a browser's
Accept header and to ``?f=html``, JSON still to ``*/*``, ``application/json`` and
``?f=json``; the API's errors become error pages with the same status; everything a
package or a client wrote is escaped; the execute form is drawn from the inputs' schemas."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
HTML = {"Accept": BROWSER}
ASYNC = {"Prefer": "respond-async"}
CWL_YAML = {"Content-Type": "application/cwl+yaml"}
DATA = Path(__file__).resolve().parent / "data"
OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


def deploy(live, name: str, replace: dict[str, str] | None = None) -> str:
    """Deploy data/<name>.cwl in the demo workspace under an id of its own."""
    process_id = f"{name}-{uuid.uuid4().hex[:8]}"
    text = (DATA / f"{name}.cwl").read_text().replace(f"id: {name}", f"id: {process_id}")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    r = live.post("/demo/ogc-api/processes", data=text.encode(), headers=CWL_YAML)
    assert r.status_code == 201, r.text
    return process_id


@pytest.fixture(scope="module")
def job(live) -> str:
    """A successful echo job of the demo workspace: its id."""
    r = live.post("/demo/ogc-api/processes/echo/execution", headers=ASYNC,
                  json={"inputs": {"stringInput": "<b>bold</b> & more"}})  # fmt: skip
    assert r.status_code == 201, r.text
    live.wait_for(r.headers["Location"], {"successful"})
    return r.json()["jobID"]


def pages(job: str) -> list[str]:
    return [
        "/",
        "/demo/ogc-api",
        "/demo/wps3",
        "/demo/ogc-api/processes",
        "/demo/ogc-api/processes/echo",
        "/demo/ogc-api/jobs",
        f"/demo/ogc-api/jobs/{job}",
        f"/demo/ogc-api/jobs/{job}/results",
        f"/demo/wps3/jobs/{job}",
        f"/demo/wps3/jobs/{job}/results",
    ]


def test_every_page_answers_html_to_a_browser_and_json_to_clients(live, job):
    for path in pages(job):
        r = live.get(path, headers=HTML)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["Content-Type"] == "text/html; charset=utf-8", path
        assert r.headers["Vary"] == "Accept"
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.text.startswith("<!DOCTYPE html>") and '<html lang="en">' in r.text
        assert "?f=json" in r.text  # every page links to its JSON
        forced = live.get(path, params={"f": "html"}, headers={"Accept": "*/*"})
        assert forced.status_code == 200, path
        assert forced.headers["Content-Type"].startswith("text/html"), path
        for accept in ("*/*", "application/json"):
            plain = live.get(path, headers={"Accept": accept})
            assert plain.status_code == 200, path
            assert plain.headers["Content-Type"] == "application/json", (path, accept)
            assert plain.headers["Vary"] == "Accept"
            plain.json()
        as_json = live.get(path, params={"f": "json"}, headers=HTML)
        assert as_json.headers["Content-Type"] == "application/json", path


def test_a_page_shows_what_its_json_says(live, job):
    r = live.get(f"/demo/ogc-api/jobs/{job}", headers=HTML)
    assert f"<code>{job}</code>" in r.text
    assert 'id="status" class="badge status-successful">successful<' in r.text
    assert 'value="100"' in r.text  # the progress bar
    assert "job accepted: process &#39;echo&#39;" in r.text  # logs, without JavaScript
    assert "the next page of the log" not in r.text  # all of them are there
    assert f'href="{live.base}/demo/ogc-api/jobs/{job}/results"' in r.text
    # The page follows the job at the stream its status document links to.
    doc = live.get(f"/demo/ogc-api/jobs/{job}").json()
    (monitor,) = [link for link in doc["links"] if link["rel"] == "monitor"]
    assert f'data-events-url="{monitor["href"]}"' in r.text
    results = live.get(f"/demo/ogc-api/jobs/{job}/results", headers=HTML)
    # The output as the results document has it, escaped.
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in results.text
    assert "<b>bold</b>" not in results.text


def test_the_job_list_has_the_api_filters_and_passes_them_on(live, job):
    r = live.get("/demo/ogc-api/jobs", headers=HTML,
                 params={"status": "successful", "processID": "echo", "datetime": "",
                         "minDuration": "", "limit": "1"})  # fmt: skip
    assert r.status_code == 200, r.text
    for name in ("status", "processID", "datetime", "minDuration", "maxDuration", "limit"):
        assert f'name="{name}"' in r.text
    assert 'value="successful" checked' in r.text
    assert '<option value="echo" selected>' in r.text
    assert r.text.count('class="badge status-successful"') == 1  # limit=1
    assert 'status-failed"' not in r.text
    # Paging as the JSON pages.
    doc = live.get("/demo/ogc-api/jobs", params={"status": "successful", "limit": "1",
                                                 "processID": "echo"}).json()
    has_next = any(link["rel"] == "next" for link in doc["links"])
    assert ('rel="next"' in r.text) == has_next


def test_an_unknown_job_is_a_404_page_naming_it(live):
    r = live.get("/demo/ogc-api/jobs/no-such-job-here", headers=HTML)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "no-such-job-here" in r.text
    assert "NoSuchJob" in r.text and OGC1 + "no-such-job" in r.text
    results = live.get("/demo/ogc-api/jobs/no-such-job-here/results", params={"f": "html"})
    assert results.status_code == 404 and "no-such-job-here" in results.text


def test_an_api_error_keeps_its_status_and_detail(live):
    """A filter the API refuses: the page is its 400, naming the value."""
    r = live.get("/demo/ogc-api/jobs", params={"status": "sleeping"}, headers=HTML)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert "sleeping" in r.text
    unknown = live.get("/nowhere/ogc-api/processes", headers=HTML)
    assert unknown.status_code == 404 and OGC1 + "no-such-workspace" in unknown.text
    assert "workspace &#39;nowhere&#39; does not exist" in unknown.text


def test_a_hostile_process_title_is_escaped(live):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    process_id = deploy(live, "form", {"label: Every kind of input": f"label: '{hostile}'"})
    for path in (f"/demo/ogc-api/processes/{process_id}", "/demo/ogc-api/processes"):
        r = live.get(path, headers=HTML)
        assert r.status_code == 200
        assert "<script>alert" not in r.text and "<img src=x" not in r.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text


class Controls(HTMLParser):
    """The form controls of a page by id, with their attributes (and a select's options)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, dict] = {}
        self.labels: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("input", "select", "textarea") and "id" in attributes:
            self.controls[attributes["id"]] = {"tag": tag, **attributes, "options": []}
            self._select = attributes["id"] if tag == "select" else None
        elif tag == "option" and self._select:
            self.controls[self._select]["options"].append(attributes)
        elif tag == "label" and "for" in attributes:
            self.labels[attributes["for"]] = ""


def test_the_execute_form_follows_the_input_schemas(live):
    process_id = deploy(live, "form")
    r = live.get(f"/demo/ogc-api/processes/{process_id}", headers=HTML)
    assert r.status_code == 200
    parsed = Controls()
    parsed.feed(r.text)
    c = parsed.controls
    # A required string: a text field, marked required.
    assert c["in-name-0"]["type"] == "text" and "required" in c["in-name-0"]
    assert "in-name-0" in parsed.labels
    assert re.search(r'for="in-name-0">Name <span class="req">required', r.text)
    # An integer with a default: a number field stepping by 1, filled, optional.
    assert c["in-count-0"]["type"] == "number" and c["in-count-0"]["step"] == "1"
    assert c["in-count-0"]["value"] == "3" and "required" not in c["in-count-0"]
    assert re.search(r'for="in-count-0">Count <span class="opt">optional', r.text)
    # A number: any step, empty.
    assert c["in-ratio-0"]["type"] == "number" and c["in-ratio-0"]["step"] == "any"
    assert c["in-ratio-0"]["value"] == ""
    # An enum: a select of its symbols, the default chosen.
    assert c["in-mode-0"]["tag"] == "select"
    options = {o["value"]: "selected" in o for o in c["in-mode-0"]["options"]}
    assert options == {"": False, "fast": True, "slow": False}
    # A boolean: a checkbox, unchecked (its default is false).
    assert c["in-verbose-0"]["type"] == "checkbox" and "checked" not in c["in-verbose-0"]
    # An array: rows of text fields with add and remove buttons, in a fieldset.
    assert c["in-tags-0"]["type"] == "text" and c["in-tags-0"]["aria-label"] == "Tags, value 1"
    assert re.search(r"<legend>Tags <span class=\"opt\">optional", r.text)
    assert 'class="add">Add a value' in r.text and 'class="remove">Remove' in r.text
    # A File: an href text field.
    assert c["in-scene-0"]["type"] == "text" and c["in-scene-0"]["inputmode"] == "url"
    # The schemas go to the page's script, which validates with them.
    assert "data-field=" in r.text and "&#34;enum&#34;: [&#34;fast&#34;, &#34;slow&#34;]" in r.text
    assert f'data-execute-url="{live.base}/demo/ogc-api/processes/{process_id}/execution"' in r.text
    # The package, highlighted on the server (Pygments token spans).
    assert '<span class="nt">cwlVersion</span>' in r.text
    assert re.search(r'<script src="/static/form\.js\?v=[0-9a-f]{12}" defer>', r.text)


def test_static_files_are_versioned_and_cached(live):
    page = live.get("/demo/ogc-api/processes", headers=HTML).text
    href = re.search(r'href="(/static/ades\.css\?v=[0-9a-f]{12})"', page).group(1)
    r = live.get(href)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in r.headers["Cache-Control"]
    stale = live.get("/static/ades.css?v=000000000000")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    for script in ("form.js", "job.js"):
        js = live.get(f"/static/{script}")
        assert js.status_code == 200 and "javascript" in js.headers["Content-Type"]
    missing = live.get("/static/nope.css")
    assert missing.status_code == 404
    # Only the files are taken: a workspace named "static" would have its roots there.
    workspace = live.get("/static/ogc-api/processes", headers=HTML)
    assert workspace.status_code == 404
    assert "workspace &#39;static&#39; does not exist" in workspace.text


def test_the_status_cache_never_mixes_html_and_json(live, job):
    """The status cache keeps answers by request; a page is never one of them, and a
    status document is never answered to a page request."""
    path = f"/demo/ogc-api/jobs/{job}"
    for _ in range(2):
        assert live.get(path).headers["Content-Type"] == "application/json"
        assert live.get(path, headers=HTML).headers["Content-Type"].startswith("text/html")
        assert live.get(path, params={"f": "html"}).headers["Content-Type"].startswith(
            "text/html"
        )
    # A page is never kept: a log entry written since (the job's `updated` unchanged)
    # is on the same page asked for again.
    from ades.model import LogLevel

    live.server.services.jobs.log_store.add(job, LogLevel.INFO, "written after the page")
    assert "written after the page" in live.get(path, headers=HTML).text


def test_a_failed_job_page_shows_why(live):
    r = live.post("/lab/ogc-api/processes/fail/execution", headers=ASYNC,
                  json={"inputs": {"message": "hello"}})  # fmt: skip
    assert r.status_code == 201, r.text
    doc = live.wait_for(r.headers["Location"], {"failed"})
    page = live.http.get(r.headers["Location"], headers=HTML)
    assert page.status_code == 200
    assert 'class="badge status-failed">failed<' in page.text
    assert f">{doc['failure']['category']}<" in page.text
    assert "band B04 is missing from" in page.text  # the stderr tail
    assert 'id="failure" class="failure" hidden' not in page.text


def test_non_get_and_other_paths_pass_through(live, job):
    # The API's own answers, untouched (a POST with a browser's Accept still executes).
    r = live.post("/demo/ogc-api/processes/echo/execution", headers=HTML,
                  json={"inputs": {"stringInput": "x"}})  # fmt: skip
    assert r.status_code == 200 and r.json() == "x"
    logs = live.get(f"/demo/ogc-api/jobs/{job}/logs", headers=HTML)
    assert logs.headers["Content-Type"] == "application/json"
    assert live.get("/healthz", headers=HTML).headers["Content-Type"] == "application/json"


def test_pages_ask_with_the_requests_credentials(secured):
    """Authentication is the API's: the page's own requests carry the caller's token."""
    anonymous = secured.as_(None).get("/demo/ogc-api/processes", headers=HTML)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"].startswith("text/html")
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    other = secured.as_(secured.tokens["lab"]).get("/demo/ogc-api/processes", headers=HTML)
    assert other.status_code == 403 and "demo" in other.text
    mine = secured.as_(secured.tokens["demo"]).get("/demo/ogc-api/processes", headers=HTML)
    assert mine.status_code == 200 and ">Echo</a>" in mine.text
    root = secured.as_(secured.tokens["demo"]).get("/", headers=HTML)
    assert root.status_code == 200 and "<h3>demo</h3>" in root.text
    assert "<h3>lab</h3>" not in root.text


def test_a_file_output_is_a_download_link(live):
    r = live.post("/lab/ogc-api/processes/steps/execution", headers=ASYNC,
                  json={"inputs": {"pause": 0}})  # fmt: skip
    assert r.status_code == 201, r.text
    live.wait_for(r.headers["Location"], {"successful"})
    document = live.http.get(r.headers["Location"] + "/results").json()
    page = live.http.get(r.headers["Location"] + "/results", headers=HTML)
    assert page.status_code == 200
    assert f'<a href="{document["result"]["href"]}" download>Download</a>' in page.text


def test_the_job_page_filters_its_logs_by_level(live, job):
    r = live.get(f"/demo/ogc-api/jobs/{job}", params={"level": "warning"}, headers=HTML)
    assert r.status_code == 200
    assert '<option value="warning" selected>' in r.text
    assert "job accepted" not in r.text  # an info entry
    assert 'data-level="warning"' in r.text  # the live stream asks for the same level


def test_deploy_forms_where_the_api_allows_them(live):
    """The process list has a deploy form; a deployed process's page a replace form and an
    undeploy button; a built-in process's page neither (the API would refuse them)."""
    listing = live.get("/demo/ogc-api/processes", headers={"Accept": BROWSER}).text
    assert 'id="deploy" class="package"' in listing
    assert 'data-package-url="/demo/ogc-api/processes" data-method="POST"' in listing
    process_id = deploy(live, "form")
    page = live.get(f"/demo/ogc-api/processes/{process_id}", params={"f": "html"}).text
    assert f'data-package-url="/demo/ogc-api/processes/{process_id}" data-method="PUT"' in page
    assert 'id="undeploy"' in page and "deploy.js" in page
    built_in = live.get("/demo/ogc-api/processes/echo", params={"f": "html"}).text
    assert 'id="replace"' not in built_in and 'id="undeploy"' not in built_in
