"""The CWL runner a server or worker uses, as its settings choose."""

from __future__ import annotations

from collections.abc import Callable

from ades.execution.runner import CwlRunner
from ades.fetching import FetchPolicy
from ades.settings import Settings

RUNNERS = ("cwltool", "calrissian")


def make_runner(
    settings: Settings,
    workspace_of: Callable[[str], str | None] | None = None,
    fetch_policy: FetchPolicy | None = None,
) -> CwlRunner:
    """A cwltool subprocess per run, or a Kubernetes Job running Calrissian per run.
    ``workspace_of`` (a job id's workspace) labels Calrissian's pods by workspace;
    ``fetch_policy`` (by default the settings') bounds cwltool's own downloads.
    ValueError naming the setting when a setting is wrong."""
    if settings.cwl_runner == "cwltool":
        from ades.execution.cwltool_runner import CwltoolRunner

        policy = fetch_policy or FetchPolicy.from_settings(settings)
        return CwltoolRunner(settings.container_engine, fetch_policy=policy)
    if settings.cwl_runner == "calrissian":
        # Imported here: the kubernetes client is only loaded where it is used.
        from ades.execution.calrissian.runner import CalrissianRunner

        return CalrissianRunner.from_settings(settings, workspace_of=workspace_of)
    raise ValueError(
        f"ADES_CWL_RUNNER={settings.cwl_runner!r} is not a CWL runner; "
        f"expected one of {', '.join(RUNNERS)}"
    )
