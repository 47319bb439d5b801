"""The workspaces: each subfolder of the workspaces folder, and the policy its
``settings.yaml`` sets (Best Practice mode, job quotas, readable buckets), over the server's
defaults. Read once, at start."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ades.errors import NoSuchWorkspace

SETTINGS_FILE = "settings.yaml"
# A workspace's name is a URL path segment, an S3 key prefix and a database key: letters,
# digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters.
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
BEST_PRACTICE_MODES = ("warn", "error")


@dataclass(frozen=True)
class WorkspacePolicy:
    """``best_practice``: "warn" reports the OGC Best Practice rules a deployed package
    breaks as warnings; "error" refuses the package. ``max_running``: jobs of the workspace
    running at once, more wait queued (0: no limit). ``max_queued``: jobs waiting; a
    submission beyond is refused (0: no limit). ``s3_read``: buckets besides the results
    bucket that s3:// inputs of the workspace may read. ``cache``: whether its jobs may reuse
    the results of an earlier identical job (the result cache). ``provenance``: whether a
    successful job keeps the provenance of its run (an RO-Crate uploaded beside its
    results)."""

    best_practice: str = "warn"
    max_running: int = 0
    max_queued: int = 0
    s3_read: tuple[str, ...] = ()
    cache: bool = True
    provenance: bool = True


class Workspaces:
    """Each subfolder of ``folder`` (hidden ones aside) is a workspace. A settings file
    that does not hold, or a folder whose name cannot name a workspace, stops the
    construction, with the file named."""

    def __init__(self, folder: Path, defaults: WorkspacePolicy = WorkspacePolicy()):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"workspaces directory '{self.folder}' does not exist")
        subs = [
            sub
            for sub in sorted(self.folder.iterdir())
            if sub.is_dir() and not sub.name.startswith(".")
        ]
        for sub in subs:
            if not WORKSPACE_NAME.fullmatch(sub.name):
                raise ValueError(
                    f"{sub}: {sub.name!r} cannot name a workspace: use letters, digits, "
                    f"'.', '_' and '-', starting with a letter or digit, at most 128"
                )
        self._policies = {sub.name: _read_policy(sub / SETTINGS_FILE, defaults) for sub in subs}

    def names(self) -> list[str]:
        return list(self._policies)

    def has(self, name: str) -> bool:
        return name in self._policies

    def check(self, name: str) -> None:
        if name not in self._policies:
            raise NoSuchWorkspace(name)

    def policy(self, name: str) -> WorkspacePolicy:
        self.check(name)
        return self._policies[name]

    def max_running(self, name: str) -> int:
        """The workspace's max_running; 0 (no limit) for one not (or no longer) here."""
        policy = self._policies.get(name)
        return policy.max_running if policy else 0

    def provenance(self, name: str) -> bool:
        """Whether the workspace's jobs keep their provenance; the default for one not (or
        no longer) here."""
        policy = self._policies.get(name)
        return policy.provenance if policy else WorkspacePolicy.provenance

    def path(self, name: str) -> Path:
        self.check(name)
        return self.folder / name


def _read_policy(path: Path, defaults: WorkspacePolicy) -> WorkspacePolicy:
    if not path.is_file():
        return defaults
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of settings")
    known = [f.name for f in fields(WorkspacePolicy)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{path}: unknown settings {unknown}; known: {known}")
    mode = values.get("best_practice", defaults.best_practice)
    if mode not in BEST_PRACTICE_MODES:
        raise ValueError(
            f"{path}: best_practice must be one of {', '.join(BEST_PRACTICE_MODES)}, got {mode!r}"
        )
    checked: dict[str, Any] = {"best_practice": mode}
    for name in ("max_running", "max_queued"):
        if name in values:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{path}: {name} must be a whole number ≥ 0, got {value!r}")
            checked[name] = value
    for name in ("cache", "provenance"):
        if name in values:
            if not isinstance(values[name], bool):
                raise ValueError(f"{path}: {name} must be true or false, got {values[name]!r}")
            checked[name] = values[name]
    if "s3_read" in values:
        buckets = values["s3_read"]
        if not isinstance(buckets, list) or not all(
            isinstance(b, str) and b for b in buckets
        ):
            raise ValueError(f"{path}: s3_read must be a list of bucket names, got {buckets!r}")
        checked["s3_read"] = tuple(buckets)
    return replace(defaults, **checked)
