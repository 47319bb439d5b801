"""The processes deployed with the server: every ``<workspace>/processes/*.cwl`` under the
workspaces directory, loaded and validated once at start-up."""

from __future__ import annotations

from pathlib import Path

from ades.errors import InvalidPackage, NoSuchProcess, NoSuchWorkspace
from ades.model import Process
from ades.packages.load import load_process


class ProcessRegistry:
    """Workspaces and their immutable processes. Each subfolder of ``workspaces_dir`` is a
    workspace; a package that does not load stops the construction (fail fast at start-up),
    with its file named in the error."""

    def __init__(self, workspaces_dir: Path):
        self.workspaces_dir = Path(workspaces_dir)
        if not self.workspaces_dir.is_dir():
            raise FileNotFoundError(f"workspaces directory '{self.workspaces_dir}' does not exist")
        self._processes: dict[str, dict[str, Process]] = {}
        for folder in sorted(self.workspaces_dir.iterdir()):
            # Hidden folders (.git, editor state) are not workspaces.
            if folder.is_dir() and not folder.name.startswith("."):
                self._processes[folder.name] = _load_workspace(folder)

    def workspaces(self) -> list[str]:
        return sorted(self._processes)

    def has_workspace(self, workspace: str) -> bool:
        return workspace in self._processes

    def get(self, workspace: str, process_id: str) -> Process:
        try:
            return self._workspace(workspace)[process_id]
        except KeyError:
            raise NoSuchProcess(process_id, workspace) from None

    def list(self, workspace: str) -> list[Process]:
        """The workspace's processes, sorted by id."""
        processes = self._workspace(workspace)
        return [processes[process_id] for process_id in sorted(processes)]

    def _workspace(self, workspace: str) -> dict[str, Process]:
        try:
            return self._processes[workspace]
        except KeyError:
            raise NoSuchWorkspace(workspace) from None


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
