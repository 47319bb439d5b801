"""The provenance of a successful job, over HTTP against the live server: the run's CWLProv
research object as an RO-Crate zip beside the results, linked from the results document
and the STAC Collection, downloadable; what it holds checked against the package, the
inputs and the result files on S3; the run repeated from it alone gives the same outputs;
a workspace that opts out keeps none."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest

from ades.staging.provenance import server_version
from tests.api.deploying import CWL_YAML, unique

# A tool with a container image (a hint: the test server runs without containers), a
# File input staged in from S3, a literal, and a File output.
SHOUT = """\
cwlVersion: v1.2
class: CommandLineTool
id: PID
label: Shout
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.0.0
hints:
  DockerRequirement: {dockerPull: "docker.io/library/alpine:3.20"}
baseCommand: [sh, -c, 'for i in $(seq "$1"); do tr a-z A-Z < "$0"; done > shout.txt']
inputs:
  text: {type: File, inputBinding: {position: 1}}
  times: {type: int, inputBinding: {position: 2}}
outputs:
  shouted: {type: File, outputBinding: {glob: shout.txt}}
"""
WORDS = b"provenance, please\n"


def deploy(live, workspace: str, text: str) -> str:
    pid = unique("shout")
    r = live.post(f"/{workspace}/ogc-api/processes", data=text.replace("PID", pid),
                  headers=CWL_YAML)
    assert r.status_code == 201, r.text
    return pid


def execute(live, workspace: str, pid: str, inputs: dict[str, Any]) -> dict:
    r = live.post(f"/{workspace}/ogc-api/processes/{pid}/execution",
                  json={"inputs": inputs}, headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done["message"]
    return done


def shout(live, workspace: str) -> tuple[str, dict]:
    objects = live.server.services.objects
    href = objects.put_bytes(WORDS, f"{workspace}/provenance-in/{unique('words')}.txt")
    pid = deploy(live, workspace, SHOUT)
    return pid, execute(live, workspace, pid, {"text": {"href": href}, "times": 2})


def sha(data: bytes, name: str = "sha256") -> str:
    return hashlib.new(name, data).hexdigest()


@pytest.fixture(scope="module")
def kept(live):
    """A job of the lab workspace, its results document and response, and its crate."""
    pid, done = shout(live, "lab")
    r = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results")
    assert r.status_code == 200, r.text
    link = next(x for x in done["links"] if x["rel"] == "provenance")
    download = live.http.get(link["href"])
    assert download.status_code == 200, download.text
    crate = zipfile.ZipFile(io.BytesIO(download.content))
    return pid, done, r, link, crate


def read(crate: zipfile.ZipFile, name: str) -> Any:
    return json.loads(crate.read(name))


def graph(crate: zipfile.ZipFile) -> dict[str, dict]:
    return {e["@id"]: e for e in read(crate, "ro-crate-metadata.json")["@graph"]}


def test_the_results_link_to_a_downloadable_provenance(live, kept):
    pid, done, response, link, crate = kept
    job_id = done["jobID"]
    # Linked from the job's status, and from its results in a Link header (the results
    # document holds its outputs alone, as OGC clients expect).
    assert link["type"] == "application/zip"
    assert link["href"] == live.url(f"/lab/ogc-api/jobs/{job_id}/download/provenance/"
                                    "ro-crate.zip")
    assert response.headers["Link"] == f'<{link["href"]}>; rel="provenance"; type="application/zip"'
    assert set(response.json()) == {"shouted"}
    wps3 = live.get(f"/lab/wps3/jobs/{job_id}/results")
    assert wps3.headers["Link"] == response.headers["Link"].replace("/ogc-api/", "/wps3/")
    # Stored beside the results, under the job's prefix.
    objects = live.server.services.objects
    stored = objects.get_bytes(f"lab/jobs/{job_id}/provenance/ro-crate.zip")
    assert stored == live.http.get(link["href"]).content
    # The STAC Collection of the results links it, and lists it as an asset.
    stac = live.get(f"/lab/ogc-api/jobs/{job_id}/results",
                    headers={"Accept": "application/geo+json"}).json()
    assert [x["href"] for x in stac["links"] if x["rel"] == "provenance"] == [link["href"]]
    asset = stac["assets"]["provenance/ro-crate.zip"]
    assert asset["href"] == link["href"] and "provenance" in asset["roles"]
    logs = live.get(f"/lab/ogc-api/jobs/{job_id}/logs").json()["logs"]
    assert any(e["message"].startswith("provenance kept: ") for e in logs)
    # Nothing of cwltool's provenance machinery is said to the user but that.
    assert not [e for e in logs if "Warning" in e["message"] or e["level"] == "warning"], logs


def test_the_provenance_names_package_inputs_outputs_image_and_server(live, kept):
    pid, done, response, _link, crate = kept
    objects = live.server.services.objects
    names = crate.namelist()
    # An RO-Crate at the zip's root, and the CWLProv bag it describes.
    assert names[:2] == ["ro-crate-metadata.json", "bagit.txt"]
    assert {"workflow/packed.cwl", "workflow/primary-job.json", "workflow/primary-output.json",
            "metadata/ades-run.json", "snapshot/package.cwl"} <= set(names)
    run = read(crate, "metadata/ades-run.json")
    assert run["server"] == {"name": "ades", "version": server_version()}
    assert run["job"] == done["jobID"] and run["workspace"] == "lab"
    assert run["process"]["id"] == pid
    # The digest of the package as deployed: what GET …/package answers.
    package = live.get(f"/lab/ogc-api/processes/{pid}/package").content
    assert run["process"]["packageDigest"] == f"sha256:{sha(package)}"
    assert crate.read("snapshot/package.cwl") == package
    # The input: its checksums (of the staged copy, which is the S3 object's bytes).
    job_order = read(crate, "workflow/primary-job.json")
    assert job_order["times"] == 2
    assert job_order["text"]["checksum"] == f"sha1${sha(WORDS, 'sha1')}"
    assert run["inputs"]["text"]["href"].startswith("s3://")  # as the client sent it
    # The output: its checksums are those of the result file on S3.
    stored = objects.get_bytes(f"lab/jobs/{done['jobID']}/shouted/shout.txt")
    assert live.http.get(response.json()["shouted"]["href"]).content == stored
    assert stored == WORDS.upper() * 2
    outputs = read(crate, "workflow/primary-output.json")
    assert outputs["shouted"]["checksum"] == f"sha1${sha(stored, 'sha1')}"
    entities = graph(crate)
    action = next(e for e in entities.values() if e["@type"] == "CreateAction")
    [result] = [entities[r["@id"]] for r in _listed(action["result"])]
    assert result["sha256"] == sha(stored) and result["name"] == "shout.txt"
    assert crate.read(result["@id"]) == stored
    objects_of_run = [entities[o["@id"]] for o in _listed(action["object"])]
    [text] = [o for o in objects_of_run if o["@type"] == "File"]
    assert text["sha256"] == sha(WORDS)
    assert {"@type": "PropertyValue", "name": "times", "value": "2"}.items() <= next(
        o for o in objects_of_run if o["@type"] == "PropertyValue").items()
    # The container image the package names; cwltool records images in its PROV only
    # when it runs them, which this server (no container engine) does not.
    image = entities[action["containerImage"]["@id"]]
    assert (image["@type"], image["name"], image["tag"]) == (
        "ContainerImage", "library/alpine", "3.20")
    assert "DockerRequirement" in crate.read("workflow/packed.cwl").decode()
    ades = entities["#ades"]
    assert ades["softwareVersion"] == server_version()
    assert entities["./"]["mainEntity"] == {"@id": "workflow/packed.cwl"}


def test_the_bag_stays_whole(kept):
    """The files added to cwltool's bag are in its tag manifests, with their digests."""
    crate = kept[4]
    for algorithm in ("sha1", "sha256", "sha512"):
        listed = dict(
            reversed(line.split(maxsplit=1))
            for line in crate.read(f"tagmanifest-{algorithm}.txt").decode().splitlines()
        )
        assert {"ro-crate-metadata.json", "metadata/ades-run.json"} <= set(listed)
        for name, digest in listed.items():
            assert sha(crate.read(name), algorithm) == digest, name
    for line in crate.read("manifest-sha1.txt").decode().splitlines():
        digest, name = line.split(maxsplit=1)
        assert sha(crate.read(name), "sha1") == digest


def test_a_run_again_from_the_provenance_alone_gives_the_same_outputs(live, kept):
    """The packed workflow deployed as a new process, run on the job order recorded (its
    files uploaded from the crate's data/): the same output checksums."""
    _pid, _done, _response, _link, crate = kept
    objects = live.server.services.objects
    packed = read(crate, "workflow/packed.cwl")
    pid = unique("rerun")
    packed["id"] = pid
    packed.setdefault("$namespaces", {})["s"] = "https://schema.org/"
    packed["s:softwareVersion"] = "1.0.0"
    r = live.post("/lab/ogc-api/processes", data=json.dumps(packed),
                  headers={"Content-Type": "application/cwl+json"})
    assert r.status_code == 201, r.text
    inputs: dict[str, Any] = {}
    for name, value in read(crate, "workflow/primary-job.json").items():
        if isinstance(value, dict) and value.get("class") == "File":
            data = crate.read(value["location"].removeprefix("../"))
            inputs[name] = {"href": objects.put_bytes(data, f"lab/rerun-in/{pid}/{name}")}
        else:
            inputs[name] = value
    again = execute(live, "lab", pid, inputs)
    link = next(x for x in again["links"] if x["rel"] == "provenance")
    second = zipfile.ZipFile(io.BytesIO(live.http.get(link["href"]).content))

    def checksums(archive: zipfile.ZipFile) -> dict[str, str]:
        return {k: v["checksum"] for k, v in read(archive, "workflow/primary-output.json").items()}

    assert checksums(second) == checksums(crate)
    assert read(second, "workflow/primary-job.json")["text"]["checksum"] == (
        read(crate, "workflow/primary-job.json")["text"]["checksum"])


def test_a_workspace_that_opts_out_keeps_no_provenance(live):
    _pid, done = shout(live, "private")
    job_id = done["jobID"]
    assert not [x for x in done["links"] if x["rel"] == "provenance"]
    r = live.get(f"/private/ogc-api/jobs/{job_id}/results")
    assert set(r.json()) == {"shouted"} and "Link" not in r.headers
    stac = live.get(f"/private/ogc-api/jobs/{job_id}/results",
                    headers={"Accept": "application/geo+json"}).json()
    assert not [x for x in stac["links"] if x["rel"] == "provenance"]
    assert not [a for a in stac["assets"] if a.startswith("provenance/")]
    objects = live.server.services.objects
    assert objects.list_keys(f"private/jobs/{job_id}/provenance/") == []
    r = live.get(f"/private/ogc-api/jobs/{job_id}/download/provenance/ro-crate.zip")
    assert r.status_code == 404


def test_a_job_that_reuses_results_carries_the_provenance_of_the_run_that_made_them(live):
    objects = live.server.services.objects
    href = objects.put_bytes(WORDS, f"cache/provenance-in/{unique('words')}.txt")
    pid = deploy(live, "cache", SHOUT)
    first = execute(live, "cache", pid, {"text": {"href": href}, "times": 1})
    second = execute(live, "cache", pid, {"text": {"href": href}, "times": 1})
    assert second["reusedFrom"] == first["jobID"]
    [link] = [x for x in second["links"] if x["rel"] == "provenance"]
    # Its own copy, under its own prefix, which outlives the first job's dismissal.
    assert f"/jobs/{second['jobID']}/download/" in link["href"]
    assert live.delete(f"/cache/ogc-api/jobs/{first['jobID']}").status_code == 200
    crate = zipfile.ZipFile(io.BytesIO(live.http.get(link["href"]).content))
    assert read(crate, "metadata/ades-run.json")["job"] == first["jobID"]


CATALOG = """\
cwlVersion: v1.2
class: CommandLineTool
id: PID
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.0.0
baseCommand: [python3, -c]
arguments:
  - |
    import json, os
    os.makedirs("cat")
    json.dump({"type": "Catalog", "stac_version": "1.0.0", "id": "cat", "description": "one",
               "links": []}, open("cat/catalog.json", "w"))
inputs: {}
outputs:
  cat: {type: Directory, outputBinding: {glob: cat}}
"""


def test_the_root_catalog_of_a_stac_output_links_the_provenance(live):
    pid = deploy(live, "lab", CATALOG)
    done = execute(live, "lab", pid, {})
    base = f"/lab/ogc-api/jobs/{done['jobID']}"
    catalog = live.get(f"{base}/results/cat").json()
    [link] = [x for x in catalog["links"] if x["rel"] == "provenance"]
    assert link["href"] == live.url(f"{base}/download/provenance/ro-crate.zip")
    assert live.http.get(link["href"]).content[:2] == b"PK"


def _listed(value: Any) -> list[dict]:
    return value if isinstance(value, list) else [value]
