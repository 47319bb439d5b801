"""``ades results --download``: every file of a job's results (a File output, the files of
a directory output, the assets of a STAC catalog) lands in the folder with the bytes the
server serves; a second run resumes a partial file from its end (Range) and leaves a
complete one alone."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

FILES = """\
cwlVersion: v1.2
class: CommandLineTool
id: {id}
label: Writes files
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.0.0
baseCommand: python3
arguments:
  - -c
  - |
    import os, sys
    os.mkdir("out")
    os.mkdir("out/deeper")
    open("out/a.txt", "w").write(sys.argv[1] * 3000)
    open("out/deeper/b.bin", "wb").write(bytes(range(256)) * 300)
    open("single.txt", "w").write("single " + sys.argv[1])
inputs:
  word: {{type: string, inputBinding: {{position: 1}}}}
outputs:
  folder: {{type: Directory, outputBinding: {{glob: out}}}}
  single: {{type: File, outputBinding: {{glob: single.txt}}}}
"""


@pytest.fixture(scope="module")
def files_job(live, tmp_path_factory) -> str:
    """A successful job of a package writing a File and a Directory of two files."""
    pid = f"files-{uuid.uuid4().hex[:8]}"
    package = tmp_path_factory.mktemp("package") / "files.cwl"
    package.write_text(FILES.format(id=pid))
    r = live.post("/demo/ogc-api/processes", data=package.read_bytes(),
                  headers={"Content-Type": "application/cwl+yaml"})
    assert r.status_code == 201, r.text
    r = live.post(f"/demo/ogc-api/processes/{pid}/execution",
                  json={"inputs": {"word": "abc"}}, headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done
    return r.headers["Location"]


def _expected(live, job_url: str) -> dict[str, bytes]:
    """What the server serves for each file, read without the client."""
    results = live.http.get(job_url + "/results").json()
    listing = live.http.get(results["folder"]["href"]).json()
    served = {f"folder/{f['path']}": requests.get(f["href"], timeout=30).content
              for f in listing["files"]}
    served["single/single.txt"] = requests.get(results["single"]["href"], timeout=30).content
    return served


def test_download_gets_every_file_then_resumes_and_skips(ades, live, files_job, tmp_path):
    served = _expected(live, files_job)
    assert served["folder/a.txt"] == b"abc" * 3000
    assert served["folder/deeper/b.bin"] == bytes(range(256)) * 300
    assert served["single/single.txt"] == b"single abc"

    into = tmp_path / "results"
    ran = ades("results", files_job, "--download", str(into), "--json")
    assert ran.code == 0, ran.err
    report = ran.json()
    assert {f["path"]: f["done"] for f in report["files"]} == dict.fromkeys(served, "downloaded")
    for path, content in served.items():
        assert (into / path).read_bytes() == content, path

    # A partial file (its first bytes marked, to tell a resume from a fresh download) and
    # a complete one, whose time stamp says whether it was written again.
    partial = into / "folder/deeper/b.bin"
    marked = b"X" * 1000
    partial.write_bytes(marked)
    complete = into / "folder/a.txt"
    os.utime(complete, (1_000_000_000, 1_000_000_000))
    (into / "single/single.txt").unlink()

    ran = ades("results", files_job, "--download", str(into), "--json", "--parallel", "2")
    assert ran.code == 0, ran.err
    done = {f["path"]: f["done"] for f in ran.json()["files"]}
    assert done == {"folder/a.txt": "complete", "folder/deeper/b.bin": "resumed",
                    "single/single.txt": "downloaded"}
    assert partial.read_bytes() == marked + served["folder/deeper/b.bin"][1000:]
    assert complete.stat().st_mtime == 1_000_000_000
    assert complete.read_bytes() == served["folder/a.txt"]
    assert (into / "single/single.txt").read_bytes() == b"single abc"


def test_download_in_text_says_each_file(ades, files_job, tmp_path):
    ran = ades("results", files_job, "--download", str(tmp_path))
    assert ran.code == 0, ran.err
    said = sorted(line.split()[:2] for line in ran.out.splitlines())
    assert said == [["downloaded", "folder/a.txt"], ["downloaded", "folder/deeper/b.bin"],
                    ["downloaded", "single/single.txt"]]


def test_download_walks_a_stac_catalog_to_its_assets(ades, live, tmp_path):
    bucket = live.server.services.objects.bucket
    r = live.post("/demo/ogc-api/processes/ndvi/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"red": {"href": f"s3://{bucket}/demo/data/B04.tif"},
                                   "nir": {"href": f"s3://{bucket}/demo/data/B08.tif"}}})
    assert r.status_code == 201, r.text
    job_url = r.headers["Location"]
    assert live.wait_for(job_url, {"successful", "failed"}, 180)["status"] == "successful"
    ran = ades("results", job_url, "--download", str(tmp_path), "--json")
    assert ran.code == 0, ran.err
    files = {entry["path"]: entry for entry in ran.json()["files"]}
    # The item's assets: the NDVI raster (and its quicklook, when the server made one).
    assert "ndvi_catalog/ndvi/ndvi.tif" in files
    assert all(path.startswith("ndvi_catalog/ndvi/") for path in files)
    for path, entry in files.items():
        got = (tmp_path / path).read_bytes()
        assert got == requests.get(entry["href"], timeout=30).content, path
    assert (tmp_path / "ndvi_catalog/ndvi/ndvi.tif").read_bytes()[:4] in (b"II*\x00",
                                                                         b"MM\x00*")
