"""A run's provenance made an RO-Crate and uploaded: a research object written by the real
cwltool (``--provenance``) for a two-step workflow whose tools name two container images,
described, zipped and put on the session's S3; read back with ro-crate-py."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rocrate.rocrate import ROCrate

from ades.staging.provenance import (
    PROVENANCE_KEY,
    RunFacts,
    describe,
    publish,
    server_version,
)

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  words: string[]
  notes: File
outputs:
  said: {type: 'File[]', outputSource: say/out}
  counted: {type: File, outputSource: count/out}
steps:
  say:
    run:
      class: CommandLineTool
      hints:
        DockerRequirement: {dockerPull: "registry.example.org:5000/eo/say:1.2@sha256:0123abcd"}
      baseCommand: [sh, -c, 'printf "%s" "$0" > said.txt']
      inputs: {word: {type: string, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: said.txt}}}
    in: {word: words}
    scatter: word
    out: [out]
  count:
    run:
      class: CommandLineTool
      hints:
        DockerRequirement: {dockerPull: "busybox"}
      baseCommand: [wc, -c]
      stdin: $(inputs.notes.path)
      inputs: {notes: File}
      stdout: count.txt
      outputs: {out: {type: stdout}}
    in: {notes: notes}
    out: [out]
"""


@pytest.fixture(scope="module")
def research_object(tmp_path_factory) -> Path:
    """cwltool's research object of one run of WORKFLOW (without containers)."""
    root = tmp_path_factory.mktemp("provenance")
    (root / "package.cwl").write_text(WORKFLOW)
    (root / "notes.txt").write_text("twelve bytes")
    (root / "job.json").write_text(json.dumps({
        "words": ["alpha", "beta"], "notes": {"class": "File", "path": "notes.txt"}}))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    subprocess.run(
        [sys.executable, "-m", "cwltool", "--quiet", "--no-container", "--provenance",
         str(root / "ro"), "--outdir", str(root / "out"), "package.cwl", "job.json"],
        check=True, capture_output=True, cwd=root, env=env,
    )  # fmt: skip
    return root / "ro"


def facts() -> RunFacts:
    return RunFacts(
        job_id="job-1", workspace="ws", process_id="words", entry=None,
        package_digest=hashlib.sha256(WORKFLOW.encode()).hexdigest(),
        started=datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
        finished=datetime(2026, 12, 5, 1, 1, tzinfo=UTC),
        inputs={"notes": {"href": "https://example.org/notes.txt"}}, container_engine="none",
    )  # fmt: skip


def test_the_research_object_is_uploaded_as_a_crate_that_ro_crate_py_opens(
    research_object, object_store, tmp_path
):
    record = publish(research_object, facts(), object_store, "ws/jobs/job-1")
    key = f"ws/jobs/job-1/{PROVENANCE_KEY}"
    data = object_store.get_bytes(key)
    assert record == {"href": object_store.uri(key), "type": "application/zip",
                      "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert not research_object.with_name("ro.zip").exists()  # the archive is not left behind
    (tmp_path / "crate.zip").write_bytes(data)
    crate = ROCrate(tmp_path / "crate.zip")
    assert crate.mainEntity.id == "workflow/packed.cwl"
    action = next(e for e in crate.get_entities() if e.type == "CreateAction")
    # The two words said (a scattered step's array) and the count.
    assert sorted(e["name"] for e in action["result"]) == ["count.txt", "said.txt", "said.txt"]
    archive = zipfile.ZipFile(io.BytesIO(data))
    for entity in action["result"]:
        assert hashlib.sha256(archive.read(entity.id)).hexdigest() == entity["sha256"]
    counted = next(e for e in action["result"] if e["name"] == "count.txt")
    assert archive.read(counted.id).split() == [b"12"]
    [notes] = [e for e in action["object"] if e.type == "File"]
    assert notes["name"] == "notes.txt"
    assert notes["identifier"] == "urn:hash::sha1:" + hashlib.sha1(b"twelve bytes").hexdigest()
    words = sorted(e["value"] for e in action["object"] if e.type == "PropertyValue")
    assert words == ['["alpha", "beta"]']


def test_every_image_the_package_names_is_a_container_image_of_the_run(research_object):
    describe(research_object, facts())  # again: it keeps the bag whole
    run = json.loads((research_object / "metadata" / "ades-run.json").read_text())
    assert run["server"]["version"] == server_version()
    assert run["process"]["packageDigest"] == (
        "sha256:" + hashlib.sha256(WORKFLOW.encode()).hexdigest())
    crate = json.loads((research_object / "ro-crate-metadata.json").read_text())
    images = sorted(
        ((e["registry"], e["name"], e.get("tag"), e.get("sha256"))
         for e in crate["@graph"] if e["@type"] == "ContainerImage"),
    )  # fmt: skip
    assert images == [("docker.io", "busybox", None, None),
                      ("registry.example.org:5000", "eo/say", "1.2", "0123abcd")]
