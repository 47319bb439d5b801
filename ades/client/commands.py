"""The client's commands, one function each, returning the exit code (ades.client.http:
0 done/successful, 1 failed, 3 dismissed, 4 still running; errors raise ClientError with
theirs). They print text, or with ``as_json`` the server's documents as they came."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ades.client import view
from ades.client.download import download, references
from ades.client.events import follow
from ades.client.http import (
    EXIT_HTTP,
    EXIT_OK,
    Api,
    ClientError,
    UsageError,
    exit_code,
    problem,
)

JSON = {"Accept": "application/json"}
LEVELS = ("debug", "info", "warning", "error")
# How long a synchronous execution may hold the request (the server may cap it, and
# answers with the job when the run outlasts it: then the client follows the job).
SYNC_WAIT = 600


@dataclass
class Context:
    api: Api
    as_json: bool = False
    # Live progress bars only on a terminal: elsewhere (files, pipes, CI) plain lines.
    live: bool = False


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """``-i NAME=VALUE`` options into the ``inputs`` of an execute request.

    VALUE is JSON when it parses as a number, boolean, array or object (a JSON string is
    unquoted: ``'"3"'`` sends the string 3), else the text as given; ``@URL`` is a link
    (``{"href": URL}``); ``@FILE`` a local JSON file's content. A name given again makes
    an array of its values."""
    inputs: dict[str, list[Any]] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        name = name.strip()
        if not eq or not name:
            raise UsageError(f"-i {pair!r}: expected NAME=VALUE (or NAME=@URL)")
        inputs.setdefault(name, []).append(_value(name, text))
    return {name: values[0] if len(values) == 1 else values for name, values in inputs.items()}


def _value(name: str, text: str) -> Any:
    if text.startswith("@"):
        ref = text[1:]
        if "://" in ref:
            return {"href": ref}
        path = Path(ref).expanduser()
        if not path.is_file():
            raise UsageError(f"-i {name}=@{ref}: no such file (give a URL, e.g. "
                             "s3://bucket/key or https://..., for a file the server fetches)")
        try:
            return json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise UsageError(f"-i {name}=@{ref}: a local file is sent as its JSON value, and "
                             f"this one is not JSON ({err})") from None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if value is None else value


def processes(ctx: Context) -> int:
    doc = ctx.api.json("GET", f"{ctx.api.root()}/processes", headers=JSON)
    if ctx.as_json:
        view.json_out(doc)
        return EXIT_OK
    rows = [[str(p.get("id", "")), str(p.get("version") or ""), str(p.get("title") or "")]
            for p in doc.get("processes") or []]
    print(view.table(rows, ["ID", "VERSION", "TITLE"]))
    return EXIT_OK


def describe(ctx: Context, process: str) -> int:
    doc = ctx.api.json("GET", ctx.api.process_url(process), headers=JSON)
    if ctx.as_json:
        view.json_out(doc)
        return EXIT_OK
    version = f" (version {doc['version']})" if doc.get("version") else ""
    print(f"{doc.get('id', process)}: {doc.get('title') or ''}{version}".rstrip(": "))
    if doc.get("description"):
        print(doc["description"])
    if doc.get("jobControlOptions"):
        print("job control: " + ", ".join(doc["jobControlOptions"]))
    for part in ("inputs", "outputs"):
        entries = doc.get(part) or {}
        if isinstance(entries, list):  # OGC 1.0 drafts: a list of {"id": ...}
            entries = {str(e.get("id")): e for e in entries if isinstance(e, dict)}
        if not entries:
            continue
        print(f"{part}:")
        rows = [[f"  {key}", _kind(spec, part == "inputs"),
                 " - ".join(s for s in (spec.get("title"), spec.get("description")) if s)]
                for key, spec in entries.items()]
        print(view.table(rows, [f"  {part[:-1].upper()}", "TYPE", "ABOUT"]))
    return EXIT_OK


def _kind(spec: dict, is_input: bool) -> str:
    """A schema in a few words: its type(s) and format, array, optional."""
    schema = spec.get("schema") or {}

    def name(s: dict) -> str:
        if "oneOf" in s or "anyOf" in s:
            return " | ".join(name(x) for x in s.get("oneOf") or s.get("anyOf") if x)
        if s.get("type") == "array" and isinstance(s.get("items"), dict):
            return f"array of {name(s['items'])}"
        kind = s.get("type") or ("link" if "$ref" in s else "any")
        if s.get("format"):
            kind += f" ({s['format']})"
        elif s.get("contentMediaType"):
            kind += f" ({s['contentMediaType']})"
        return str(kind)

    text = name(schema) if isinstance(schema, dict) else "any"
    if is_input:
        high = spec.get("maxOccurs", 1)
        if high == "unbounded" or (isinstance(high, int) and high > 1):
            text += f" ×{high}"
        if spec.get("minOccurs", 1) == 0:
            text += ", optional"
    return text


def deploy(ctx: Context, path: Path, replace: bool, process_id: str | None) -> int:
    """Part 2: POST the CWL to …/processes (PUT …/processes/{id} to replace)."""
    try:
        body = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: {err.strerror}") from None
    media = "application/cwl+json" if path.suffix == ".json" else "application/cwl+yaml"
    headers = {"Content-Type": media, **JSON}
    if replace:
        process_id = process_id or package_id(path, body)
        url = ctx.api.process_url(process_id)
        response = ctx.api.request("PUT", url, data=body, headers=headers)
        done = {"id": process_id, "replaced": True, "href": url}
    else:
        response = ctx.api.request("POST", f"{ctx.api.root()}/processes", data=body,
                                   headers=headers)
        done = _maybe_json(response) or {}
        done.setdefault("href", response.headers.get("Location"))
    if ctx.as_json:
        view.json_out(done)
        return EXIT_OK
    verb = "replaced" if replace else "deployed"
    version = f" (version {done['version']})" if done.get("version") else ""
    print(f"{verb} {done.get('id', '')}{version}: {done.get('href') or ''}".rstrip(": "))
    for warning in done.get("warnings") or []:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def package_id(path: Path, body: bytes) -> str:
    """The process id of a CWL package: its top ``id``, or the one Workflow's of a
    ``$graph`` (the server decides alike; ``--id`` says it when it cannot be told)."""
    try:
        doc = yaml.safe_load(body)
    except yaml.YAMLError as err:
        raise UsageError(f"{path}: not YAML or JSON ({err})") from None
    found = None
    if isinstance(doc, dict) and isinstance(doc.get("$graph"), list):
        flows = [g for g in doc["$graph"] if isinstance(g, dict) and g.get("class") == "Workflow"]
        if len(flows) == 1:
            found = flows[0].get("id")
    elif isinstance(doc, dict):
        found = doc.get("id")
    if not found:
        raise UsageError(f"{path}: cannot tell the process id to replace: give --id")
    return str(found).lstrip("#").rsplit("#", 1)[-1]


def _maybe_json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def execute(ctx: Context, process: str, inputs: dict[str, Any], sync: bool,
            watch_it: bool) -> int:
    body: dict[str, Any] = {"inputs": inputs}
    headers = dict(JSON)
    if sync:
        body["response"] = "document"
        headers["Prefer"] = f"wait={SYNC_WAIT}"
    else:
        headers["Prefer"] = "respond-async"
    url = ctx.api.process_url(process) + "/execution"
    wait = {"timeout": (ctx.api.timeout, SYNC_WAIT + 30)} if sync else {}
    response = ctx.api.request("POST", url, json=body, headers=headers, **wait)
    doc = _maybe_json(response)
    if response.status_code == 200:  # the results themselves (sync, or a sync-only process)
        if ctx.as_json:
            view.json_out(doc if doc is not None else response.text)
        else:
            _print_results(doc if doc is not None else response.text)
        return EXIT_OK
    job_url = _job_url(ctx.api, response, doc)
    if sync:  # the server made it a job all the same (it outlasted the wait): wait for it
        final: dict = {}
        for kind, doc in follow(ctx.api, job_url, logs=False):
            if kind == "end":
                final = doc
        code = exit_code(str(final.get("status")))
        if code != EXIT_OK:
            print(f"ades: job {final.get('jobID', job_url)} {final.get('status')}"
                  + (": " + view.failure_text(final) if final.get("status") == "failed"
                     else ""), file=sys.stderr)
            return code
        return results(ctx, job_url)
    if watch_it:
        code = watch(ctx, job_url)
        if code == EXIT_OK and not ctx.as_json:
            return results(ctx, job_url)
        return code
    if ctx.as_json:
        view.json_out(doc if isinstance(doc, dict) else {"href": job_url})
    else:
        print(job_url)
    return EXIT_OK


def _job_url(api: Api, response: Any, doc: Any) -> str:
    """Where the new job is: Location, else its status's self link, else …/jobs/{jobID}."""
    if response.headers.get("Location"):
        return api.job_url(response.headers["Location"])
    if isinstance(doc, dict):
        for link in doc.get("links") or []:
            if (link.get("rel") == "self" and "/jobs/" in str(link.get("href"))
                    and "event-stream" not in str(link.get("type"))):
                return api.job_url(link["href"].split("?")[0])
        if doc.get("jobID"):
            return api.job_url(str(doc["jobID"]))
    raise ClientError(f"the server accepted the job but said not where it is "
                      f"({response.status_code} from POST {response.request.url})", EXIT_HTTP)


def status(ctx: Context, job: str) -> int:
    doc = ctx.api.json("GET", ctx.api.job_url(job), headers=JSON)
    if ctx.as_json:
        view.json_out(doc)
    else:
        print(f"{doc.get('jobID', job)}  {view.status_line(doc)}")
        if doc.get("status") == "failed":
            print(view.failure_text(doc))
    return exit_code(str(doc.get("status")))


def watch(ctx: Context, job: str) -> int:
    """Follow the job to its end, showing progress and logs; the code says how it ended."""
    job_url = ctx.api.job_url(job)
    final: dict = {}
    if ctx.as_json:
        for kind, doc in follow(ctx.api, job_url):
            view.json_line({"event": kind, "data": doc})
            final = doc
        return exit_code(str(final.get("status")))
    with view.JobView(job_url.rsplit("/", 1)[-1], ctx.live) as shown:
        for kind, doc in follow(ctx.api, job_url):
            if kind == "log":
                shown.log(doc)
            elif kind == "status":
                shown.status(doc)
            else:
                shown.end(doc)
                final = doc
    return exit_code(str(final.get("status")))


def logs(ctx: Context, job: str, follow_it: bool, level: str | None) -> int:
    job_url = ctx.api.job_url(job)
    if follow_it:
        final: dict = {}
        for kind, doc in follow(ctx.api, job_url, level=level):
            if kind == "log":
                if ctx.as_json:
                    view.json_line(doc)
                else:
                    print(view.log_line(doc), flush=True)
            elif kind == "end":
                final = doc
        return exit_code(str(final.get("status")))
    offset = None
    while True:
        params = {k: v for k, v in (("offset", offset), ("level", level)) if v}
        page = ctx.api.json("GET", job_url + "/logs", params=params, headers=JSON)
        entries = page.get("logs") or []
        for entry in entries:
            if ctx.as_json:
                view.json_line(entry)
            else:
                print(view.log_line(entry))
        has_next = any(link.get("rel") == "next" for link in page.get("links") or [])
        if not entries or not has_next:
            return EXIT_OK
        offset = str(entries[-1].get("id"))


def results(ctx: Context, job: str, into: Path | None = None, parallel: int = 4) -> int:
    job_url = ctx.api.job_url(job)
    url = job_url + "/results"
    response = ctx.api.request("GET", url, headers=JSON, ok=tuple(range(400, 600)))
    if response.status_code >= 400:
        # Why there are none: a job that failed, was dismissed or runs says so by its code.
        state = ctx.api.request("GET", job_url, headers=JSON, ok=tuple(range(400, 600)))
        doc = _maybe_json(state) if state.status_code == 200 else None
        if isinstance(doc, dict) and doc.get("status") not in (None, "successful"):
            said = doc["status"]
            if said == "failed":
                said += ": " + view.failure_text(doc)
            print(f"ades: job {doc.get('jobID', job)} has no results: it is {said}",
                  file=sys.stderr)
            return exit_code(str(doc["status"]))
        raise ClientError(problem(response))
    doc = _maybe_json(response)
    if doc is None:
        raise ClientError(f"GET {url}: the answer is not JSON "
                          f"({response.headers.get('Content-Type', 'no Content-Type')})")
    if into is None:
        if ctx.as_json:
            view.json_out(doc)
        else:
            _print_results(doc)
        return EXIT_OK
    return _download(ctx, doc, url, into, parallel)


def _print_results(doc: Any) -> None:
    if isinstance(doc, str):
        print(doc)
        return
    rows = [[name, view.output_text(value)] for name, value in view.outputs(doc)]
    if len(rows) == 1 and rows[0][0] == "":
        print(rows[0][1])
        return
    print(view.table(rows, ["OUTPUT", "VALUE"]))


def _download(ctx: Context, doc: Any, url: str, into: Path, parallel: int) -> int:
    remotes, skipped = references(ctx.api, doc, url)
    for href in skipped:
        print(f"ades: not downloadable over HTTP, left out: {href}", file=sys.stderr)
    into.mkdir(parents=True, exist_ok=True)
    done: list[dict] = []
    errors: list[ClientError] = []
    with view.DownloadView(len(remotes), ctx.live and not ctx.as_json,
                           view.console(sys.stderr)) as shown:
        for outcome in download(ctx.api, remotes, into, parallel, shown.advance):
            if isinstance(outcome, ClientError):
                errors.append(outcome)
                continue
            done.append({"path": outcome.path, "href": outcome.href, "size": outcome.size,
                         "done": outcome.done})
            if not ctx.as_json:
                shown.done(f"{outcome.done:<10} {outcome.path} ({outcome.size} bytes)")
    done.sort(key=lambda d: d["path"])
    if ctx.as_json:
        view.json_out({"folder": str(into), "files": done})
    for err in errors:
        print(f"ades: {err}", file=sys.stderr)
    if errors:
        raise ClientError(f"{len(errors)} of {len(remotes)} files did not download "
                          f"(run again to resume)", errors[0].code)
    return EXIT_OK


def dismiss(ctx: Context, job: str) -> int:
    job_url = ctx.api.job_url(job)
    response = ctx.api.request("DELETE", job_url, headers=JSON)
    doc = _maybe_json(response) or {"jobID": job_url.rsplit("/", 1)[-1], "status": "dismissed"}
    if ctx.as_json:
        view.json_out(doc)
    else:
        print(f"{doc.get('jobID', job)}  {view.status_line(doc)}")
    return EXIT_OK
