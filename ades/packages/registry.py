"""The processes of each workspace: those installed with the server (every
``<workspace>/processes/*.cwl`` under the workspaces directory, loaded once at start-up and
immutable) and those deployed, replaced and undeployed through the API (OGC API –
Processes Part 2), kept in the database so that they survive a restart and every replica
sees them."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from ades.db.processes import DeployedPackage, ProcessStore
from ades.errors import (
    DuplicatedProcess,
    ImmutableProcess,
    InvalidPackage,
    InvalidRequest,
    NoSuchProcess,
    NoSuchWorkspace,
)
from ades.model import Process
from ades.packages.checks import best_practice_warnings, check_locations, check_runnable
from ades.packages.load import DEFAULT_VERSION, load_package, load_process
from ades.packages.source import PackageReader, PackageSource
from ades.workspaces import Workspaces

log = logging.getLogger(__name__)

# A process id is a path segment of the API: keep it to what needs no escaping.
_PROCESS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# An input or output id: a member of execute requests and results, and (outputs) a URL path
# segment and an S3 key segment of the job's results, so never '.', '..' or a space.
_PARAMETER_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True)
class Deployment:
    process: Process
    warnings: list[str]


def eoepca_alias(process: Process) -> str | None:
    """EOEPCA's ``<id>-<version with . as _>``, for a process that has a version."""
    if process.version == DEFAULT_VERSION:
        return None
    return f"{process.id}-{process.version.replace('.', '_')}"


class ProcessRegistry:
    """The processes of each workspace: those installed in its folder, and those deployed
    through the API (kept in ``store``). An installed package that does not load stops the
    construction (fail fast at start-up), with its file named. Without a ``store`` the
    registry serves the installed processes only."""

    def __init__(
        self,
        workspaces: Workspaces,
        store: ProcessStore | None = None,
        reader: PackageReader | None = None,
        container_engine: str = "none",
    ):
        self.workspaces = workspaces
        self.store = store
        self.reader = reader
        self.container_engine = container_engine
        self._installed: dict[str, dict[str, Process]] = {}
        for name in workspaces.names():
            self._installed[name] = _load_workspace(workspaces.path(name))
        # Deployed processes described once per revision: (workspace, id) → (revision, Process).
        self._described: dict[tuple[str, str], tuple[int, Process]] = {}
        self._lock = threading.Lock()

    def has_workspace(self, workspace: str) -> bool:
        return self.workspaces.has(workspace)

    def get(self, workspace: str, process_id: str) -> Process:
        """A process by its id, or by its EOEPCA alias."""
        found = self._lookup(workspace, process_id)
        return self._describe(found) if isinstance(found, DeployedPackage) else found

    def list(self, workspace: str) -> list[Process]:
        """The workspace's processes, sorted by id."""
        processes = dict(self._workspace(workspace))
        for deployed in self.store.list(workspace) if self.store else []:
            try:
                processes.setdefault(deployed.process_id, self._describe(deployed))
            except InvalidPackage:
                # Stored while it was valid (an older cwltool?): one such package must not
                # hide the others; asked for by id, it says what is wrong with it.
                log.exception(
                    "deployed process '%s' of '%s' no longer loads", deployed.process_id, workspace
                )
        return [processes[process_id] for process_id in sorted(processes)]

    def deploy(
        self, workspace: str, media_type: str, body: bytes, workflow_id: str | None = None
    ) -> Deployment:
        """Validate a package and deploy it as a new process of ``workspace``. Nothing is
        stored unless the package loads, can run here, and (when the workspace asks)
        follows the Best Practice."""
        installed = self._workspace(workspace)
        store = self._store()
        source = self._reader().read(media_type, body, workflow_id, workspace)
        process, warnings = self._validate(workspace, source)
        if process.id in installed:
            raise DuplicatedProcess(process.id, workspace)
        stored = store.add(_deployed(process, source))
        return Deployment(self._describe(stored), warnings)

    def replace(
        self,
        workspace: str,
        process_id: str,
        media_type: str,
        body: bytes,
        workflow_id: str | None = None,
    ) -> Deployment:
        """Replace a deployed process with a new package of the same process id."""
        current = self._mutable_id(workspace, process_id)
        source = self._reader().read(media_type, body, workflow_id, workspace)
        process, warnings = self._validate(workspace, source)
        if process.id != current:
            raise InvalidRequest(
                f"the package's process is '{process.id}', not '{current}': a replace "
                f"keeps the process id (pick the workflow with ?w= or the href's #fragment)"
            )
        stored = self._store().replace(_deployed(process, source))
        return Deployment(self._describe(stored), warnings)

    def undeploy(self, workspace: str, process_id: str) -> None:
        """Remove a deployed process. Its past jobs keep their records and results."""
        current = self._mutable_id(workspace, process_id)
        self._store().remove(workspace, current)
        with self._lock:
            self._described.pop((workspace, current), None)

    def _mutable_id(self, workspace: str, process_id: str) -> str:
        """The id of the deployed process ``process_id`` names (as ``get`` resolves it),
        without loading its package: a package that no longer loads can still be replaced
        or undeployed. NoSuchProcess, or ImmutableProcess for one installed with the server."""
        found = self._lookup(workspace, process_id)
        if isinstance(found, Process):
            raise ImmutableProcess(found.id, workspace)
        return found.process_id

    def _lookup(self, workspace: str, process_id: str) -> Process | DeployedPackage:
        """What ``process_id`` names: an installed process's id, else a deployed process's
        id or alias, else an installed process's alias."""
        installed = self._workspace(workspace)
        if process_id in installed:
            return installed[process_id]
        deployed = self.store.find(workspace, process_id) if self.store else None
        if deployed is not None:
            return deployed
        for process in installed.values():
            if eoepca_alias(process) == process_id:
                return process
        raise NoSuchProcess(process_id, workspace)

    def _validate(self, workspace: str, source: PackageSource) -> tuple[Process, list[str]]:
        loaded = load_package(
            source.text,
            workspace,
            workflow_id=source.workflow_id,
            mutable=True,
            source_name=source.name,
        )
        process = loaded.process
        if loaded.named_by_file and source.href is None:
            raise InvalidPackage(
                "the package's entry point has no id: give the Workflow an 'id' (it becomes "
                "the process id)"
            )
        if source.declared_id is not None and source.declared_id != process.id:
            raise InvalidRequest(
                f"processDescription names the process '{source.declared_id}' but the "
                f"package's workflow is '{process.id}': the process id is the workflow id"
            )
        if not _PROCESS_ID.match(process.id):
            raise InvalidPackage(
                f"process id '{process.id}' cannot name a process: use letters, digits, "
                f"'.', '_' and '-' (at most 200), starting with a letter or digit"
            )
        for kind, parameters in (("input", process.inputs), ("output", process.outputs)):
            for parameter in parameters:
                if not _PARAMETER_ID.match(parameter.id):
                    raise InvalidPackage(
                        f"{kind} id '{parameter.id}' cannot name an {kind}: use letters, "
                        f"digits, '.', '_' and '-' (at most 200), starting with a letter, "
                        f"digit or '_'"
                    )
        check_runnable(loaded.tool, self.container_engine)
        check_locations(loaded.tool)
        warnings = best_practice_warnings(loaded.tool, process)
        if warnings and self.workspaces.policy(workspace).best_practice == "error":
            raise InvalidPackage(
                f"workspace '{workspace}' requires the OGC Best Practice for EO Application "
                f"Packages: " + "; ".join(warnings)
            )
        if source.job_control is not None:
            process = replace(process, job_control=source.job_control)
        return process, warnings

    def _describe(self, deployed: DeployedPackage) -> Process:
        key = (deployed.workspace, deployed.process_id)
        with self._lock:
            cached = self._described.get(key)
        if cached is not None and cached[0] == deployed.revision:
            return cached[1]
        process = load_process(
            deployed.package,
            deployed.workspace,
            workflow_id=deployed.workflow_id,
            mutable=True,
            source_name=deployed.source_name,
        )
        process = replace(process, id=deployed.process_id)
        if deployed.job_control is not None:
            process = replace(process, job_control=deployed.job_control)
        with self._lock:
            self._described[key] = (deployed.revision, process)
        return process

    def _workspace(self, workspace: str) -> dict[str, Process]:
        try:
            return self._installed[workspace]
        except KeyError:
            raise NoSuchWorkspace(workspace) from None

    def _store(self) -> ProcessStore:
        if self.store is None:
            raise RuntimeError("this registry has no process store: it cannot deploy")
        return self.store

    def _reader(self) -> PackageReader:
        if self.reader is None:
            raise RuntimeError("this registry has no package reader: it cannot deploy")
        return self.reader


def _deployed(process: Process, source: PackageSource) -> DeployedPackage:
    return DeployedPackage(
        workspace=process.workspace,
        process_id=process.id,
        alias=eoepca_alias(process),
        package=source.text,
        # The entry the loader settled on, so a reload needs no guessing.
        workflow_id=process.entry.lstrip("#") if process.entry else None,
        source_name=source.name,
        job_control=source.job_control,
    )


def _load_workspace(folder: Path) -> dict[str, Process]:
    processes: dict[str, Process] = {}
    origins: dict[str, Path] = {}
    for package in sorted((folder / "processes").glob("*.cwl")):
        try:
            process = load_process(package, folder.name, mutable=False)
        except InvalidPackage as exc:
            raise InvalidPackage(f"{package}: {exc}") from exc
        if process.id in processes:
            raise InvalidPackage(
                f"{package}: process id '{process.id}' is already used by {origins[process.id]}"
            )
        processes[process.id] = process
        origins[process.id] = package
    return processes
