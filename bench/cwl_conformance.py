"""The official CWL v1.2 conformance tests run through the server's HTTP API, side by side
with the bare ``cwltool`` CLI on the same tests, outputs compared by ``cwltest.compare``.

    .venv/bin/pip install -e '.[conformance]'        # cwltest
    CWL_V12_DIR=/path/to/cwl-v1.2 .venv/bin/python bench/cwl_conformance.py
    .venv/bin/python bench/cwl_conformance.py --cwl-dir ../cwl-v1.2 --tags required --limit 20
    .venv/bin/python bench/cwl_conformance.py --cwl-dir ../cwl-v1.2 --ids colon_in_paths,cat1

Selection: every test of ``conformance_tests.yaml`` (its ``$import``s included), narrowed by
``--tags`` (any of them), ``--ids`` and ``--limit``, except those the server cannot be given
as its configuration stands, each left out with its reason printed:
- tag ``docker``: the tool needs a container; the server runs with
  ``ADES_CONTAINER_ENGINE=none`` (and bare cwltool with ``--no-container``, the same);
- tag ``networkaccess``: the machine may have no network;
- a job whose File lists secondaryFiles that are directories or lie in subdirectories: the
  server fetches the siblings the tool's patterns name, beside the file;
- a job that carries ``cwl:requirements``: an execute request has inputs, not requirements;
- a job with a Directory literal (``listing`` given): the reference to its upload is a
  Directory by location, and CWL gives such a Directory the listing the tool's
  ``loadListing`` asks for, not the one the job spelled out.
Tests that must fail (``should_fail``) are kept: they pass when the deploy or the execute
request is refused (4xx) or the job fails, and under cwltool when it exits non-zero.

Through the server, per test: an in-process server (uvicorn, as ``tests/api/conftest.py``
``serve()``, with its embedded SeaweedFS and a SQLite store) gets the tool packed into one
self-contained document by ``cwltool --pack`` (a conformance tool often imports others and
has no id: the entry ``#main`` is renamed ``cwl-<test id>`` so that it can be deployed
through Part 2, ``POST /cwl/ogc-api/processes``; a tool that stands alone is deployed as
written, with ``id: cwl-<test id>`` added, since packing rewrites numbers). The job file
becomes OGC inputs: every File is uploaded to S3 and passed as ``{"href": "s3://…/<its
basename>"}``, every Directory uploaded (each file under it, relative paths as keys) and
passed as ``s3://…/<name>/``, literals as they are (a File's secondary files, listed or
lying beside it, uploaded beside it: the server fetches them by the tool's patterns), a
File's ``format`` (its namespace prefix expanded) as the reference's ``format``. Job keys
that name no input of the process are dropped: cwltool ignores them, the server refuses
unknown inputs (400) by design. The job runs asynchronously through HTTP; its results
document is read back, each File downloaded under its name, each Directory's files under the
directory's name (the ``name`` of its listing), a File's ``format`` and ``secondaryFiles``
from its link, and the CWL output object so made is compared with the expected one
(checksums, sizes, basenames, listings).

Empty directories travel as folder markers (keys ending with ``/``). Bare ``cwltool
--no-container`` runs each test at the same time as the server does, on the same document
the server is given (the packed one, when the tool had to be packed) and the same job file.

Defaults of a packed tool keep their ``file://`` locations in this checkout: the server runs
on this machine, so they resolve there as they do for cwltool. Packing changes some tests,
for both sides alike: it upgrades every part to v1.2 (a v1.0 part using v1.2 syntax, which
the test wants refused, becomes valid), and cwltool fails some packed documents that it runs
unpacked.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import requests
import yaml

try:
    from cwltest.compare import CompareFail, compare
    from cwltest.utils import load_and_validate_tests, shortname
    from cwltool.main import main as cwltool_main
except ImportError:  # pragma: no cover - an optional tool
    raise SystemExit("cwltest is missing: .venv/bin/pip install -e '.[conformance]'") from None

from live_server import running

from ades.objectstore.s3 import S3ObjectStore
from ades.settings import Settings

WORKSPACE = "cwl"
INPUTS_BUCKET = "cwl-conformance-inputs"
DIRECTORY = "application/x-directory"
# The CLI itself: `python -m cwltool` exits 0 whatever happened.
CWLTOOL = str(Path(sys.executable).parent / "cwltool")
LEFT_OUT_TAGS = {
    "docker": "needs a container engine (the server runs with ADES_CONTAINER_ENGINE=none)",
    "networkaccess": "needs network access",
}


@dataclass
class Outcome:
    passed: bool
    reason: str = ""


@dataclass
class Report:
    server: dict[str, Outcome] = field(default_factory=dict)
    cwltool: dict[str, Outcome] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


def file_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri)


def local_of(value: dict[str, Any], base: Path) -> Path | None:
    """Where a job's File or Directory lies: ``location`` is a URI (``A%3AB`` is ``A:B``),
    ``path`` a plain path, both relative to the job file."""
    if value.get("location"):
        return base / Path(unquote(urlparse(value["location"]).path))
    if value.get("path"):
        return base / value["path"]
    return None


# --- selection ----------------------------------------------------------------------------


def load_job(test: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """The job order of a test (empty without a job file) and the folder it is relative to."""
    if not test.get("job"):
        return {}, file_path(test["tool"]).parent
    path = file_path(test["job"])
    return yaml.safe_load(path.read_text()) or {}, path.parent


def why_left_out(test: dict[str, Any]) -> str | None:
    for tag in test.get("tags", []):
        if tag in LEFT_OUT_TAGS:
            return LEFT_OUT_TAGS[tag]
    tool = yaml.safe_load(file_path(test["tool"].split("#", 1)[0]).read_text())
    if ships_files(tool):
        return ("the tool ships files beside itself (a File or Directory by location, as in "
                "an InitialWorkDirRequirement listing): a deployed package is one document, "
                "and the server reads no file of its own disk while loading one")
    job, base = load_job(test)
    if "cwl:requirements" in job:
        return "the job carries cwl:requirements (an execute request carries inputs only)"
    for value in walk(job):
        if value.get("class") == "Directory" and "listing" in value:
            return ("a Directory literal with its listing: an s3:// reference is a Directory "
                    "by location, whose listing the tool's loadListing decides")
        if value.get("class") == "File" and any(
            v.get("class") == "Directory" or "/" in (v.get("location") or v.get("path") or "")
            for v in value.get("secondaryFiles", [])
        ):
            return ("a File input whose listed secondaryFiles are directories or lie in "
                    "subdirectories (the server fetches siblings named by the tool's patterns)")
    return None


def ships_files(node: Any) -> bool:
    """Whether a CWL document names a File or Directory by location anywhere but in the
    defaults of its inputs (``inputs``, a step's ``in``)."""
    if isinstance(node, list):
        return any(ships_files(v) for v in node)
    if not isinstance(node, dict):
        return False
    if node.get("class") in ("File", "Directory") and "location" in node:
        return True
    return any(ships_files(v) for k, v in node.items() if k not in ("inputs", "in"))


def walk(value: Any) -> Any:
    """Every File and Directory object inside a job value."""
    if isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def select(tests: list[dict[str, Any]], args: argparse.Namespace, report: Report) -> list[dict]:
    chosen = []
    ids = set(args.ids.split(",")) if args.ids else None
    tags = set(args.tags.split(",")) if args.tags else None
    for test in tests:
        if ids is not None and test["id"] not in ids:
            continue
        if tags is not None and not tags & set(test.get("tags", [])):
            continue
        reason = why_left_out(test)
        if reason:
            report.left_out[test["id"]] = reason
            continue
        chosen.append(test)
    return chosen[: args.limit] if args.limit else chosen


# --- CWL output objects from local files --------------------------------------------------


def file_object(path: Path) -> dict[str, Any]:
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324 - CWL's checksum
    stem, dot, ext = path.name.rpartition(".")
    return {
        "class": "File",
        "location": str(path),
        "path": str(path),
        "basename": path.name,
        "nameroot": stem if dot and stem else path.name,
        "nameext": "." + ext if dot and stem else "",
        "size": path.stat().st_size,
        "checksum": f"sha1${sha1}",
    }


def directory_object(path: Path) -> dict[str, Any]:
    listing = [
        directory_object(p) if p.is_dir() else file_object(p) for p in sorted(path.iterdir())
    ]
    return {
        "class": "Directory",
        "location": str(path),
        "path": str(path),
        "basename": path.name,
        "listing": listing,
    }


# --- through the server -------------------------------------------------------------------


class ThroughServer:
    """Deploys, executes and reads back one conformance test through the server's API."""

    def __init__(self, base: str, inputs: S3ObjectStore, scratch: Path, timeout: float):
        self.base = base
        self.root = f"{base}/{WORKSPACE}/ogc-api"
        self.inputs = inputs
        self.scratch = scratch
        self.timeout = timeout
        self.http = requests.Session()
        self.namespaces: dict[str, str] = {}
        self._n = 0

    def run(self, test: dict[str, Any], package: Package | None) -> Outcome:
        should_fail = bool(test.get("should_fail"))
        if package is None:
            return Outcome(should_fail, "cwltool --pack cannot read the tool")
        work = self.scratch / re.sub(r"[^A-Za-z0-9_.-]", "_", test["id"])
        work.mkdir(parents=True, exist_ok=True)
        pid = package.pid
        self.http.delete(f"{self.root}/processes/{pid}")  # a previous run's, if any
        r = self.http.post(f"{self.root}/processes", data=package.document,
                           headers={"Content-Type": package.media_type})
        if r.status_code != 201:
            return Outcome(should_fail, f"deploy: {r.status_code} {_detail(r)}")
        try:
            job, base = load_job(test)
            described = self.http.get(f"{self.root}/processes/{pid}").json()["inputs"]
            self.namespaces = job.get("$namespaces", {})
            inputs = self.ogc_inputs({k: v for k, v in job.items() if k in described}, base,
                                     f"{pid}/{time.time_ns()}")
            r = self.http.post(f"{self.root}/processes/{pid}/execution",
                               json={"inputs": inputs, "response": "document"},
                               headers={"Prefer": "respond-async"})
            if r.status_code != 201:
                return Outcome(should_fail, f"execute: {r.status_code} {_detail(r)}")
            status = self.wait(r.headers["Location"])
            if status["status"] != "successful":
                return Outcome(should_fail, f"job {status['status']}: {status.get('message')}")
            if should_fail:
                return Outcome(False, "the job succeeded but the test must fail")
            results = self.http.get(r.headers["Location"] + "/results").json()
            actual = {k: self.cwl_value(v, work / "out") for k, v in results.items()}
            return _compared(test.get("output", {}), actual)
        finally:
            self.http.delete(f"{self.root}/processes/{pid}")

    def wait(self, job_url: str) -> dict[str, Any]:
        end = time.monotonic() + self.timeout
        while True:
            status = self.http.get(job_url).json()
            if status["status"] in ("successful", "failed", "dismissed"):
                return status
            if time.monotonic() > end:
                self.http.delete(job_url)
                return {"status": "timed out", "message": f"after {self.timeout:g}s"}
            time.sleep(0.2)

    def ogc_inputs(self, value: Any, base: Path, prefix: str) -> Any:
        if isinstance(value, list):
            return [self.ogc_inputs(v, base, prefix) for v in value]
        if not isinstance(value, dict):
            return value
        kind = value.get("class")
        if kind == "File":
            reference = {"href": self.upload_file(value, base, prefix)}
            if value.get("format"):
                reference["format"] = self.expanded(value["format"])
            return reference
        if kind == "Directory":
            return {"href": self.upload_directory(value, base, prefix)}
        return {k: self.ogc_inputs(v, base, prefix) for k, v in value.items()}

    def expanded(self, iri: str) -> str:
        """``edam:format_2330`` with the job's ``$namespaces``: the full IRI."""
        prefix, colon, rest = iri.partition(":")
        if colon and prefix in self.namespaces:
            return self.namespaces[prefix] + rest
        return iri

    def _key(self, prefix: str, name: str) -> str:
        self._n += 1
        return f"{prefix}/{self._n}/{name}"

    def upload_file(self, value: dict[str, Any], base: Path, prefix: str) -> str:
        local = local_of(value, base)
        if local is None:  # a file literal
            name = value.get("basename") or "literal"
            return self.inputs.put_bytes(value.get("contents", "").encode(),
                                         self._key(prefix, name))
        key = self._key(prefix, value.get("basename", local.name))
        folder = key.rsplit("/", 1)[0]
        # Secondary files go beside the primary, where the server looks for them by the
        # tool's patterns: those the job lists, and the siblings cwltool would find (the
        # files next to it whose name starts the same, up to the first dot).
        siblings = [local_of(v, base) for v in value.get("secondaryFiles", [])]
        stem = local.name.split(".")[0]
        siblings += [p for p in local.parent.iterdir()
                     if p.is_file() and p != local and p.name.split(".")[0] == stem][:20]
        for sibling in siblings:
            if sibling is not None and sibling.is_file():
                self.inputs.put_file(sibling, f"{folder}/{sibling.name}")
        return self.inputs.put_file(local, key)

    def upload_directory(self, value: dict[str, Any], base: Path, prefix: str) -> str:
        local = local_of(value, base)
        if local is not None:
            key = self._key(prefix, value.get("basename", local.name))
            for path in sorted(local.rglob("*")):
                if path.is_file():
                    self.inputs.put_file(path, f"{key}/{path.relative_to(local).as_posix()}")
            # Empty directories as folder markers (S3 has no empty prefixes).
            for path in [local, *sorted(p for p in local.rglob("*") if p.is_dir())]:
                if not any(path.iterdir()):
                    rel = path.relative_to(local).as_posix()
                    self.inputs.put_bytes(b"", f"{key}/" if rel == "." else f"{key}/{rel}/")
            return self.inputs.uri(key) + "/"
        key = self._key(prefix, value.get("basename") or "directory")
        self._put_listing(value.get("listing", []), base, key)
        return self.inputs.uri(key) + "/"

    def _put_listing(self, listing: list[dict[str, Any]], base: Path, key: str) -> None:
        for item in listing:
            local = local_of(item, base)
            name = item.get("basename") or (local.name if local else "literal")
            if item.get("class") == "Directory":
                if local is not None:
                    for path in sorted(local.rglob("*")):
                        if path.is_file():
                            rel = path.relative_to(local).as_posix()
                            self.inputs.put_file(path, f"{key}/{name}/{rel}")
                self._put_listing(item.get("listing", []), base, f"{key}/{name}")
            elif local is not None:
                self.inputs.put_file(local, f"{key}/{name}")
            else:
                self.inputs.put_bytes(item.get("contents", "").encode(), f"{key}/{name}")

    def cwl_value(self, value: Any, into: Path) -> Any:
        """A results document value as a CWL output object over downloaded files."""
        if isinstance(value, list):
            return [self.cwl_value(v, into / str(i)) for i, v in enumerate(value)]
        if isinstance(value, dict) and "href" not in value:  # a record
            return {k: self.cwl_value(v, into / k) for k, v in value.items()}
        if not isinstance(value, dict):
            return value
        if value["type"] == DIRECTORY:
            directory = self.http.get(value["href"]).json()
            listing = directory["files"]
            folder = into / directory["name"]
            folder.mkdir(parents=True, exist_ok=True)
            for item in listing:
                self._download(item["href"], folder / item["path"])
            return directory_object(folder)
        name = unquote(urlparse(value["href"]).path).rsplit("/", 1)[-1]
        path = into / name
        self._download(value["href"], path)
        cwl = file_object(path)
        if value.get("format"):
            cwl["format"] = value["format"]
        if value.get("secondaryFiles"):
            cwl["secondaryFiles"] = [self.cwl_value(v, into) for v in value["secondaryFiles"]]
        return cwl

    def _download(self, href: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        r = self.http.get(href)
        r.raise_for_status()
        path.write_bytes(r.content)


def _detail(r: requests.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))[:300]
    except ValueError:
        return r.text[:300]


def _compared(expected: Any, actual: Any) -> Outcome:
    try:
        compare(expected, actual)
    except CompareFail as err:
        return Outcome(False, " ".join(str(err).split())[:400])
    return Outcome(True)


# What makes a tool lean on other files (or on its own path): those go through --pack.
_REFERS = re.compile(
    r"\$import|\$include|\$schemas|\$mixin|SchemaDefRequirement"
    r"|^\s*(-\s*)?(run|location|path)\s*:",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Package:
    """What the server is given for one test (deployed as ``pid``), and the file bare
    cwltool runs for it: the same document, so that both run exactly the same package."""

    pid: str
    document: str
    media_type: str
    cwltool_tool: str


def package_of(test: dict[str, Any], scratch: Path) -> Package | None:
    """The test's tool as one self-contained package: as written when it stands alone,
    else packed (kept in ``scratch`` for cwltool, whose entry stays ``#main``). None when
    cwltool cannot pack it."""
    pid = "cwl-" + re.sub(r"[^A-Za-z0-9_-]", "-", test["id"])
    written = as_written(test["tool"], pid)
    if written is not None:
        return Package(pid, written, "application/cwl+yaml", file_path(test["tool"]).as_posix())
    packed = pack(test["tool"])
    if packed is None:
        return None
    path = scratch / "packed" / f"{pid}.cwl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(packed)
    document = packed.replace('"#main"', f'"#{pid}"').replace('"#main/', f'"#{pid}/')
    return Package(pid, document, "application/cwl+json", path.as_posix())


def as_written(tool: str, pid: str) -> str | None:
    """The tool's own YAML with the entry id ``pid``, when it stands alone: packing goes
    through JSON, which rewrites numbers (``1.23e5`` becomes ``123000.0``) that the tool may
    print. None when it refers to other files, has an id, or is a fragment of a document."""
    if "#" in tool:
        return None
    text = file_path(tool).read_text()
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or "class" not in document or "id" in document:
        return None  # a $graph, or an entry that has an id: packing names it
    if _REFERS.search(text):
        return None
    return f"id: {pid}\n{text}"


def pack(tool: str) -> str | None:
    """``cwltool --pack``, in this process: a CLI start per test costs more than the test."""
    out, err = io.StringIO(), io.StringIO()
    rc = cwltool_main(["--pack", tool], stdout=out, stderr=err,
                      logger_handler=logging.NullHandler())
    return out.getvalue() if rc == 0 else None


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}


# --- bare cwltool --------------------------------------------------------------------------


class BareCwltool:
    """One test under the cwltool CLI, started in the background so that it runs while the
    server runs the same test."""

    def __init__(self, test: dict[str, Any], package: Package | None, scratch: Path,
                 timeout: float):
        self.test = test
        self.timeout = timeout
        outdir = Path(tempfile.mkdtemp(dir=scratch))
        if package is not None:
            tool = package.cwltool_tool
        else:  # what cannot be packed is run as written
            tool = file_path(test["tool"]).as_posix()
            if "#" in test["tool"]:
                tool += "#" + test["tool"].split("#", 1)[1]
        command = [CWLTOOL, "--no-container", "--disable-js-validation", "--quiet",
                   "--outdir", str(outdir), tool]
        if test.get("job"):
            command.append(file_path(test["job"]).as_posix())
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, cwd=file_path(test["tool"]).parent,
                                        env=_env())

    def outcome(self) -> Outcome:
        should_fail = bool(self.test.get("should_fail"))
        try:
            stdout, stderr = self.process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            return Outcome(False, f"timed out after {self.timeout:g}s")
        if self.process.returncode != 0:
            tail = " ".join(stderr.strip().splitlines()[-2:])[:300]
            return Outcome(should_fail, f"exit {self.process.returncode}: {tail}")
        if should_fail:
            return Outcome(False, "exited 0 but the test must fail")
        try:
            actual = json.loads(stdout)
        except json.JSONDecodeError:
            return Outcome(False, "no JSON output object")
        return _compared(self.test.get("output", {}), actual)


# --- the run ------------------------------------------------------------------------------


def server_settings(root: Path) -> Settings:
    """An empty workspace to deploy into; the embedded SeaweedFS; one job at a time."""
    workspaces = root / "workspaces"
    (workspaces / WORKSPACE / "processes").mkdir(parents=True)
    return Settings(data_dir=root / "data", workspaces=workspaces, max_jobs=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--cwl-dir", default=os.environ.get("CWL_V12_DIR"),
                        help="checkout of common-workflow-language/cwl-v1.2 (env CWL_V12_DIR)")
    parser.add_argument("--tags", help="comma-separated: tests with any of these tags")
    parser.add_argument("--ids", help="comma-separated test ids")
    parser.add_argument("--limit", type=int, help="at most this many tests")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per test and runner")
    parser.add_argument("--only", choices=["server", "cwltool"], help="run one side only")
    args = parser.parse_args()
    if not args.cwl_dir:
        raise SystemExit("point --cwl-dir or CWL_V12_DIR at a cwl-v1.2 checkout")
    suite = Path(args.cwl_dir).resolve() / "conformance_tests.yaml"
    tests, _ = load_and_validate_tests(str(suite))
    for test in tests:
        test["id"] = shortname(test["id"])
    report = Report()
    chosen = select(tests, args, report)
    print(f"{len(chosen)} test(s) selected, {len(report.left_out)} left out", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="cwl-conformance-"))
    try:
        if args.only == "cwltool":
            run_all(chosen, None, scratch, args, report)
        else:
            with running(server_settings(scratch / "server")) as (server, base):
                settings = server.services.settings
                inputs = S3ObjectStore(server.services.objects.endpoint, settings.s3_access_key,
                                       settings.s3_secret_key, INPUTS_BUCKET)
                inputs.ensure_bucket()
                through = ThroughServer(base, inputs, scratch / "results", args.timeout)
                run_all(chosen, through, scratch, args, report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_report(report)


def run_all(
    chosen: list[dict[str, Any]],
    through: ThroughServer | None,
    scratch: Path,
    args: argparse.Namespace,
    report: Report,
) -> None:
    for n, test in enumerate(chosen, start=1):
        line = f"[{n}/{len(chosen)}] {test['id']}:"
        package = package_of(test, scratch)
        bare = (BareCwltool(test, package, scratch, args.timeout)
                if args.only != "server" else None)
        if through is not None:
            try:
                report.server[test["id"]] = through.run(test, package)
            except Exception as err:  # the harness's own trouble: count it, go on
                traceback.print_exc()
                report.server[test["id"]] = Outcome(False, f"harness error: {err}")
            line += f" server {'pass' if report.server[test['id']].passed else 'FAIL'}"
        if bare is not None:
            report.cwltool[test["id"]] = bare.outcome()
            line += f" cwltool {'pass' if report.cwltool[test['id']].passed else 'FAIL'}"
        print(line, flush=True)


def _counts(outcomes: dict[str, Outcome]) -> str:
    passed = sum(o.passed for o in outcomes.values())
    return f"{passed} passed, {len(outcomes) - passed} failed"


def print_report(report: Report) -> None:
    print()
    if report.left_out:
        print(f"Left out ({len(report.left_out)}):")
        for test_id, reason in report.left_out.items():
            print(f"  {test_id}: {reason}")
    if report.server and report.cwltool:
        both = [t for t in report.server if not report.server[t].passed
                and not report.cwltool[t].passed]
        if both:
            print(f"Failing under both ({len(both)}):")
            for t in both:
                print(f"  {t}: cwltool: {report.cwltool[t].reason}")
        server_only = [t for t in report.server
                       if not report.server[t].passed and report.cwltool[t].passed]
        print(f"Pass under cwltool, fail through the server ({len(server_only)}):")
        for t in server_only:
            print(f"  {t}: {report.server[t].reason}")
        cwltool_only = [t for t in report.server
                        if report.server[t].passed and not report.cwltool[t].passed]
        if cwltool_only:
            print(f"Pass through the server, fail under cwltool ({len(cwltool_only)}):")
            for t in cwltool_only:
                print(f"  {t}: {report.cwltool[t].reason}")
    elif report.server:
        for t, o in report.server.items():
            if not o.passed:
                print(f"  {t}: {o.reason}")
    print()
    if report.server:
        print(f"server:  {_counts(report.server)}")
    if report.cwltool:
        print(f"cwltool: {_counts(report.cwltool)}")


if __name__ == "__main__":
    main()
