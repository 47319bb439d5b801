"""STAC in, STAC out, through HTTP: the lab's stac-assets process gets the generated scene
as a STAC reference (https or s3), the server stages it in, runs real cwltool, describes the
raster-only output itself, and serves the results as STAC whose hrefs download with plain
HTTP."""

from __future__ import annotations

import json

import pystac
import pytest
import requests

from tests.api.conftest import Live, poll
from tests.api.deploying import unique
from tests.stac_data import download, hanging_item, silent_server, stac_validate

FINISHED = ("successful", "failed", "dismissed")
OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


def _run(live: Live, inputs: dict, statuses=("successful",)) -> dict:
    r = live.post("/lab/ogc-api/processes/stac-assets/execution", json={"inputs": inputs},
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)
    assert done["status"] in statuses, done
    return done


@pytest.fixture(scope="module")
def selected(live, scene) -> dict:
    """A job over the scene's catalog by https, with two of its three assets selected."""
    return _run(live, {"scene": {"href": f"{scene.http}/catalog.json",
                                 "assets": ["B04", "B08"]}})


def _get(url: str) -> bytes:
    """Plain HTTP, no credentials: what a browser or curl does."""
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.content


def test_stage_in_by_https_with_asset_selection(live, selected):
    results = live.get(f"/lab/ogc-api/jobs/{selected['jobID']}/results").json()
    listing = _get(results["listing"]["href"]).decode()
    assert listing.split() == ["scene/B04", "scene/B08"]


def test_stage_in_by_s3_from_a_plain_string_url(live, scene):
    done = _run(live, {"scene": f"{scene.s3}/scene/scene.json"})
    results = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results").json()
    assert _get(results["listing"]["href"]).decode().split() == [
        "scene/B04", "scene/B08", "scene/thumbnail"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [("missing/catalog.json", "HTTP 404 File not found"),
     ("not-stac.json", "not a STAC document")],
)
def test_a_broken_reference_fails_the_job_before_the_run(live, scene, document, reason):
    href = f"{scene.http}/{document}"
    done = _run(live, {"scene": {"href": href}}, statuses=("failed",))
    assert done["message"].startswith(f"stage-in failed: input 'scene': {href}: {reason}")
    r = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results")
    # The reference the client gave could not be read: the request failed on it, not the
    # server (424 Failed Dependency).
    assert (r.status_code, r.json()["type"]) == (424, OGC1 + "job-failed")
    assert href in r.json()["detail"]
    # Nothing ran: cwltool never wrote a log for this job.
    jobs_dir = live.server.services.settings.data_dir / "jobs" / done["jobID"]
    assert not (jobs_dir / "cwltool.log").exists()


def test_asset_selection_is_checked_when_the_job_is_submitted(live, scene):
    r = live.post("/lab/ogc-api/processes/stac-assets/execution",
                  json={"inputs": {"scene": {"href": f"{scene.http}/catalog.json",
                                             "assets": "B04"}}})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "input 'scene': 'assets' must be a non-empty list of asset keys, not 'B04'")


def test_raster_only_output_arrives_as_a_valid_stac_catalog(live, selected, tmp_path):
    objects = live.server.services.objects
    prefix = f"lab/jobs/{selected['jobID']}/rasters/"
    down = download(objects, prefix, tmp_path)
    stac_validate(down / "catalog.json")
    items = list(pystac.Catalog.from_file(str(down / "catalog.json")).get_items())
    assert sorted(i.id for i in items) == ["scene-B04", "scene-B08"]
    for item in items:
        assert item.bbox and item.geometry and "proj:shape" in item.properties
        assert item.assets["data"].href.startswith(f"s3://{objects.bucket}/{prefix}")


def test_status_links_to_the_catalog_and_the_stac_results(live, selected):
    status = live.get(f"/lab/ogc-api/jobs/{selected['jobID']}").json()
    results = f"{live.base}/lab/ogc-api/jobs/{selected['jobID']}/results"
    links = {(link["href"], link["type"]): link for link in status["links"]}
    assert (results, "application/geo+json") in links
    assert links[(f"{results}/rasters", "application/json")]["title"] == (
        "STAC catalog of output 'rasters'")


def test_one_stac_output_walks_through_the_api_to_downloadable_assets(live, selected, scene):
    url = f"{live.base}/lab/ogc-api/jobs/{selected['jobID']}/results/rasters"
    catalog = live.http.get(url).json()
    assert catalog["type"] == "Catalog"
    self_link = next(link for link in catalog["links"] if link["rel"] == "self")
    assert self_link["href"] == url
    item_urls = sorted(link["href"] for link in catalog["links"] if link["rel"] == "item")
    assert item_urls == [f"{url}?path=scene-B04/scene-B04.json",
                         f"{url}?path=scene-B08/scene-B08.json"]
    item = live.http.get(item_urls[0]).json()
    assert item["type"] == "Feature"
    parent = next(link for link in item["links"] if link["rel"] == "parent")
    assert parent["href"] == url
    data = _get(item["assets"]["data"]["href"])
    assert data == (scene.folder / "scene" / "B04.tif").read_bytes()

    # pystac walks it like any STAC API: every hop an HTTP GET on this server.
    walked = pystac.Catalog.from_file(url)
    assert sorted(i.id for i in walked.get_items()) == ["scene-B04", "scene-B08"]


def test_the_stac_collection_view_of_the_results(live, selected, scene, tmp_path):
    job_id = selected["jobID"]
    url = f"{live.base}/lab/ogc-api/jobs/{job_id}/results"
    r = live.http.get(url, headers={"Accept": "application/geo+json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/geo+json"
    collection = r.json()
    assert (collection["type"], collection["id"]) == ("Collection", job_id)
    # Asset hrefs are the job's download route: stable, so nothing to say about expiry.
    assert "expires" not in collection
    assert {"rel": "canonical", "href": url, "type": "application/geo+json"} in (
        collection["links"])
    assets = collection["assets"]
    # Every result file, and the provenance of the run beside them.
    assert set(assets) == {"rasters/scene-B04.tif", "rasters/scene-B08.tif",
                           "rasters/scene-B04.thumbnail.png", "rasters/scene-B08.thumbnail.png",
                           "listing/assets.txt", "notes/notes/README.txt",
                           "provenance/ro-crate.zip"}
    assert assets["rasters/scene-B04.thumbnail.png"]["roles"] == ["thumbnail"]
    band = assets["rasters/scene-B04.tif"]
    assert band["href"] == f"{live.base}/lab/ogc-api/jobs/{job_id}/download/rasters/scene-B04.tif"
    assert band["roles"] == ["data"] and "tiff" in band["type"] and band["title"]
    assert _get(band["href"]) == (scene.folder / "scene" / "B04.tif").read_bytes()
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    assert (round(west, 2), round(south, 2), round(east, 2), round(north, 2)) == (
        3.5, 51.0, 3.6, 51.1)
    # The validator follows links only on disk: check the Collection itself here (its
    # child catalog is checked where it lies on S3, above).
    alone = {**collection, "links": [x for x in collection["links"] if x["rel"] != "child"]}
    (tmp_path / "collection.json").write_text(json.dumps(alone))
    assert "1 valid" in stac_validate(tmp_path / "collection.json")

    # The default Accept keeps the OGC results document; its hrefs open too.
    ogc = live.http.get(url).json()
    assert ogc["rasters"] == {"href": f"{url}/rasters", "type": "application/json"}
    assert _get(ogc["listing"]["href"]).split() == [b"scene/B04", b"scene/B08"]


def test_files_redirect_directories_list_and_unknown_outputs_are_404(live, selected):
    base = f"/lab/ogc-api/jobs/{selected['jobID']}/results"
    r = live.get(f"{base}/listing", allow_redirects=False)
    assert r.status_code == 303
    assert _get(r.headers["Location"]).split() == [b"scene/B04", b"scene/B08"]
    notes = live.get(f"{base}/notes").json()
    assert [(f["path"], f["type"]) for f in notes["files"]] == [("README.txt", "text/plain")]
    assert _get(notes["files"][0]["href"]) == b"2 assets copied\n"
    ogc = live.get(base).json()
    assert ogc["notes"] == {"href": live.url(f"{base}/notes"), "type": "application/x-directory"}
    missing = live.get(f"{base}/nope")
    assert (missing.status_code, missing.json()["type"]) == (404, OGC1 + "no-such-output")
    assert missing.json()["detail"] == f"job '{selected['jobID']}' has no output 'nope'"
    outside = live.get(f"{base}/rasters", params={"path": "../listing/assets.txt"})
    assert outside.status_code == 400
    assert "lies outside output 'rasters'" in outside.json()["detail"]



@pytest.mark.parametrize("how", ["api", "s3"])
def test_a_result_catalog_is_the_stac_input_of_the_next_job(live, selected, how):
    """Chaining: the raster catalog one job made is staged into the next, by its API URL
    (walked over HTTP, assets by their presigned URLs) or by its s3:// URI."""
    job_id = selected["jobID"]
    if how == "api":
        href = live.url(f"/lab/ogc-api/jobs/{job_id}/results/rasters")
    else:
        href = f"s3://{live.server.services.objects.bucket}/lab/jobs/{job_id}/rasters/catalog.json"
    done = _run(live, {"scene": href})
    results = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results").json()
    # The quicklooks the first job's stage-out made are assets of its items like the bands.
    assert _get(results["listing"]["href"]).split() == [
        b"scene-B04/data", b"scene-B04/thumbnail", b"scene-B08/data", b"scene-B08/thumbnail"]


def test_another_workspaces_results_cannot_be_staged_in(live, selected):
    bucket = live.server.services.objects.bucket
    href = f"s3://{bucket}/lab/jobs/{selected['jobID']}/rasters/catalog.json"
    r = live.post("/demo/ogc-api/processes/ndvi/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"red": {"href": href}, "nir": {"href": href}}})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "failed"
    assert "lies outside workspace 'demo' in the results bucket" in done["message"]


def test_dismissing_a_job_while_it_stages_in_stops_the_downloads(live):
    objects = live.server.services.objects
    with silent_server() as base:
        uri = hanging_item(objects, "lab/hang/item.json", base)
        r = live.post("/lab/ogc-api/processes/stac-assets/execution",
                      json={"inputs": {"scene": {"href": uri}}},
                      headers={"Prefer": "respond-async"})
        job_url = r.headers["Location"]
        status = poll(lambda: live.http.get(job_url).json(),
                      lambda d: "downloading" in d["message"] or d["status"] in FINISHED)
        assert status["message"] == "staging in inputs: downloading 1 file(s)", status
        assert live.http.delete(job_url).json()["status"] == "dismissed"
        # The run ends (its working files go) long before the 60 s HTTP timeout would.
        inputs = live.server.services.settings.data_dir / "jobs" / status["jobID"] / "inputs"
        poll(inputs.exists, lambda exists: not exists, deadline=30)
        assert live.http.get(job_url).json()["status"] == "dismissed"


def test_a_literal_output_is_served_as_itself(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"stringInput": "plain words", "mixedInput": 7}})
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    base = f"/demo/wps3/jobs/{done['jobID']}/results"
    text = live.get(f"{base}/echoOutput", headers={"Accept": "text/plain"})
    assert (text.status_code, text.text) == (200, "plain words")
    assert text.headers["Content-Type"].startswith("text/plain")
    assert live.get(f"{base}/echoOutput").json() == "plain words"
    assert live.get(f"{base}/mixedOutput").json() == 7


COPY_INTO = """\
cwlVersion: v1.2
class: CommandLineTool
id: PID
requirements:
  InlineJavascriptRequirement: {}
inputs:
  folder: Directory
  extra: File
  name: string
baseCommand: [bash, -c]
arguments:
  - >-
    mkdir "$(inputs.name)" && cp -r "$(inputs.folder.path)"/* "$(inputs.extra.path)"
    "$(inputs.name)"/ && ls "$(inputs.folder.path)" > "re:sult"
outputs:
  result: {type: Directory, outputBinding: {glob: $(inputs.name)}}
  log: {type: File, outputBinding: {glob: "re:sult"}}
"""


def test_a_plain_s3_prefix_is_a_directory_and_names_survive_the_round_trip(live):
    """A Directory given as an s3:// prefix without catalog.json reaches the tool as a folder
    of its objects; files and folders keep the names the tool wrote (colons, spaces) on S3,
    and their download links bring them back under those names."""
    objects = live.server.services.objects
    for key, body in [("plain-in/run:1/A:Gln2Cys", b"colon\n"),
                      ("plain-in/run:1/sub dir/deep.txt", b"deep\n")]:
        objects.put_bytes(body, f"lab/{key}")
    extra = objects.put_bytes(b"extra\n", "lab/plain-in/x:y.txt")
    pid = unique("copy-into")
    r = live.post("/lab/ogc-api/processes", data=COPY_INTO.replace("PID", pid),
                  headers={"Content-Type": "application/cwl+yaml"})
    assert r.status_code == 201, r.text
    r = live.post(f"/lab/ogc-api/processes/{pid}/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"folder": {"href": objects.uri("lab/plain-in/run:1") + "/"},
                                   "extra": {"href": extra}, "name": "A:Gln2Cys_result"}})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done["message"]
    prefix = f"lab/jobs/{done['jobID']}"
    assert objects.list_keys(prefix + "/") == [
        f"{prefix}/log/re:sult",
        f"{prefix}/provenance/ro-crate.zip",  # the run's, beside its results
        f"{prefix}/result/A:Gln2Cys_result/A:Gln2Cys",
        f"{prefix}/result/A:Gln2Cys_result/sub dir/deep.txt",
        f"{prefix}/result/A:Gln2Cys_result/x:y.txt",
    ]
    results = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results").json()
    assert _get(results["log"]["href"]) == b"A:Gln2Cys\nsub dir\n"
    assert results["log"]["href"].split("?")[0].endswith("/log/re%3Asult")
    listing = live.http.get(results["result"]["href"]).json()["files"]
    assert [f["path"] for f in listing] == ["A:Gln2Cys", "sub dir/deep.txt", "x:y.txt"]
    assert [_get(f["href"]) for f in listing] == [b"colon\n", b"deep\n", b"extra\n"]


def test_an_empty_s3_prefix_fails_the_job_naming_the_input(live):
    objects = live.server.services.objects
    href = objects.uri("lab/plain-in/nothing-here/")
    r = live.post("/lab/ogc-api/processes/stac-assets/execution",
                  headers={"Prefer": "respond-async"}, json={"inputs": {"scene": {"href": href}}})
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "failed"
    assert done["message"] == (f"stage-in failed: input 'scene': {href}: no such object, "
                                "and no object under it")


NESTED_OUTPUTS = """\
cwlVersion: v1.2
class: CommandLineTool
id: PID
requirements:
  InlineJavascriptRequirement: {}
inputs: []
baseCommand: [bash, -c]
arguments:
  - mkdir -p one two && echo 1 > one/a.txt && echo 2 > two/b.txt && echo f > f.txt
outputs:
  folders: {type: 'Directory[]', outputBinding: {glob: [one, two]}}
  pair:
    type:
      type: record
      fields:
        file: {type: File, outputBinding: {glob: f.txt}}
        folder: {type: Directory, outputBinding: {glob: one}}
"""


def test_directories_in_an_array_and_files_in_a_record_are_results(live):
    """Each directory of an array output links to its own listing; a record output with a
    File and a Directory field is staged out field by field, linked like top-level ones."""
    pid = unique("nested-outputs")
    r = live.post("/lab/ogc-api/processes", data=NESTED_OUTPUTS.replace("PID", pid),
                  headers={"Content-Type": "application/cwl+yaml"})
    assert r.status_code == 201, r.text
    r = live.post(f"/lab/ogc-api/processes/{pid}/execution", json={"inputs": {}},
                  headers={"Prefer": "respond-async"})
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done["message"]
    base = f"{live.base}/lab/ogc-api/jobs/{done['jobID']}/results"
    results = live.http.get(base).json()
    assert [f["href"] for f in results["folders"]] == [
        f"{base}/folders?path=0/one", f"{base}/folders?path=1/two"]
    listings = [live.http.get(f["href"]).json()["files"] for f in results["folders"]]
    assert [[(f["path"], _get(f["href"])) for f in files] for files in listings] == [
        [("a.txt", b"1\n")], [("b.txt", b"2\n")]]
    pair = results["pair"]
    assert _get(pair["file"]["href"]) == b"f\n"
    assert pair["folder"]["href"] == f"{base}/pair?path=folder/one"
    files = live.http.get(pair["folder"]["href"]).json()["files"]
    assert [(f["path"], _get(f["href"])) for f in files] == [("a.txt", b"1\n")]
    nothing = live.http.get(f"{base}/folders", params={"path": "2/three"})
    assert nothing.status_code == 400
    assert nothing.json()["detail"] == (
        "output 'folders' has no directory or STAC document '2/three'")
    collection = live.http.get(base, headers={"Accept": "application/geo+json"}).json()
    assert set(collection["assets"]) == {"folders/0/one/a.txt", "folders/1/two/b.txt",
                                         "pair/file/f.txt", "pair/folder/one/a.txt",
                                         "provenance/ro-crate.zip"}


SECONDARY = """\
cwlVersion: v1.2
class: CommandLineTool
id: PID
inputs:
  ref: {type: File, secondaryFiles: [.fai, {pattern: .gzi, required: false}]}
baseCommand: [bash, -c]
arguments:
  - cat "$(inputs.ref.path).fai" > index.txt && cp "$(inputs.ref.path)" copy.fasta
    && echo idx > copy.fasta.fai
outputs:
  copy: {type: File, secondaryFiles: [.fai], outputBinding: {glob: copy.fasta}}
  index: {type: File, outputBinding: {glob: index.txt}}
"""


def test_secondary_files_travel_beside_their_file_both_ways(live):
    """A File input's secondaryFiles (by the tool's patterns) are staged in from beside its
    href; a File output's are uploaded beside it and listed on its link."""
    objects = live.server.services.objects
    ref = objects.put_bytes(b">seq\nACGT\n", "lab/secondary/ref.fasta")
    objects.put_bytes(b"seq 4\n", "lab/secondary/ref.fasta.fai")
    pid = unique("secondary")
    r = live.post("/lab/ogc-api/processes", data=SECONDARY.replace("PID", pid),
                  headers={"Content-Type": "application/cwl+yaml"})
    assert r.status_code == 201, r.text
    r = live.post(f"/lab/ogc-api/processes/{pid}/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"ref": {"href": ref}}})
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done["message"]
    results = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results").json()
    assert _get(results["index"]["href"]) == b"seq 4\n"
    copy = results["copy"]
    assert _get(copy["href"]) == b">seq\nACGT\n"
    assert [_get(s["href"]) for s in copy["secondaryFiles"]] == [b"idx\n"]
    prefix = f"lab/jobs/{done['jobID']}/copy/"
    assert objects.list_keys(prefix) == [f"{prefix}copy.fasta", f"{prefix}copy.fasta.fai"]
