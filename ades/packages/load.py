"""Load a CWL application package with cwltool's own loader (schema-salad validation and
cwltool's static checks), pick its entry point, and describe that entry as a Process."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping, MutableSequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cwltool.context import LoadingContext
from cwltool.errors import WorkflowException
from cwltool.load_tool import (
    default_loader,
    fetch_document,
    make_tool,
    resolve_and_validate_document,
)
from cwltool.process import Process as CwlProcess
from cwltool.workflow import default_make_tool
from schema_salad.exceptions import ValidationException
from schema_salad.fetcher import DefaultFetcher
from schema_salad.sourceline import relname

from ades.errors import InvalidPackage
from ades.model import Parameter, Process
from ades.packages.bounds import check_bounds
from ades.packages.hints import (
    CACHE_HINT,
    JOB_CONTROL_HINT,
    STAC_RESULTS_FORMS,
    STAC_RESULTS_HINT,
    quiet_about_our_hints,
)
from ades.packages.media import output_media_types
from ades.packages.schema import cwl_type_to_schema, default_to_json, short_name, text_of

JOB_CONTROL_OPTIONS = ("sync-execute", "async-execute", "dismiss")
SOFTWARE_VERSION_KEYS = ("https://schema.org/softwareVersion", "http://schema.org/softwareVersion")
DEFAULT_VERSION = "0.0.0"

quiet_about_our_hints()

# cwltool keeps per-version schema caches in module globals; loading two documents at once
# from different threads (two deploy requests) must not interleave.
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class LoadedPackage:
    """A validated package: its entry point as a Process, cwltool's object of that entry
    (for the checks made at deploy), and whether the id came from the file name because
    the entry has none of its own."""

    process: Process
    tool: CwlProcess
    named_by_file: bool


def load_process(document: str | Path, workspace: str, **options: Any) -> Process:
    """The entry point of a CWL document as a Process; see ``load_package``."""
    return load_package(document, workspace, **options).process


def load_package(
    document: str | Path,
    workspace: str,
    *,
    workflow_id: str | None = None,
    mutable: bool = False,
    source_name: str = "package.cwl",
) -> LoadedPackage:
    """Load and validate a CWL document — a file (a Path), or the CWL text itself (a str,
    YAML or JSON) — and describe its entry point as a Process of ``workspace``.

    The entry point of a ``$graph`` package is ``workflow_id`` when given, else ``#main``,
    else its only Workflow. Raises InvalidPackage with the validator's message (which
    names the line) when the document is not valid CWL.
    """
    text, name = _read(document, source_name)
    if not text.strip():
        raise InvalidPackage(f"{name}: the package is empty")
    # No alias bomb, no nesting thousands deep: refused before the loader walks them.
    check_bounds(text, name)
    # The loader gets the text under a URI of our own, where nothing else exists: the text
    # is what gets stored and run, so it must not lean on files beside it.
    uri = f"file:///ades-package/{uuid.uuid4().hex}/{name}"
    try:
        with _LOAD_LOCK:
            tool, entry, metadata = _load(text, uri, workflow_id)
    except (ValidationException, WorkflowException) as exc:
        raise InvalidPackage(_message(exc, uri, name)) from exc
    except Exception as exc:
        # The document is the user's: whatever else the loader trips on is theirs to fix
        # too, and must reach them as a package error, not as a server error.
        raise InvalidPackage(f"{name}: cannot be loaded: {_message(exc, uri, name)}") from exc

    stem = Path(name).stem
    if entry is None:
        named_by_file = "#" not in tool.tool["id"]
        process_id = stem if named_by_file else short_name(tool.tool["id"])
    else:
        # "main" names the role, not the process: the package file names it then.
        named_by_file = entry == "#main"
        process_id = stem if named_by_file else entry[1:]
    process = Process(
        id=process_id,
        workspace=workspace,
        version=_version(tool.tool, metadata),
        title=text_of(tool.tool["label"]) if tool.tool.get("label") else None,
        description=text_of(tool.tool["doc"]) if tool.tool.get("doc") else None,
        inputs=_parameters(tool, "inputs"),
        outputs=_parameters(tool, "outputs"),
        job_control=_job_control(tool),
        stac_results=_stac_results(tool),
        package=text,
        entry=entry,
        mutable=mutable,
        cache=_cache(tool),
    )
    return LoadedPackage(process, tool, named_by_file)


def _read(document: str | Path, source_name: str) -> tuple[str, str]:
    """(CWL text, the name to show in messages and to name a #main process after)."""
    # A str is always the text: a deploy body that looks like a path must never make the
    # server read its own files.
    if isinstance(document, str):
        return document, source_name
    path = Path(document)
    try:
        return path.read_text(encoding="utf-8"), path.name
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPackage(f"cannot read package file '{path}': {exc}") from exc


class _PackageOnlyFetcher(DefaultFetcher):
    """Serves what the loader already holds (the package text, cwltool's own schemas) and
    refuses every other file or URL: a package must be self-contained (its text is what is
    stored and run), and loading a deployed one must not make the server read its own disk
    or fetch from the network."""

    def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
        cached = self.cache.get(url)
        if isinstance(cached, str):
            return cached
        raise ValidationException(
            f"'{url}' is outside the package: a deployed package must be self-contained"
        )

    def check_exists(self, url: str) -> bool:
        return url in self.cache


def _load(text: str, uri: str, workflow_id: str | None) -> tuple[CwlProcess, str | None, dict]:
    """Validate the whole document, then build the cwltool Process of its entry point."""
    context = LoadingContext({"strict": True, "do_update": True})
    context.construct_tool_object = default_make_tool
    context.fetcher_constructor = _PackageOnlyFetcher
    context.loader = default_loader(context.fetcher_constructor)
    context.loader.fetcher.cache[uri] = text

    context, document, file_uri = fetch_document(uri, context)
    if not isinstance(document, Mapping):
        raise ValidationException("a CWL document must be a mapping at its top level")
    context, resolved = resolve_and_validate_document(context, document, file_uri)
    processes, _ = context.loader.resolve_ref(resolved)

    if isinstance(processes, MutableSequence):
        entry = _graph_entry(processes, workflow_id)
        tool = make_tool(f"{file_uri}{entry}", context)
    else:
        if workflow_id and workflow_id.lstrip("#") != short_name(processes["id"]):
            raise ValidationException(
                f"workflow '{workflow_id}' not found: the document holds one process, "
                f"'{short_name(processes['id'])}'"
            )
        entry = None
        tool = make_tool(resolved, context)
    return tool, entry, dict(context.metadata or {})


def _graph_entry(processes: list[Mapping[str, Any]], workflow_id: str | None) -> str:
    """The fragment ("#main") of the $graph process to run."""
    ids = {"#" + p["id"].rsplit("#", 1)[-1]: p for p in processes}
    listed = ", ".join(sorted(ids))
    if workflow_id:
        wanted = "#" + workflow_id.lstrip("#")
        if wanted not in ids:
            raise ValidationException(
                f"workflow '{workflow_id}' not found in the $graph; it holds {listed}"
            )
        return wanted
    if "#main" in ids:
        return "#main"
    workflows = sorted(key for key, p in ids.items() if p.get("class") == "Workflow")
    if len(workflows) == 1:
        return workflows[0]
    # Sub-workflows are run by a step of another Workflow; the entry point is run by none.
    run_by_steps = {
        "#" + str(step.get("run")).rsplit("#", 1)[-1]
        for p in processes
        for step in p.get("steps") or []
        if isinstance(step, Mapping) and isinstance(step.get("run"), str)
    }
    roots = [key for key in workflows if key not in run_by_steps]
    if len(roots) == 1:
        return roots[0]
    if len(ids) == 1:
        return next(iter(ids))
    raise ValidationException(
        f"cannot tell the entry point of the $graph: it has no #main and "
        f"{len(workflows)} Workflows ({', '.join(workflows) or 'none'}) that no step runs; "
        f"name one of {listed}"
    )


def _message(exc: Exception, uri: str, name: str) -> str:
    """The validator's message with our internal URI replaced by the package's name, and
    schema-salad's column wrapping undone (it aligns for a terminal, not for JSON)."""
    message = str(exc)
    folder = uri.rsplit("/", 1)[0] + "/"
    for spelling, replacement in (
        (uri, name),
        (relname(uri), name),
        (uri.removeprefix("file://"), name),
        (folder, ""),
    ):
        message = message.replace(spelling, replacement)
    located = re.compile(rf"{re.escape(name)}:\d+:\d+:")
    lines: list[str] = []
    for line in message.splitlines():
        if lines and line[:1].isspace() and not located.match(line.strip()):
            lines[-1] = f"{lines[-1]} {line.strip()}"
        elif line.strip():
            lines.append(line.rstrip())
    return "\n".join(lines) or type(exc).__name__


def _version(tool: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
    """s:softwareVersion of the entry, else of the document's top (where a $graph package
    keeps it; the loader leaves those top-level keys unexpanded, so expand them here)."""
    namespaces = metadata.get("$namespaces") or {}
    top = {_expand(key, namespaces): value for key, value in metadata.items()}
    for source in (tool, top):
        for key in SOFTWARE_VERSION_KEYS:
            if source.get(key) not in (None, ""):
                return str(source[key])
    return DEFAULT_VERSION


def _expand(key: str, namespaces: Mapping[str, str]) -> str:
    prefix, _, local = key.partition(":")
    return namespaces[prefix] + local if local and prefix in namespaces else key


def _parameters(tool: CwlProcess, direction: str) -> tuple[Parameter, ...]:
    named = _schema_defs(tool)
    media = output_media_types(tool) if direction == "outputs" else {}
    parameters = []
    for port in tool.tool[direction]:
        default = port.get("default") if direction == "inputs" else None
        try:
            shape = cwl_type_to_schema(port["type"], default, types=named)
        except InvalidPackage as exc:
            raise InvalidPackage(f"{direction[:-1]} '{short_name(port['id'])}': {exc}") from exc
        parameters.append(
            Parameter(
                id=short_name(port["id"]),
                schema=shape.schema,
                title=text_of(port["label"]) if port.get("label") else None,
                description=text_of(port["doc"]) if port.get("doc") else None,
                min_occurs=shape.min_occurs,
                max_occurs=shape.max_occurs,
                kind=shape.kind,
                default=default_to_json(default) if default is not None else None,
                secondary_files=_secondary_patterns(port.get("secondaryFiles")),
                field_secondary_files=tuple(_field_patterns(port["type"], named).items()),
                media_types=media.get(short_name(port["id"])),
            )
        )
    return tuple(parameters)


def _field_patterns(
    cwl_type: Any, named: Mapping[str, Any], prefix: str = "", seen: frozenset = frozenset()
) -> dict[str, tuple[str, ...]]:
    """secondaryFiles patterns of the File fields of a record type (inside unions, arrays
    and named types too), by field path."""
    if isinstance(cwl_type, str):
        key = next((k for k in named if k == cwl_type or short_name(k) == short_name(cwl_type)),
                   None)
        if key is None or key in seen:
            return {}
        return _field_patterns(named[key], named, prefix, seen | {key})
    if isinstance(cwl_type, list):
        found: dict[str, tuple[str, ...]] = {}
        for member in cwl_type:
            found.update(_field_patterns(member, named, prefix, seen))
        return found
    if not isinstance(cwl_type, Mapping):
        return {}
    if cwl_type.get("type") == "array":
        return _field_patterns(cwl_type.get("items"), named, prefix, seen)
    if cwl_type.get("type") != "record":
        return {}
    found = {}
    for entry in cwl_type.get("fields") or []:
        path = prefix + short_name(entry["name"])
        patterns = _secondary_patterns(entry.get("secondaryFiles"))
        if patterns:
            found[path] = patterns
        found.update(_field_patterns(entry.get("type"), named, path + "/", seen))
    return found


def _secondary_patterns(secondary: Any) -> tuple[str, ...]:
    """The plain patterns of a port's secondaryFiles (as loaded: a list of
    ``{"pattern", "required"}``), ``?`` marking the optional ones; expressions skipped."""
    patterns = []
    for entry in secondary if isinstance(secondary, list) else [secondary] if secondary else []:
        pattern = entry.get("pattern") if isinstance(entry, Mapping) else entry
        if not isinstance(pattern, str) or "$(" in pattern or "${" in pattern:
            continue
        required = entry.get("required") if isinstance(entry, Mapping) else None
        if required is False and not pattern.endswith("?"):
            pattern += "?"
        patterns.append(pattern)
    return tuple(patterns)


def _schema_defs(tool: CwlProcess) -> dict[str, Any]:
    """Named types of the entry's SchemaDefRequirement, by their full id."""
    named: dict[str, Any] = {}
    for requirement in [*tool.requirements, *tool.hints]:
        if requirement.get("class") == "SchemaDefRequirement":
            for definition in requirement.get("types", []):
                named[definition["name"]] = definition
    return named


def _job_control(tool: CwlProcess) -> tuple[str, ...]:
    """The ades:JobControl hint's options, or all of them when there is no hint."""
    hints = [h for h in tool.hints if h.get("class") == JOB_CONTROL_HINT]
    if not hints:
        return JOB_CONTROL_OPTIONS
    return job_control_options(hints[-1].get("jobControlOptions"), "ades:JobControl")


def job_control_options(options: Any, where: str) -> tuple[str, ...]:
    """``options`` (a list of jobControlOptions, or one) checked and in the usual order;
    InvalidPackage naming ``where`` they came from when they are not usable."""
    if isinstance(options, str):
        options = [options]
    if not isinstance(options, list) or not options:
        raise InvalidPackage(f"{where} needs a list of jobControlOptions")
    unknown = [o for o in options if o not in JOB_CONTROL_OPTIONS]
    if unknown:
        raise InvalidPackage(
            f"{where}: unknown jobControlOptions {unknown}; use some of {list(JOB_CONTROL_OPTIONS)}"
        )
    if "sync-execute" not in options and "async-execute" not in options:
        raise InvalidPackage(f"{where} must allow sync-execute or async-execute")
    return tuple(o for o in JOB_CONTROL_OPTIONS if o in options)


def _stac_results(tool: CwlProcess) -> str:
    """The ades:StacResults hint's form, or ``link`` when there is no hint."""
    hints = [h for h in tool.hints if h.get("class") == STAC_RESULTS_HINT]
    if not hints:
        return STAC_RESULTS_FORMS[0]
    form = hints[-1].get("form")
    if form not in STAC_RESULTS_FORMS:
        raise InvalidPackage(
            f"ades:StacResults: form {form!r} is not one of {list(STAC_RESULTS_FORMS)}"
        )
    return form


def _cache(tool: CwlProcess) -> bool:
    """Whether the ades:Cache hint lets jobs reuse results (yes when there is no hint)."""
    hints = [h for h in tool.hints if h.get("class") == CACHE_HINT]
    if not hints:
        return True
    enabled = hints[-1].get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidPackage(f"ades:Cache: 'enabled' must be true or false, got {enabled!r}")
    return enabled
