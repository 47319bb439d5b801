"""CalrissianRunner end to end against the fake cluster, which validates every manifest in
strict mode and runs real cwltool on what the runner mounts: outputs and usage, failures
with their step, exit code and stderr, unschedulable pods, cancel and cleanup, and the
events read off the Calrissian pod's log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from ades.execution.calrissian import manifests
from ades.execution.calrissian.cluster import JobState
from ades.execution.calrissian.resources import Resources
from ades.execution.calrissian.runner import CalrissianRunner
from ades.execution.runner import (
    ElementFinished,
    LogLine,
    RunEvent,
    RunOutcome,
    StepFinished,
    StepStarted,
    WorkflowStarted,
)
from ades.model import FailureCategory, LogLevel
from tests.execution.calrissian.fake_cluster import FakeCluster

DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(__file__).resolve().parent.parent / "data"


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.02)
    pytest.fail(f"not true within {timeout} s: {check}")


class Harness:
    """A shared volume in a temporary directory, a fake cluster and a runner on them."""

    def __init__(self, root: Path, cluster: FakeCluster, **options: Any):
        self.volume = root / "volume"
        self.volume.mkdir()
        self.cluster = cluster
        options.setdefault("unschedulable_grace", 30.0)
        self.runner = CalrissianRunner(
            cluster,
            image="ghcr.io/duke-gcb/calrissian/calrissian:0.18.1",
            volume_claim="ades-data",
            volume_path=self.volume,
            caps=Resources(ram_mib=8192, cores=4),
            workspace_of=lambda job_id: "alice",
            poll_interval=0.02,
            **options,
        )
        self.events: list[RunEvent] = []

    def workdir(self, job_id: str) -> Path:
        return self.volume / "jobs" / job_id

    def run(
        self, job_id: str, source: Path, entry: str | None, job_order: dict[str, Any]
    ) -> RunOutcome:
        # As JobRun does: the package's text in the job's working directory.
        workdir = self.workdir(job_id)
        workdir.mkdir(parents=True, exist_ok=True)
        package = workdir / "package.cwl"
        package.write_text(source.read_text())
        return self.runner.run(job_id, package, entry, job_order, workdir, self.events.append)

    def lines(self) -> list[LogLine]:
        return [e for e in self.events if isinstance(e, LogLine)]

    def progress(self) -> list[RunEvent]:
        return [e for e in self.events if not isinstance(e, LogLine)]

    def assert_cleaned_up(self) -> None:
        assert self.cluster.jobs == {}
        assert self.cluster.config_maps == {}
        assert self.cluster.pod_table == {}


@pytest.fixture(scope="module")
def greeted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Harness, RunOutcome]:
    harness = Harness(tmp_path_factory.mktemp("greet"), FakeCluster())
    outcome = harness.run("job-greet", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    return harness, outcome


def test_success_gives_the_outputs_from_the_shared_volume(
    greeted: tuple[Harness, RunOutcome],
) -> None:
    harness, outcome = greeted
    assert outcome.ok, outcome.message
    greeting = outcome.outputs["greeting"]
    assert Path(greeting["path"]).parent == harness.workdir("job-greet") / "outputs"
    assert Path(greeting["path"]).read_text() == "hello Ada\n"


def test_the_usage_report_comes_with_the_outcome(greeted: tuple[Harness, RunOutcome]) -> None:
    _, outcome = greeted
    assert outcome.usage is not None
    assert [(c["name"], c["exit_code"]) for c in outcome.usage["children"]] == [("main", 0)]
    # The package asks for nothing: one tool's CWL defaults, 256 MiB and one core.
    assert outcome.usage["ram_mb_allowed"] == "256Mi"
    assert outcome.usage["cores_allowed"] == 1.0


def test_the_job_is_labelled_and_mounts_the_package_from_its_config_map(
    greeted: tuple[Harness, RunOutcome],
) -> None:
    harness, _ = greeted
    job, config_map = harness.cluster.created
    assert job["kind"] == "Job" and config_map["kind"] == "ConfigMap"
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels[manifests.WORKSPACE_LABEL] == "alice"
    assert labels[manifests.JOB_ID_LABEL] == "job-greet"
    assert labels[manifests.MANAGED_BY] == "ades"
    assert job["metadata"]["namespace"] == config_map["metadata"]["namespace"] == "ades-test"
    assert config_map["data"]["package.cwl"] == (SHARED_DATA / "greet.cwl").read_text()
    assert yaml.safe_load(config_map["data"]["job.json"]) == {"name": "Ada"}
    tool_labels = yaml.safe_load(config_map["data"]["pod-labels.yaml"])
    assert tool_labels[manifests.JOB_ID_LABEL] == "job-greet"
    assert tool_labels[manifests.COMPONENT] == "tool"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-2:] == ["/ades/run/package.cwl#main", "/ades/run/job.json"]


def test_cleanup_deletes_the_job_its_pods_and_config_map(
    greeted: tuple[Harness, RunOutcome],
) -> None:
    harness, _ = greeted
    harness.assert_cleaned_up()
    assert harness.cluster.deleted_jobs == [harness.cluster.created[0]["metadata"]["name"]]
    assert not (harness.workdir("job-greet") / "tmp").exists()


def test_every_line_of_the_pod_log_is_a_log_line(greeted: tuple[Harness, RunOutcome]) -> None:
    harness, _ = greeted
    lines = harness.lines()
    texts = [line.text for line in lines]
    copy = (harness.workdir("job-greet") / "calrissian.log").read_text().splitlines()
    assert texts[0].startswith("Kubernetes Job ades-job-greet-")  # the runner's own line
    assert texts[1:] == copy
    final = next(line for line in lines if "Final process status is success" in line.text)
    assert final.level is LogLevel.INFO
    # Calrissian's log has no tool output: that is in the tool's log file.
    assert "greeted Ada" not in texts
    assert "greeted Ada" in (harness.workdir("job-greet") / "logs" / "main.log").read_text()


def test_a_tool_package_starts_and_finishes_its_tool(greeted: tuple[Harness, RunOutcome]) -> None:
    harness, _ = greeted
    assert harness.progress() == [StepStarted("main"), StepFinished("main", True)]


def test_a_failing_tool_gives_its_exit_code_and_stderr(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    outcome = harness.run("job-fail", SHARED_DATA / "fail.cwl", None, {})
    assert not outcome.ok
    assert outcome.category is FailureCategory.APPLICATION
    assert outcome.exit_code == 3
    assert outcome.failed_step is None
    assert outcome.stderr_tail.splitlines()[-1] == "error: band B08 missing from scene"
    assert outcome.message.startswith("tool 'package.cwl' failed with exit code 3: ")
    assert outcome.message.endswith("error: band B08 missing from scene")
    failed_pod = [line for line in harness.lines() if "the command below failed" in line.text]
    assert [line.level for line in failed_pod] == [LogLevel.ERROR]
    assert harness.progress()[-1] == StepFinished("package.cwl", False)
    harness.assert_cleaned_up()


def test_a_failing_scattered_step_is_named_with_its_job(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    outcome = harness.run("job-scatter", SHARED_DATA / "scatter.cwl", "#main", {"codes": [0, 4, 0]})
    assert not outcome.ok
    assert outcome.failed_step == "tile"
    assert outcome.exit_code == 4
    assert outcome.stderr_tail == "tile exits 4"
    assert outcome.message == "step 'tile' (job 'tile_2') failed with exit code 4: tile exits 4"
    progress = harness.progress()
    assert progress[:3] == [WorkflowStarted(), StepStarted("tiles"), StepStarted("tile")]
    assert ElementFinished("tile", 1) in progress
    assert StepFinished("tile", False) in progress
    harness.assert_cleaned_up()


def test_a_scattered_workflow_reports_each_element(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    outcome = harness.run("job-shout", DATA / "shout.cwl", "#main", {"words": ["a", "b", "c"]})
    assert outcome.ok, outcome.message
    shouted = [Path(f["path"]).read_text() for f in outcome.outputs["shouted"]]
    assert shouted == ["A\n", "B\n", "C\n"]
    assert harness.progress() == [
        WorkflowStarted(),
        StepStarted("shout"),
        ElementFinished("shout", 1),
        ElementFinished("shout", 2),
        ElementFinished("shout", 3),
        StepFinished("shout", True),
    ]
    # A scatter's width is known only at run time: the run may use the workspace's caps.
    args = harness.cluster.created[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--max-ram") + 1] == "8192Mi"
    assert args[args.index("--max-cores") + 1] == "4"


def test_a_job_order_missing_an_input_is_an_input_failure(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    outcome = harness.run("job-no-name", SHARED_DATA / "greet.cwl", "#main", {})
    assert not outcome.ok
    assert outcome.category is FailureCategory.INPUT
    assert "name" in outcome.message
    harness.assert_cleaned_up()


def test_an_unschedulable_pod_fails_the_job_as_a_system_failure(tmp_path: Path) -> None:
    reason = "0/3 nodes are available: 3 Insufficient memory."
    harness = Harness(tmp_path, FakeCluster(unschedulable=reason), unschedulable_grace=0.1)
    outcome = harness.run("job-big", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert not outcome.ok
    assert outcome.category is FailureCategory.SYSTEM
    assert outcome.message == f"no node of the cluster can run the Calrissian pod: {reason}"
    assert harness.lines()[-1] == LogLine(LogLevel.ERROR, outcome.message)
    harness.assert_cleaned_up()


def test_an_unschedulable_tool_pod_fails_the_job_and_is_deleted(tmp_path: Path) -> None:
    reason = "0/2 nodes are available: 2 Insufficient cpu."
    cluster = FakeCluster(unschedulable_tool=reason)
    harness = Harness(tmp_path, cluster, unschedulable_grace=0.1)
    outcome = harness.run("job-tool", DATA / "shout.cwl", "#main", {"words": ["a"]})
    assert outcome.category is FailureCategory.SYSTEM
    assert outcome.message.startswith("no node of the cluster can run the tool pod tool-")
    assert outcome.message.endswith(reason)
    harness.assert_cleaned_up()  # the tool pod too, found by the labels it was given


def test_cancel_deletes_the_job_and_its_pods(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    outcomes: list[RunOutcome] = []
    thread = threading.Thread(
        target=lambda: outcomes.append(
            harness.run("job-sleep", SHARED_DATA / "sleep.cwl", None, {})
        )
    )
    thread.start()
    pod = eventually(
        lambda: next((p for p in harness.cluster.pod_table.values() if p.process), None)
    )
    process = pod.process
    assert harness.runner.cancel("job-sleep") is True
    thread.join(30)
    assert outcomes and outcomes[0].cancelled
    assert process.poll() is not None  # the pod's processes are gone
    assert harness.cluster.deleted_jobs == [pod.job]
    harness.assert_cleaned_up()


def test_a_cancel_before_the_run_stops_it_from_starting(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    assert harness.runner.cancel("job-early") is False
    outcome = harness.run("job-early", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert outcome.cancelled
    assert harness.cluster.created == []
    # Queued again: the old cancel no longer applies.
    harness.runner.cancel("job-early")
    harness.runner.forget_cancel("job-early")
    assert harness.run("job-early", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"}).ok


def test_what_an_earlier_run_left_is_deleted_first(tmp_path: Path) -> None:
    # A worker lost mid-run left its Job running; the job runs again elsewhere.
    cluster = FakeCluster(unschedulable="0/1 nodes are available.")
    harness = Harness(tmp_path, cluster)
    old = manifests.RunSpec(
        name=manifests.job_name("job-again", "old000"),
        namespace=cluster.namespace,
        job_id="job-again",
        workspace="alice",
        image="calrissian",
        workdir=manifests.PurePosixPath(harness.workdir("job-again")),
        volume_claim="ades-data",
        volume_path=manifests.PurePosixPath(harness.volume),
        max_ram="1Gi",
        max_cores="1",
    )
    cluster.create_job(manifests.job(old))
    cluster.unschedulable = None
    assert harness.run("job-again", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"}).ok
    assert cluster.deleted_jobs[0] == old.name
    harness.assert_cleaned_up()


def test_files_too_large_for_a_config_map_go_on_the_volume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifests, "CONFIG_MAP_MAX_BYTES", 10)
    harness = Harness(tmp_path, FakeCluster())
    outcome = harness.run("job-large", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert outcome.ok, outcome.message
    assert [m["kind"] for m in harness.cluster.created] == ["Job"]
    files = harness.workdir("job-large") / "calrissian"
    assert (files / "package.cwl").read_text() == (SHARED_DATA / "greet.cwl").read_text()


def test_a_workdir_off_the_shared_volume_is_a_system_failure(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    package = elsewhere / "package.cwl"
    package.write_text((SHARED_DATA / "fail.cwl").read_text())
    outcome = harness.runner.run("job-off", package, None, {}, elsewhere)
    assert outcome.category is FailureCategory.SYSTEM
    assert str(elsewhere) in outcome.message and "ADES_K8S_VOLUME_PATH" in outcome.message
    assert harness.cluster.created == []


def test_a_tool_asking_more_than_the_caps_fails_before_submitting(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    harness.runner.caps = Resources(ram_mib=1024, cores=4)
    outcome = harness.run("job-huge", DATA / "big_tool.cwl", None, {})
    assert outcome.category is FailureCategory.APPLICATION
    assert "needs at least 2048 MiB and 2 cores" in outcome.message
    assert "1024 MiB" in outcome.message
    assert harness.cluster.created == []


def test_a_broken_event_consumer_does_not_break_the_run(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster())
    workdir = harness.workdir("job-consumer")
    workdir.mkdir(parents=True)
    package = workdir / "package.cwl"
    package.write_text((SHARED_DATA / "greet.cwl").read_text())

    def broken(event: RunEvent) -> None:
        raise RuntimeError("consumer broke")

    outcome = harness.runner.run("job-consumer", package, "#main", {"name": "Ada"}, workdir, broken)
    assert outcome.ok, outcome.message
    harness.assert_cleaned_up()


class RefusingCluster(FakeCluster):
    """A namespace where the server's account may not create ConfigMaps."""

    def create_config_map(self, manifest: dict[str, Any]) -> None:
        error = ApiException(status=403, reason="Forbidden")
        error.body = '{"kind": "Status", "message": "configmaps is forbidden: User cannot create"}'
        raise error


def test_an_api_refusal_fails_the_job_with_the_apis_words_and_cleans_up(tmp_path: Path) -> None:
    harness = Harness(tmp_path, RefusingCluster())
    outcome = harness.run("job-refused", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert outcome.category is FailureCategory.SYSTEM
    assert outcome.message == (
        "the run could not go on in Kubernetes: 403 configmaps is forbidden: User cannot create"
    )
    harness.assert_cleaned_up()  # the Job created before the refusal is gone
    assert len(harness.cluster.deleted_jobs) == 1


def test_an_image_that_cannot_be_pulled_fails_the_job(tmp_path: Path) -> None:
    waiting = "ImagePullBackOff: Back-off pulling image calrissian:nope"
    harness = Harness(tmp_path, FakeCluster(waiting=waiting), unschedulable_grace=0.1)
    outcome = harness.run("job-image", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert outcome.category is FailureCategory.SYSTEM
    assert outcome.message == f"the Calrissian pod cannot start: {waiting}"
    harness.assert_cleaned_up()


def test_a_job_that_gets_no_pod_fails_instead_of_waiting(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster(makes_pods=False), unschedulable_grace=0.1)
    outcome = harness.run("job-quota", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert outcome.category is FailureCategory.SYSTEM
    assert outcome.message.startswith("Kubernetes made no pod for the Job ades-job-quota-")
    harness.assert_cleaned_up()


def test_a_run_past_its_deadline_says_so(tmp_path: Path) -> None:
    cluster = FakeCluster(unschedulable="0/1 nodes are available.")
    harness = Harness(tmp_path, cluster, active_deadline=600)

    def deadline_passes() -> None:
        name = eventually(lambda: next(iter(cluster.jobs), None))
        assert cluster.jobs[name]["spec"]["activeDeadlineSeconds"] == 600
        with cluster.changed:
            cluster.job_states[name] = JobState(failed=True, reason="DeadlineExceeded")

    thread = threading.Thread(target=deadline_passes)
    thread.start()
    outcome = harness.run("job-late", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    thread.join(30)
    assert outcome.category is FailureCategory.APPLICATION
    assert outcome.message == "the run took longer than 600 s and was stopped"
    harness.assert_cleaned_up()


def test_calrissian_killed_at_its_memory_limit_is_a_system_failure(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeCluster(out_of_memory=True))
    outcome = harness.run("job-oom", SHARED_DATA / "greet.cwl", "#main", {"name": "Ada"})
    assert outcome.category is FailureCategory.SYSTEM
    assert "OOMKilled" in outcome.message
    harness.assert_cleaned_up()
