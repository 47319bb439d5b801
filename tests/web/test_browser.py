"""The pages in a real browser (Debian's Chromium, headless, driven by Playwright): execute
a process from its form, follow the job live on its page (the event stream, no reload),
open its results; the results of a raster job (footprint, assets, quicklook); keyboard use
and client-side validation. Every page visited is saved as a screenshot in
build/screenshots/ (CI keeps them as artifacts) and checked by axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.test_pages import deploy

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
ASYNC = {"Prefer": "respond-async"}
# Deadlines of the waits on the page, in milliseconds.
JOB_DEADLINE = 60_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium (/usr/bin/chromium): apt-get install chromium",
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])  # fmt: skip
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh page; a script error on it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert errors == []


@pytest.fixture(scope="module")
def raster_job(live) -> str:
    """An NDVI job of the demo workspace, submitted first so that it runs while the other
    tests drive the browser: its status URL."""
    bucket = live.server.services.settings.s3_bucket
    bands = {"red": {"href": f"s3://{bucket}/demo/data/B04.tif"},
             "nir": {"href": f"s3://{bucket}/demo/data/B08.tif"}}  # fmt: skip
    r = live.post("/demo/ogc-api/processes/ndvi/execution", json={"inputs": bands},
                  headers=ASYNC)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.headers["Location"]


# What axe-core checks every page for: WCAG 2.1 A and AA (labels, contrast, names of
# controls, headings, lang…) and its best practices.
AXE_RULES = {"runOnly": {"type": "tag",
                         "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


def shot(page, name: str) -> None:
    """Save the page as build/screenshots/<name>.png, and check it with axe-core."""
    from axe_playwright_python.sync_playwright import Axe

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    violations = Axe().run(page, options=AXE_RULES).response["violations"]
    assert [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in violations] == []


def test_execute_from_the_form_then_follow_the_job_live(live, page, raster_job):
    page.goto(live.url("/"))
    shot(page, "root")
    page.get_by_role("link", name="OGC API - Processes of workspace 'demo'").click()
    assert page.locator("h1").text_content() == "ADES workspace 'demo'"
    shot(page, "landing")
    response = page.goto(live.url("/demo/ogc-api/jobs/no-such-job"))
    assert response.status == 404 and "no-such-job" in page.locator("main").text_content()
    shot(page, "error-404")
    page.goto(live.url("/demo/ogc-api/processes"))
    shot(page, "processes")
    page.goto(live.url("/demo/ogc-api/processes/echo"))
    assert page.title() == "Echo · ADES"
    page.get_by_label("String input").fill("hello from the browser")
    page.get_by_label("Pause").fill("2")
    preview = page.locator("#request-preview").text_content()
    assert '"stringInput": "hello from the browser"' in preview and '"pause": 2' in preview
    shot(page, "process-echo")
    page.get_by_role("button", name="Execute").click()

    page.wait_for_url(re.compile(r".*/demo/ogc-api/jobs/[0-9a-f-]{36}$"), timeout=JOB_DEADLINE)
    # A mark on this document: still there at the end, so the page never reloaded.
    page.evaluate("window.notReloaded = true")
    status = page.locator("#status")
    assert status.text_content() in ("accepted", "running")
    shot(page, "job-running")
    page.wait_for_selector("#status.status-successful", timeout=JOB_DEADLINE)
    assert status.text_content() == "successful"
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#progress").get_attribute("value") == "100"
    # The log entries came with the stream, after the ones the page was loaded with.
    page.wait_for_selector("#log-rows tr >> text=job successful", timeout=JOB_DEADLINE)
    assert page.locator("#results-link").is_visible()
    shot(page, "job-successful")

    page.locator("#results-link").click()
    page.wait_for_url(re.compile(r".*/results$"))
    assert "hello from the browser" in page.locator("main").text_content()
    shot(page, "results-echo")
    page.goto(live.url("/demo/ogc-api/jobs"))
    shot(page, "jobs")


def test_the_results_of_a_raster_job(live, page, raster_job):
    live.wait_for(raster_job, {"successful"})
    page.goto(raster_job)
    shot(page, "job-ndvi")
    page.goto(raster_job + "/results")
    item = page.locator("li.item").first
    assert "ndvi" in item.locator("h3").text_content()
    # The footprint, drawn from the item's geometry.
    path = item.locator("figure.footprint svg path.shape")
    assert path.count() == 1 and path.get_attribute("d").startswith("M")
    assert "W 3.71" in item.locator("figure.footprint figcaption").text_content()
    # Each asset links to the job's download route.
    asset = item.locator("table.assets a").first
    assert "/download/ndvi_catalog/ndvi/ndvi.tif" in asset.get_attribute("href")
    # The quicklook stage-out gave the item (its `thumbnail` asset), loaded from the
    # download route.
    image = item.locator("figure.thumbnail img")
    assert image.count() == 1
    assert "/download/" in image.get_attribute("src")
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") > 0
    # The run's provenance (the status document's `provenance` link).
    provenance = page.locator("section[aria-labelledby=provenance-heading] a")
    assert provenance.count() == 1 and provenance.get_attribute("href").startswith("http")
    shot(page, "results-ndvi")


def test_keyboard_reaches_submit_and_invalid_fields_send_nothing(live, page):
    process_id = deploy(live, "form")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.goto(live.url(f"/demo/ogc-api/processes/{process_id}"))
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "submit":
            break
    else:
        raise AssertionError("Tab never reached the Execute button")
    # Name is required and left empty; the scene is not a URL; the ratio is checked too.
    page.get_by_label("Scene").fill("not a url")
    page.locator("#submit").focus()
    page.keyboard.press("Enter")
    assert page.locator("#err-name").text_content() == "Name is required."
    assert "must be a URL" in page.locator("#err-scene").text_content()
    assert page.locator("#in-name-0").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "in-name-0"  # the first to fix
    assert "2 fields need fixing" in page.locator("#form-status").text_content()
    # Rows of an array: add two values, remove one.
    page.get_by_role("button", name="Add a value to Tags").click()
    page.get_by_label("Tags, value 1").fill("red")
    page.get_by_label("Tags, value 2").fill("green")
    page.get_by_role("button", name="Remove value of Tags").first.click()
    assert page.locator("#in-tags-0").input_value() == "green"
    shot(page, "process-form-invalid")
    assert sent == []

    # Fixed, it is sent, with the values typed as the schemas say.
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Scene").fill("")
    page.get_by_label("Verbose").check()
    with page.expect_request(lambda r: r.method == "POST") as request:
        page.get_by_role("button", name="Execute").click()
    assert request.value.post_data_json == {"inputs": {
        "name": "Ada", "count": 3, "mode": "fast", "verbose": True, "tags": ["green"]}}
    assert request.value.headers["prefer"] == "respond-async"
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"), timeout=JOB_DEADLINE)
    assert page.locator("h1").text_content().startswith("Job ")


def test_dismiss_from_the_job_page(live, page):
    r = live.post("/demo/ogc-api/processes/echo/execution", headers=ASYNC,
                  json={"inputs": {"stringInput": "long", "pause": 30}})  # fmt: skip
    assert r.status_code == 201, r.text
    page.goto(r.headers["Location"])
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Dismiss job").click()
    page.wait_for_selector("#status.status-dismissed", timeout=JOB_DEADLINE)
    assert live.http.get(r.headers["Location"]).json()["status"] == "dismissed"
    shot(page, "job-dismissed")


def test_the_dark_scheme_keeps_its_contrast(live, page):
    """The stylesheet has dark colours for a browser that prefers them: axe checks those."""
    page.emulate_media(color_scheme="dark")
    for name, path in (("processes", "/demo/ogc-api/processes"),
                       ("process-echo", "/demo/ogc-api/processes/echo"),
                       ("jobs", "/demo/ogc-api/jobs")):  # fmt: skip
        page.goto(live.url(path))
        shot(page, f"dark-{name}")


def test_a_failing_job_shows_why_as_it_fails(live, page):
    r = live.post("/lab/ogc-api/processes/fail/execution", headers=ASYNC,
                  json={"inputs": {"message": "hello"}})  # fmt: skip
    assert r.status_code == 201, r.text
    page.goto(r.headers["Location"])
    page.wait_for_selector("#status.status-failed", timeout=JOB_DEADLINE)
    failure = page.locator("#failure")
    assert failure.is_visible()
    assert page.locator("#failure-category").text_content() == "application"
    assert "band B04 is missing from" in page.locator("#failure-stderr").text_content()
    assert not page.locator("#results-link").is_visible()
    shot(page, "job-failed")


GREET = """cwlVersion: v1.2
class: CommandLineTool
id: {id}
label: {label}
baseCommand: echo
inputs:
  name: {{type: string, inputBinding: {{position: 1}}}}
outputs:
  said: {{type: stdout}}
stdout: said.txt
"""


def test_deploy_replace_and_undeploy_from_the_pages(live, page):
    process_id = f"greet-{uuid.uuid4().hex[:8]}"
    page.goto(live.url("/demo/ogc-api/processes"))
    # Refused: the server's own words next to the form, nothing deployed.
    page.get_by_label("or the CWL itself").first.fill("cwlVersion: v1.2\nclass: Nothing\n")
    page.get_by_role("button", name="Deploy").click()
    problem = page.locator("#deploy-status .problem")
    problem.wait_for(timeout=JOB_DEADLINE)
    assert problem.text_content().startswith("400 ")
    shot(page, "deploy-refused")

    page.get_by_label("or the CWL itself").first.fill(GREET.format(id=process_id, label="Greet"))
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile(rf".*/demo/ogc-api/processes/{process_id}$"),
                      timeout=JOB_DEADLINE)  # fmt: skip
    assert page.locator("h1").text_content() == "Greet"
    shot(page, "process-deployed")

    page.get_by_label("or the CWL itself").fill(GREET.format(id=process_id, label="Greet again"))
    page.get_by_role("button", name="Replace the package").click()
    # Reloaded: a function evaluated on the page would break its policy (no eval).
    page.locator("h1", has_text="Greet again").wait_for(timeout=JOB_DEADLINE)
    assert live.get(f"/demo/ogc-api/processes/{process_id}").json()["title"] == "Greet again"

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Undeploy {process_id}").click()
    page.wait_for_url(re.compile(r".*/demo/ogc-api/processes$"), timeout=JOB_DEADLINE)
    assert live.get(f"/demo/ogc-api/processes/{process_id}").status_code == 404
