"""The Kubernetes API as the Calrissian runner uses it: a small port (create, look at and
delete the objects of a run, follow a pod's log), and its implementation with the official
``kubernetes`` client. Everything else of the runner is tested against a fake of the port."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Where Kubernetes tells a pod its own namespace.
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class PodState:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    # Pending, Running, Succeeded, Failed or Unknown.
    phase: str = "Pending"
    # The scheduler's words when no node can take the pod (PodScheduled False, Unschedulable).
    unschedulable: str | None = None
    # Why its first container waits (ImagePullBackOff, ...) with Kubernetes' message.
    waiting: str | None = None
    # Its first container's end: exit code and reason (Completed, Error, OOMKilled).
    exit_code: int | None = None
    terminated_reason: str | None = None

    @property
    def started(self) -> bool:
        return self.phase in ("Running", "Succeeded", "Failed")

    @property
    def ended(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


@dataclass(frozen=True)
class JobState:
    """A batch/v1 Job's end as its conditions say: ``failed`` with a reason such as
    DeadlineExceeded or BackoffLimitExceeded; neither flag while it runs."""

    succeeded: bool = False
    failed: bool = False
    reason: str | None = None
    message: str | None = None


class Cluster(ABC):
    namespace: str

    @abstractmethod
    def create_job(self, manifest: dict[str, Any]) -> str:
        """Create the Job; returns its uid."""

    @abstractmethod
    def create_config_map(self, manifest: dict[str, Any]) -> None: ...

    @abstractmethod
    def job_state(self, name: str) -> JobState | None:
        """None when there is no such Job (any more)."""

    @abstractmethod
    def job_names(self, selector: Mapping[str, str]) -> list[str]: ...

    @abstractmethod
    def pods(self, selector: Mapping[str, str]) -> list[PodState]: ...

    @abstractmethod
    def follow_log(self, pod: str, container: str) -> Iterator[str]:
        """The lines of the container's log, as they come, until the container ends."""

    @abstractmethod
    def delete_job(self, name: str) -> None:
        """Delete the Job and its pods; nothing when it is gone already."""

    @abstractmethod
    def delete_pods(self, selector: Mapping[str, str]) -> None: ...

    @abstractmethod
    def delete_config_map(self, name: str) -> None: ...


def selector_text(selector: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in selector.items())


def own_namespace(path: Path = SERVICE_ACCOUNT_NAMESPACE) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def pod_state(pod: Any) -> PodState:
    """A ``V1Pod`` of the client as the runner needs it."""
    status = pod.status
    unschedulable = None
    for condition in (status.conditions if status else None) or []:
        if (
            condition.type == "PodScheduled"
            and condition.status == "False"
            and condition.reason == "Unschedulable"
        ):
            unschedulable = condition.message or "no node can run the pod"
    waiting = exit_code = terminated_reason = None
    containers = (status.container_statuses if status else None) or []
    if containers and containers[0].state is not None:
        state = containers[0].state
        if state.waiting is not None and state.waiting.reason not in (None, "ContainerCreating"):
            waiting = f"{state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
        if state.terminated is not None:
            exit_code = state.terminated.exit_code
            terminated_reason = state.terminated.reason
    return PodState(
        name=pod.metadata.name,
        labels=dict(pod.metadata.labels or {}),
        phase=(status.phase if status else None) or "Pending",
        unschedulable=unschedulable,
        waiting=waiting,
        exit_code=exit_code,
        terminated_reason=terminated_reason,
    )


def job_state(job: Any) -> JobState:
    """A ``V1Job`` of the client as the runner needs it."""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.status != "True":
            continue
        if condition.type == "Failed":
            return JobState(failed=True, reason=condition.reason, message=condition.message)
        if condition.type == "Complete":
            return JobState(succeeded=True)
    return JobState()


class KubernetesCluster(Cluster):
    """The port over the official client: the in-cluster configuration of the pod the
    server runs in, else the kubeconfig (``kubectl``'s current context)."""

    def __init__(self, namespace: str = "", api_client: Any = None):
        from kubernetes import client, config

        if api_client is None:
            try:
                config.load_incluster_config()
                in_cluster = True
            except config.ConfigException:
                config.load_kube_config()
                in_cluster = False
            if not namespace:
                namespace = (own_namespace() if in_cluster else _kubeconfig_namespace()) or ""
        self.namespace = namespace or "default"
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)

    def create_job(self, manifest: dict[str, Any]) -> str:
        created = self.batch.create_namespaced_job(self.namespace, manifest)
        return str(created.metadata.uid)

    def create_config_map(self, manifest: dict[str, Any]) -> None:
        self.core.create_namespaced_config_map(self.namespace, manifest)

    def job_state(self, name: str) -> JobState | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return job_state(self.batch.read_namespaced_job_status(name, self.namespace))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def job_names(self, selector: Mapping[str, str]) -> list[str]:
        jobs = self.batch.list_namespaced_job(
            self.namespace, label_selector=selector_text(selector)
        )
        return [item.metadata.name for item in jobs.items]

    def pods(self, selector: Mapping[str, str]) -> list[PodState]:
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector_text(selector))
        return [pod_state(pod) for pod in pods.items]

    def follow_log(self, pod: str, container: str) -> Iterator[str]:
        from kubernetes import watch

        # The client's watch splits the followed log into lines (the raw stream gives
        # chunks that cut lines anywhere) and ends when the container does.
        yield from watch.Watch().stream(
            self.core.read_namespaced_pod_log,
            name=pod,
            namespace=self.namespace,
            container=container,
            follow=True,
        )

    def delete_job(self, name: str) -> None:
        from kubernetes import client

        # Background: the Job goes at once and the garbage collector deletes its pods (and
        # the ConfigMap it owns); the pod gets SIGTERM, on which Calrissian deletes the tool
        # pods it started.
        self._gone_is_fine(
            self.batch.delete_namespaced_job,
            name,
            self.namespace,
            body=client.V1DeleteOptions(propagation_policy="Background"),
        )

    def delete_pods(self, selector: Mapping[str, str]) -> None:
        self.core.delete_collection_namespaced_pod(
            self.namespace, label_selector=selector_text(selector)
        )

    def delete_config_map(self, name: str) -> None:
        self._gone_is_fine(self.core.delete_namespaced_config_map, name, self.namespace)

    @staticmethod
    def _gone_is_fine(call: Any, *args: Any, **kwargs: Any) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            call(*args, **kwargs)
        except ApiException as err:
            if err.status != 404:
                raise


def _kubeconfig_namespace() -> str | None:
    from kubernetes import config

    try:
        _, current = config.list_kube_config_contexts()
    except (config.ConfigException, OSError):
        return None
    return (current or {}).get("context", {}).get("namespace")
