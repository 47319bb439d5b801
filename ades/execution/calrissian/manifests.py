"""The Kubernetes objects one Calrissian run submits, built as plain data: a ConfigMap with
the run's package, job order and tool-pod labels, and a batch/v1 Job whose one pod runs
Calrissian on them. No I/O here, so each can be checked against the Kubernetes schemas
without a cluster."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT = "app.kubernetes.io/component"
WORKSPACE_LABEL = "ades/workspace"
JOB_ID_LABEL = "ades/job-id"
RUN_LABEL = "ades/run"  # the Kubernetes Job's name: one run of an ADES job
RUNNER = "calrissian"  # COMPONENT of the Calrissian pod; its tool pods are "tool"
CONTAINER = "calrissian"

# Where the Calrissian container sees the ConfigMap.
RUN_FILES_PATH = PurePosixPath("/ades/run")
PACKAGE_KEY = "package.cwl"
JOB_ORDER_KEY = "job.json"
POD_LABELS_KEY = "pod-labels.yaml"

# Room for the metadata of a ConfigMap below the 1 MiB that Kubernetes stores of an
# object; a run whose files are larger has them on the volume instead.
CONFIG_MAP_MAX_BYTES = 900 * 1024

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(text: str) -> str:
    """``text`` as a label value (at most 63 of [A-Za-z0-9-_.], alphanumeric at both
    ends); a value that had to change keeps a short hash of the original, so two job ids
    never share one."""
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:54].strip("-_.")
    return f"{cleaned}-{digest}" if cleaned else digest


def job_name(job_id: str, suffix: str) -> str:
    """A DNS-1123 name for one run of ``job_id``, short enough (52) for the pod names
    Kubernetes derives from it; ``suffix`` tells the runs of one job apart."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", job_id.lower()).strip("-")
    if cleaned != job_id:
        cleaned = f"{cleaned[:30]}-{hashlib.sha256(job_id.encode()).hexdigest()[:6]}".strip("-")
    return f"ades-{cleaned[:40].strip('-')}-{suffix}"


@dataclass(frozen=True)
class RunSpec:
    """Everything a run's manifests depend on."""

    name: str  # of the Job and the ConfigMap
    namespace: str
    job_id: str
    workspace: str | None
    image: str
    workdir: PurePosixPath  # on the shared volume, the same path in every pod
    volume_claim: str
    volume_path: PurePosixPath
    max_ram: str
    max_cores: str
    entry: str | None = None
    service_account: str = ""
    # Who the Calrissian pod runs as; Calrissian runs its tool pods as the same user, so
    # every file of the run on the shared volume has one owner.
    run_as_user: int = 1001
    run_as_group: int = 0
    default_container: str = ""
    skip_schemas: bool = True
    # Files from the ConfigMap (False: from ``workdir / "calrissian"`` on the volume).
    files_in_config_map: bool = True
    active_deadline: int | None = None
    ttl_after_finished: int = 3600
    # The Calrissian container's own needs, apart from the tool pods it starts.
    requests: dict[str, str] = field(default_factory=lambda: {"cpu": "250m", "memory": "512Mi"})
    limits: dict[str, str] = field(default_factory=lambda: {"memory": "2Gi"})

    @property
    def labels(self) -> dict[str, str]:
        """On every object of the run: the Job, the ConfigMap and all pods."""
        labels = {
            MANAGED_BY: "ades",
            JOB_ID_LABEL: label_value(self.job_id),
            RUN_LABEL: self.name,
        }
        if self.workspace:
            labels[WORKSPACE_LABEL] = label_value(self.workspace)
        return labels

    @property
    def files_dir(self) -> PurePosixPath:
        return RUN_FILES_PATH if self.files_in_config_map else self.workdir / "calrissian"

    # Where Calrissian writes what the runner reads back, on the shared volume.
    @property
    def outputs_file(self) -> PurePosixPath:
        return self.workdir / "calrissian" / "outputs.json"

    @property
    def usage_file(self) -> PurePosixPath:
        return self.workdir / "calrissian" / "usage.json"

    @property
    def stderr_file(self) -> PurePosixPath:
        return self.workdir / "calrissian" / "stderr.log"

    @property
    def tool_logs_dir(self) -> PurePosixPath:
        return self.workdir / "logs"


def run_files(spec: RunSpec, package: str, job_order: str) -> dict[str, str]:
    """The files Calrissian reads: the package, the job order and the labels of its pods."""
    tool_labels = {**spec.labels, COMPONENT: "tool"}
    return {
        PACKAGE_KEY: package,
        JOB_ORDER_KEY: job_order,
        POD_LABELS_KEY: yaml.safe_dump(tool_labels, sort_keys=True),
    }


def fits_config_map(files: dict[str, str]) -> bool:
    return sum(len(text.encode()) for text in files.values()) <= CONFIG_MAP_MAX_BYTES


def config_map(spec: RunSpec, files: dict[str, str], owner_uid: str) -> dict[str, Any]:
    """The ConfigMap holding ``files``, owned by the run's Job (uid ``owner_uid``) so that
    Kubernetes deletes it with the Job, even when the server that made them is gone."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": spec.labels,
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": spec.name, "uid": owner_uid}
            ],
        },
        "immutable": True,
        "data": files,
    }


def calrissian_args(spec: RunSpec) -> list[str]:
    files = spec.files_dir
    target = str(files / PACKAGE_KEY)
    if spec.entry:
        target += spec.entry if spec.entry.startswith("#") else "#" + spec.entry
    work = spec.workdir
    args = [
        "--disable-color",  # records start with their level, with no colour codes around it
        "--disable-js-validation",  # jshint's warnings say nothing to a user
        "--max-ram", spec.max_ram,
        "--max-cores", spec.max_cores,
        # Temporary and output directories on the shared volume: Calrissian mounts them
        # into the tool pods it starts from there.
        "--tmpdir-prefix", f"{work / 'tmp'}/",
        "--tmp-outdir-prefix", f"{work / 'tmp' / 'out-'}",
        "--outdir", str(work / "outputs"),
        "--stdout", str(spec.outputs_file),
        "--stderr", str(spec.stderr_file),
        "--usage-report", str(spec.usage_file),
        # Each tool pod's log, as <job name>.log: the failing tool's last words.
        "--tool-logs-basepath", str(spec.tool_logs_dir),
        "--pod-labels", str(files / POD_LABELS_KEY),
    ]  # fmt: skip
    # No --pod-serviceaccount: the tool pods, which run the package's code, keep the
    # namespace's default account, without the rights to pods and Jobs Calrissian has.
    if spec.default_container:
        # What runs a tool that names no image of its own (a DockerRequirement hint).
        args += ["--default-container", spec.default_container]
    if spec.skip_schemas:
        args.append("--skip-schemas")
    return [*args, target, str(files / JOB_ORDER_KEY)]


def job(spec: RunSpec) -> dict[str, Any]:
    """The batch/v1 Job running Calrissian once: no retry (a failed run is the job's
    failure, for the server to report), deleted by Kubernetes ``ttl_after_finished``
    seconds after it ends if the server did not delete it first."""
    labels = spec.labels
    mounts: list[dict[str, Any]] = [
        {"name": "data", "mountPath": str(spec.volume_path)},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": spec.volume_claim}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if spec.files_in_config_map:
        mounts.append({"name": "run", "mountPath": str(RUN_FILES_PATH), "readOnly": True})
        volumes.append({"name": "run", "configMap": {"name": spec.name}})
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # Kubernetes would add <SERVICE>_SERVICE_HOST/_PORT variables of every Service of the
        # namespace (the server's own among them, ADES_…): Calrissian needs none, and its
        # environment is all it is given, no secret of the server's.
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": spec.run_as_user,
            "runAsGroup": spec.run_as_group,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": CONTAINER,
                "image": spec.image,
                "command": ["calrissian"],
                "args": calrissian_args(spec),
                "env": [
                    # Calrissian finds its own pod by this name, to give its tool pods the
                    # same volumes.
                    {
                        "name": "CALRISSIAN_POD_NAME",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                    },
                    {"name": "HOME", "value": "/tmp"},
                ],
                "resources": {"requests": spec.requests, "limits": spec.limits},
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
    if spec.service_account:
        pod_spec["serviceAccountName"] = spec.service_account
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": spec.ttl_after_finished,
        "template": {
            "metadata": {"labels": {**labels, COMPONENT: RUNNER}},
            "spec": pod_spec,
        },
    }
    if spec.active_deadline:
        job_spec["activeDeadlineSeconds"] = spec.active_deadline
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": labels},
        "spec": job_spec,
    }
