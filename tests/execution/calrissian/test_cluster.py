"""What the real Cluster makes of the client's objects, and where it finds its namespace.
(The API calls themselves need a cluster: see the README for kind or k3s.)"""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from ades.execution.calrissian.cluster import (
    JobState,
    KubernetesCluster,
    job_state,
    own_namespace,
    pod_state,
    selector_text,
)


def pod(**status: object) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="ades-x-1", labels={"ades/job-id": "x"}),
        status=client.V1PodStatus(**status),
    )


def test_an_unschedulable_pod_carries_the_schedulers_message() -> None:
    condition = client.V1PodCondition(
        type="PodScheduled",
        status="False",
        reason="Unschedulable",
        message="0/3 nodes are available: 3 Insufficient memory.",
    )
    state = pod_state(pod(phase="Pending", conditions=[condition]))
    assert state.unschedulable == "0/3 nodes are available: 3 Insufficient memory."
    assert state.labels == {"ades/job-id": "x"}
    assert not state.started


def test_a_waiting_and_a_terminated_container() -> None:
    waiting = client.V1ContainerStatus(
        name="calrissian",
        image="i",
        image_id="",
        ready=False,
        restart_count=0,
        state=client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(reason="ImagePullBackOff", message="no such")
        ),
    )
    assert pod_state(pod(phase="Pending", container_statuses=[waiting])).waiting == (
        "ImagePullBackOff: no such"
    )
    ended = client.V1ContainerStatus(
        name="calrissian",
        image="i",
        image_id="",
        ready=False,
        restart_count=0,
        state=client.V1ContainerState(
            terminated=client.V1ContainerStateTerminated(exit_code=137, reason="OOMKilled")
        ),
    )
    state = pod_state(pod(phase="Failed", container_statuses=[ended]))
    assert (state.exit_code, state.terminated_reason, state.ended) == (137, "OOMKilled", True)


def test_a_jobs_state_comes_from_its_conditions() -> None:
    failed = client.V1Job(
        status=client.V1JobStatus(
            conditions=[
                client.V1JobCondition(
                    type="Failed", status="True", reason="DeadlineExceeded", message="late"
                )
            ]
        )
    )
    done = client.V1Job(
        status=client.V1JobStatus(
            conditions=[client.V1JobCondition(type="Complete", status="True")]
        )
    )
    assert job_state(failed) == JobState(failed=True, reason="DeadlineExceeded", message="late")
    assert job_state(done) == JobState(succeeded=True)
    assert job_state(client.V1Job(status=client.V1JobStatus())) == JobState()


def test_the_namespace_is_the_pods_own(tmp_path: Path) -> None:
    (tmp_path / "namespace").write_text("ades-prod\n")
    assert own_namespace(tmp_path / "namespace") == "ades-prod"
    assert own_namespace(tmp_path / "missing") is None


def test_a_cluster_on_a_given_client_uses_the_given_namespace() -> None:
    api = client.ApiClient(client.Configuration(host="http://127.0.0.1:9"))
    assert KubernetesCluster("ades", api_client=api).namespace == "ades"
    assert KubernetesCluster(api_client=api).namespace == "default"
    assert selector_text({"a": "1", "b": "2"}) == "a=1,b=2"
