"""The provenance of a successful job: cwltool's CWLProv research object of the run, made
an RO-Crate and uploaded beside the job's results as one zip.

cwltool (``--provenance``) writes a BagIt bag: the packed workflow and the job order it ran
(``workflow/packed.cwl``, ``workflow/primary-job.json``, ``primary-output.json``), every
input and output file under ``data/`` named by its SHA-1, the package as it was
(``snapshot/``) and the W3C PROV of the run (``metadata/provenance/``). This module adds to
it, before zipping:

- ``metadata/ades-run.json``: what only the server knows: its own version, the job, the
  workspace, the process and the digest of the package it deployed, the inputs as the
  client sent them (a staged-in ``s3://`` or ``https://`` input is a local copy in the bag,
  and its checksum is the copy's), the container engine;
- ``ro-crate-metadata.json``: a Workflow Run RO-Crate (process, workflow and provenance run
  crate profiles 0.5) of the same run, made with ro-crate-py: the packed workflow as the main
  entity, one CreateAction with the inputs (``object``) and outputs (``result``) and their
  checksums (SHA-1 as cwltool names them, SHA-256 computed here), the container images the
  package's DockerRequirements name, and the server and cwltool that ran it.

The bag's tag manifests are completed with the two files, so the zip is at once a valid
BagIt bag (CWLProv) and an RO-Crate (its metadata file at the zip's root), which RO-Crate
tools open as they are. Why not ``runcrate convert``: it pins an older cwl-utils than the
cwltool the server runs needs, so it cannot be installed beside it.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import yaml

from ades.objectstore.store import ObjectStore

if TYPE_CHECKING:
    from rocrate.model.contextentity import ContextEntity
    from rocrate.rocrate import ROCrate

# Where a job's provenance lies, under the job's results prefix.
PROVENANCE_KEY = "provenance/ro-crate.zip"
ZIP = "application/zip"
RUN_FILE = "metadata/ades-run.json"
CRATE_FILE = "ro-crate-metadata.json"
PROFILES = "https://w3id.org/ro/wfrun"
PROFILES_VERSION = "0.5"
WORKFLOW_RO_CRATE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
# The Workflow Run terms (ContainerImage, containerImage, DockerImage, …).
TERMS = "https://w3id.org/ro/terms/workflow-run"
CWL = "https://w3id.org/workflowhub/workflow-ro-crate#cwl"
# Data files of the bag larger than this are zipped without compression.
STORED_ABOVE = 8 << 20
DOCKER_IMAGE = f"{TERMS}#DockerImage"


def provenance_link(href: str) -> dict[str, str]:
    """The ``rel: provenance`` link of a job's results to its provenance at ``href``."""
    return {
        "href": href,
        "rel": "provenance",
        "type": ZIP,
        "title": "Provenance of the run: a Workflow Run RO-Crate (zip) of its CWLProv "
        "research object",
    }


def server_version() -> str:
    """The version of this server, as its package metadata says."""
    try:
        return version("ades")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


@dataclass(frozen=True)
class RunFacts:
    """What the server knows of a run that cwltool does not."""

    job_id: str
    workspace: str
    process_id: str
    entry: str | None
    # The SHA-256 of the package as deployed (the CWL text pinned to the job).
    package_digest: str
    started: datetime | None
    finished: datetime
    # The inputs as the client sent them (hrefs before stage-in).
    inputs: dict[str, Any] = field(default_factory=dict)
    container_engine: str = "none"
    server_version: str = field(default_factory=server_version)


def publish(folder: Path, facts: RunFacts, objects: ObjectStore, prefix: str) -> dict[str, Any]:
    """Describe the research object at ``folder``, zip it and upload it as
    ``<prefix>/provenance/ro-crate.zip``; the record kept with the job (href, type, size,
    sha256 of the zip)."""
    describe(folder, facts)
    archive = folder.with_name(folder.name + ".zip")
    try:
        pack(folder, archive)
        href = objects.put_file(archive, f"{prefix}/{PROVENANCE_KEY}", ZIP)
        return {"href": href, "type": ZIP, "size": archive.stat().st_size,
                "sha256": _sha256(archive)}  # fmt: skip
    finally:
        archive.unlink(missing_ok=True)


def describe(folder: Path, facts: RunFacts) -> dict[str, Any]:
    """Write ``metadata/ades-run.json`` and ``ro-crate-metadata.json`` into the research
    object and list them in its tag manifests; returns the run file's content."""
    package = _package_file(folder)
    digest = f"sha256:{facts.package_digest}"
    run = {
        "server": {"name": "ades", "version": facts.server_version},
        "job": facts.job_id,
        "workspace": facts.workspace,
        "process": {
            "id": facts.process_id,
            "entry": facts.entry,
            "package": package.relative_to(folder).as_posix() if package else None,
            "packageDigest": digest,
        },
        "inputs": facts.inputs,
        "containerEngine": facts.container_engine,
        "started": _iso(facts.started),
        "finished": _iso(facts.finished),
    }
    (folder / RUN_FILE).write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
    crate = _crate(folder, facts, run)
    (folder / CRATE_FILE).write_text(json.dumps(crate, indent=2) + "\n")
    _add_tag_files(folder, [RUN_FILE, CRATE_FILE])
    return run


def pack(folder: Path, archive: Path) -> None:
    """Zip the research object with its files at the zip's root (``ro-crate-metadata.json``
    and ``bagit.txt`` first). Metadata and small files are deflated; large data files
    (rasters, mostly compressed already) are stored as they are, which costs no CPU."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    first = [folder / CRATE_FILE, folder / "bagit.txt"]
    ordered = [p for p in first if p in files] + [p for p in files if p not in first]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in ordered:
            name = path.relative_to(folder).as_posix()
            large = name.startswith("data/") and path.stat().st_size > STORED_ABOVE
            out.write(path, name, zipfile.ZIP_STORED if large else zipfile.ZIP_DEFLATED)


def _package_file(folder: Path) -> Path | None:
    """The package as deployed: cwltool's snapshot of the document it was asked to run."""
    snapshot = folder / "snapshot"
    if (snapshot / "package.cwl").is_file():  # what the runner names it
        return snapshot / "package.cwl"
    files = sorted(p for p in snapshot.glob("*") if p.is_file()) if snapshot.is_dir() else []
    return files[0] if files else None


def _crate(folder: Path, facts: RunFacts, run: dict[str, Any]) -> dict[str, Any]:
    # Imported here: ro-crate-py takes a sixth of a second to import, which the API
    # process, which only links the crates, need not pay at start.
    from rocrate.rocrate import ROCrate

    crate = ROCrate(gen_preview=False)
    crate.metadata.extra_contexts.append(TERMS)
    root = crate.root_dataset
    root["name"] = f"Provenance of job {facts.job_id}"
    root["description"] = (
        f"The run of process '{facts.process_id}' in workspace '{facts.workspace}' (job "
        f"{facts.job_id}) by the ADES {facts.server_version} with cwltool: its CWLProv "
        "research object (a BagIt bag) described as a Workflow Run RO-Crate."
    )
    root["license"] = "proprietary"
    profiles = [
        crate.add(_entity(crate, f"{PROFILES}/{name}/{PROFILES_VERSION}", properties={
            "@type": "CreativeWork", "name": f"{name.title()} Run Crate",
            "version": PROFILES_VERSION,
        }))
        for name in ("process", "workflow", "provenance")
    ]  # fmt: skip
    profiles.append(crate.add(_entity(crate, WORKFLOW_RO_CRATE, properties={
        "@type": "CreativeWork", "name": "Workflow RO-Crate", "version": "1.0"})))  # fmt: skip
    root["conformsTo"] = profiles

    packed_path = folder / "workflow" / "packed.cwl"
    packed = _load(packed_path)
    language = crate.add(_entity(crate, CWL, properties={
        "@type": "ComputerLanguage", "name": "Common Workflow Language",
        "alternateName": "CWL", "url": {"@id": "https://www.commonwl.org/"},
        "identifier": {"@id": "https://w3id.org/cwl/"},
    }))  # fmt: skip
    workflow = crate.add_file(packed_path, "workflow/packed.cwl", properties={
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
        "name": facts.process_id,
        "description": "The package as cwltool ran it, packed into one document",
        "programmingLanguage": language,
        "sha256": _sha256(packed_path),
    })  # fmt: skip
    crate.mainEntity = workflow
    main = _main_process(packed)
    workflow["input"] = _parameters(crate, main, "inputs")
    workflow["output"] = _parameters(crate, main, "outputs")

    package = _package_file(folder)
    if package is not None:
        crate.add_file(package, package.relative_to(folder).as_posix(), properties={
            "name": "The application package as deployed",
            "encodingFormat": "application/x-yaml",
            "sha256": _sha256(package),
            "identifier": run["process"]["packageDigest"],
        })  # fmt: skip
    for name, description, media in (
        ("workflow/primary-job.json", "The job order cwltool ran (inputs)", "application/json"),
        ("workflow/primary-output.json", "The outputs of the run", "application/json"),
        (RUN_FILE, "What the ADES knows of the run: its version, the job, the package "
         "digest, the inputs as sent", "application/json"),
    ):  # fmt: skip
        path = folder / name
        if path.is_file():
            crate.add_file(path, name, properties={"name": description,
                                                   "encodingFormat": media})  # fmt: skip

    ades = crate.add(_entity(crate, "#ades", properties={
        "@type": "SoftwareApplication", "name": "ADES",
        "softwareVersion": facts.server_version, "version": facts.server_version,
    }))  # fmt: skip
    cwltool_version = _cwltool_version(folder)
    cwltool = crate.add(_entity(crate, "#cwltool", properties={
        "@type": "SoftwareApplication", "name": "cwltool",
        "url": {"@id": "https://github.com/common-workflow-language/cwltool"},
        **({"softwareVersion": cwltool_version} if cwltool_version else {}),
    }))  # fmt: skip

    action = crate.add(_entity(crate, f"#run-{facts.job_id}", properties={
        "@type": "CreateAction",
        "name": f"Run of process '{facts.process_id}', job {facts.job_id}",
        "instrument": workflow,
        "endTime": _iso(facts.finished),
        **({"startTime": _iso(facts.started)} if facts.started else {}),
    }))  # fmt: skip
    action["object"] = _values(crate, folder, "primary-job.json", main, "inputs")
    action["result"] = _values(crate, folder, "primary-output.json", main, "outputs")
    images = [_image(crate, pull, facts.container_engine) for pull in _docker_pulls(packed)]
    if images:
        action["containerImage"] = images if len(images) > 1 else images[0]
    organize = crate.add(_entity(crate, f"#orchestration-{facts.job_id}", properties={
        "@type": "OrganizeAction",
        "name": f"Orchestration of job {facts.job_id} by the ADES",
        "instrument": [ades, cwltool],
        "result": action,
        "endTime": _iso(facts.finished),
        **({"startTime": _iso(facts.started)} if facts.started else {}),
    }))  # fmt: skip
    root["mentions"] = [action, organize]
    return crate.metadata.generate()


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}


def _main_process(packed: Any) -> dict[str, Any]:
    """The process the run started: ``#main`` of a packed $graph, or the document."""
    if isinstance(packed, dict) and isinstance(packed.get("$graph"), list):
        for process in packed["$graph"]:
            if isinstance(process, dict) and process.get("id") == "#main":
                return process
        return packed["$graph"][0] if packed["$graph"] else {}
    return packed if isinstance(packed, dict) else {}


def _parameter_name(parameter_id: str) -> str:
    return parameter_id.rsplit("/", 1)[-1].lstrip("#")


def _parameters(crate: ROCrate, process: dict[str, Any], kind: str) -> list[ContextEntity]:
    """The FormalParameters of the process's inputs or outputs."""
    out = []
    for parameter in process.get(kind) or []:
        if not isinstance(parameter, dict) or "id" not in parameter:
            continue
        name = _parameter_name(str(parameter["id"]))
        out.append(crate.add(_entity(crate, _parameter_id(name, kind), properties={
            "@type": "FormalParameter", "name": name,
            "additionalType": _additional_type(parameter.get("type")),
        })))  # fmt: skip
    return out


def _parameter_id(name: str, kind: str) -> str:
    return f"workflow/packed.cwl#main/{name}" if kind == "inputs" else (
        f"workflow/packed.cwl#main/{name}-output"
    )


def _additional_type(cwl_type: Any) -> str:
    names = {"string": "Text", "int": "Integer", "long": "Integer", "float": "Float",
             "double": "Float", "boolean": "Boolean", "File": "File",
             "Directory": "Dataset"}  # fmt: skip
    if isinstance(cwl_type, list):
        kinds = [t for t in cwl_type if t != "null"]
        cwl_type = kinds[0] if len(kinds) == 1 else None
    if isinstance(cwl_type, str):
        return names.get(cwl_type.rstrip("?"), "DataType")
    if isinstance(cwl_type, dict) and cwl_type.get("type") == "array":
        return "Collection"
    return "DataType"


def _values(
    crate: ROCrate, folder: Path, document: str, process: dict[str, Any], kind: str
) -> list[ContextEntity]:
    """The values of the run's inputs or outputs: a File (or Dataset) entity per file of
    the bag, with its checksums, a PropertyValue per literal, each an example of its
    parameter."""
    path = folder / "workflow" / document
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    declared = {
        _parameter_name(str(p["id"]))
        for p in process.get(kind) or []
        if isinstance(p, dict) and "id" in p
    }
    out: list[ContextEntity] = []
    for name, value in values.items():
        if value is None:
            continue
        parameter = {"@id": _parameter_id(name, kind)} if name in declared else None
        for entity in _value_entities(crate, folder, name, value):
            if parameter:
                entity.append_to("exampleOfWork", parameter)
            if entity not in out:
                out.append(entity)
    return out


def _value_entities(crate: ROCrate, folder: Path, name: str, value: Any) -> Iterator[Any]:
    if isinstance(value, dict) and value.get("class") in ("File", "Directory"):
        yield _data_entity(crate, folder, value)
    elif isinstance(value, list) and any(
        isinstance(v, dict) and v.get("class") in ("File", "Directory") for v in value
    ):
        for item in value:
            yield from _value_entities(crate, folder, name, item)
    else:
        yield crate.add(_entity(crate, f"#param-{name}-{_short(value)}", properties={
            "@type": "PropertyValue", "name": name,
            "value": value if isinstance(value, str) else json.dumps(value),
        }))  # fmt: skip


def _data_entity(crate: ROCrate, folder: Path, value: dict[str, Any]) -> Any:
    """A File of the bag (``../data/xx/<sha1>`` as cwltool located it) with its name and
    checksums; a Directory as a Dataset of its listing."""
    if value.get("class") == "Directory":
        parts = [
            _data_entity(crate, folder, item)
            for item in value.get("listing") or []
            if isinstance(item, dict) and item.get("class") in ("File", "Directory")
        ]
        ident = f"#dir-{_short(value.get('basename') or value.get('location'))}"
        dataset = crate.add(_entity(crate, ident, properties={
            "@type": "Dataset", "name": value.get("basename") or "directory"}))  # fmt: skip
        if parts:
            dataset["hasPart"] = parts
        return dataset
    location = unquote(str(value.get("location") or ""))
    relative = posixpath.normpath(posixpath.join("workflow", location))
    path = folder / relative
    checksum = str(value.get("checksum") or "")
    properties: dict[str, Any] = {"name": value.get("basename") or posixpath.basename(relative)}
    if checksum.startswith("sha1$"):
        # The SHA-1 that names the file in the bag (urn:hash::sha1 in the PROV).
        properties["identifier"] = f"urn:hash::sha1:{checksum[5:]}"
    if value.get("format"):
        properties["encodingFormat"] = value["format"]
    if path.is_file() and relative.startswith("data/"):
        existing = crate.dereference(relative)
        if existing is not None:
            return existing
        properties["contentSize"] = str(path.stat().st_size)
        properties["sha256"] = _sha256(path)
        return crate.add_file(path, relative, properties=properties)
    # Not in the bag (cwltool copies every file it sees): named, without its bytes.
    ident = f"#file-{_short(checksum or location)}"
    entity = crate.add(_entity(crate, ident, properties={"@type": "File", **properties}))
    crate.root_dataset.append_to("hasPart", entity)
    return entity


def _docker_pulls(packed: Any) -> list[str]:
    """The images every process of the package names in a DockerRequirement (as a
    requirement or a hint), in document order, once each."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class") == "DockerRequirement":
                image = node.get("dockerPull") or node.get("dockerImageId")
                if isinstance(image, str) and image not in found:
                    found.append(image)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(packed)
    return found


def _image(crate: ROCrate, pull: str, engine: str) -> ContextEntity:
    """A ContainerImage entity of a ``dockerPull`` reference (registry/name:tag@digest)."""
    rest, _, digest = pull.partition("@")
    registry, name = "docker.io", rest
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, name = first, remainder
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    properties: dict[str, Any] = {
        "@type": "ContainerImage",
        "additionalType": {"@id": DOCKER_IMAGE},
        "name": name,
        "registry": registry,
        "description": (
            f"Named by the package's DockerRequirement ({pull}); the server ran its tools "
            + ("without a container (ADES_CONTAINER_ENGINE=none)" if engine == "none"
               else f"in containers ({engine})")
        ),
    }  # fmt: skip
    if tag:
        properties["tag"] = tag
    if digest:
        properties["sha256"] = digest.removeprefix("sha256:")
    return crate.add(_entity(crate, f"#image-{_short(pull)}", properties=properties))


def _cwltool_version(folder: Path) -> str | None:
    try:
        for line in (folder / "bag-info.txt").read_text().splitlines():
            if line.startswith("Bag-Software-Agent:"):
                return line.split(":", 1)[1].strip().removeprefix("cwltool ").strip()
    except OSError:
        pass
    return None


def _add_tag_files(folder: Path, names: list[str]) -> None:
    """List tag files added to the bag in each of its tag manifests (BagIt 2.2.1)."""
    for manifest in sorted(folder.glob("tagmanifest-*.txt")):
        algorithm = manifest.name[len("tagmanifest-") : -len(".txt")]
        if algorithm not in hashlib.algorithms_available:
            continue
        kept = [
            line
            for line in manifest.read_text().splitlines()
            if line.strip() and line.split(maxsplit=1)[-1] not in names
        ]
        for name in names:
            kept.append(f"{_digest(folder / name, algorithm)}  {name}")
        manifest.write_text("\n".join(kept) + "\n")


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _sha256(path: Path) -> str:
    return _digest(path, "sha256")


def _short(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def _entity(crate: ROCrate, ident: str, properties: dict[str, Any]) -> ContextEntity:
    """A contextual entity of ``crate`` (ro-crate-py imported only when a crate is made)."""
    from rocrate.model.contextentity import ContextEntity

    return ContextEntity(crate, ident, properties=properties)
