"""An in-memory Kubernetes behind the runner's Cluster port, honest where it matters: every
manifest it is given must pass kubernetes-validate in strict mode, and a created Job really
runs. Its "kubelet" mounts the volumes the pod names (the PVC at its path, which is a real
directory here; the ConfigMap's files in a sandbox) and runs REAL cwltool, without
containers, on the arguments the runner gave Calrissian. What Calrissian adds around
cwltool is imitated from cwltool's log: tool output goes to one log file per tool job
(``--tool-logs-basepath``, as ``time - pod - line``) instead of the pod's log, the
``[job x]`` records are not in the pod's log, a failed tool gets Calrissian's ``ERROR the
command below failed in pod`` lines, and the usage report lists each tool job with its exit
code. Deleting a Job kills its process group, as deleting the pod would."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from ades.execution.calrissian.cluster import Cluster, JobState, PodState

# How cwltool quotes the arguments it prints: read as the server reads them.
from ades.execution.cwltool_log import quote_after

# A current Kubernetes release; kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.37"

# Flags of Calrissian's own (each takes a value) that cwltool does not know.
CALRISSIAN_FLAGS = {
    "--max-ram",
    "--max-cores",
    "--usage-report",
    "--stdout",
    "--stderr",
    "--tool-logs-basepath",
    "--pod-labels",
    "--pod-serviceaccount",
    "--default-container",
}

_CWLTOOL = "import sys; sys.argv[0] = 'cwltool'; from cwltool.main import run; sys.exit(run())"
_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")
_JOB = re.compile(r"^\[job (.+?)\] (.*)$")


def validate(manifest: dict[str, Any]) -> None:
    """Raises kubernetes_validate.ValidationError (or SchemaNotFoundError) when invalid."""
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@dataclass
class FakePod:
    name: str
    job: str
    labels: dict[str, str]
    phase: str = "Pending"
    unschedulable: str | None = None
    waiting: str | None = None
    exit_code: int | None = None
    terminated_reason: str | None = None
    log: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    deleted: bool = False

    def state(self) -> PodState:
        return PodState(
            name=self.name,
            labels=dict(self.labels),
            phase=self.phase,
            unschedulable=self.unschedulable,
            waiting=self.waiting,
            exit_code=self.exit_code,
            terminated_reason=self.terminated_reason
            or (None if self.exit_code is None else "Completed"),
        )


class FakeCluster(Cluster):
    def __init__(
        self,
        namespace: str = "ades-test",
        unschedulable: str | None = None,
        unschedulable_tool: str | None = None,
        waiting: str | None = None,
        makes_pods: bool = True,
        out_of_memory: bool = False,
    ):
        """``unschedulable``: no node takes the Calrissian pod, with this scheduler message.
        ``unschedulable_tool``: Calrissian starts, and the first tool pod it makes (with
        the labels of --pod-labels) cannot be scheduled; Calrissian waits for it.
        ``waiting``: the Calrissian container waits for ever with this reason (a bad image).
        ``makes_pods`` False: the Job controller makes no pod (a quota refuses it).
        ``out_of_memory``: the Calrissian container is killed at its memory limit."""
        self.out_of_memory = out_of_memory
        self.waiting = waiting
        self.makes_pods = makes_pods
        self.namespace = namespace
        self.unschedulable = unschedulable
        self.unschedulable_tool = unschedulable_tool
        self.created: list[dict[str, Any]] = []  # every manifest, in order
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_uids: dict[str, str] = {}
        self.job_states: dict[str, JobState] = {}
        self.config_maps: dict[str, dict[str, Any]] = {}
        self.pod_table: dict[str, FakePod] = {}
        self.deleted_jobs: list[str] = []
        self.changed = threading.Condition()

    # The port.

    def create_job(self, manifest: dict[str, Any]) -> str:
        validate(manifest)
        name = manifest["metadata"]["name"]
        template = manifest["spec"]["template"]
        pod = FakePod(
            name=f"{name}-{secrets.token_hex(3)[:5]}",
            job=name,
            labels={**template["metadata"]["labels"], "batch.kubernetes.io/job-name": name},
        )
        with self.changed:
            assert name not in self.jobs, f"Job {name} exists already"
            self.created.append(manifest)
            self.jobs[name] = manifest
            self.job_uids[name] = uid = str(uuid.uuid4())
            self.job_states[name] = JobState()
            if self.makes_pods:
                self.pod_table[pod.name] = pod
        if self.unschedulable:
            pod.unschedulable = self.unschedulable
        elif self.waiting:
            pod.waiting = self.waiting
        elif self.out_of_memory:
            with self.changed:
                pod.phase, pod.exit_code, pod.terminated_reason = "Failed", 137, "OOMKilled"
                self._end_job(name, ok=False)
        elif self.makes_pods:
            threading.Thread(target=self._kubelet, args=(manifest, pod), daemon=True).start()
        return uid

    def create_config_map(self, manifest: dict[str, Any]) -> None:
        validate(manifest)
        owners = manifest["metadata"].get("ownerReferences", [])
        with self.changed:
            assert all(self.job_uids.get(o["name"]) == o["uid"] for o in owners)
            self.created.append(manifest)
            self.config_maps[manifest["metadata"]["name"]] = manifest
            self.changed.notify_all()

    def job_state(self, name: str) -> JobState | None:
        with self.changed:
            return self.job_states.get(name) if name in self.jobs else None

    def job_names(self, selector: Mapping[str, str]) -> list[str]:
        with self.changed:
            return [n for n, m in self.jobs.items() if matches(m["metadata"]["labels"], selector)]

    def pods(self, selector: Mapping[str, str]) -> list[PodState]:
        with self.changed:
            return [p.state() for p in self.pod_table.values() if matches(p.labels, selector)]

    def follow_log(self, pod: str, container: str) -> Iterator[str]:
        with self.changed:
            fake = self.pod_table[pod]
        assert container == self.jobs[fake.job]["spec"]["template"]["spec"]["containers"][0]["name"]
        sent = 0
        while True:
            with self.changed:
                while sent == len(fake.log) and fake.phase not in ("Succeeded", "Failed"):
                    if fake.deleted:
                        return
                    self.changed.wait(1.0)
                lines = fake.log[sent:]
                ended = fake.phase in ("Succeeded", "Failed") or fake.deleted
            yield from lines
            sent += len(lines)
            if ended and not lines:
                return

    def delete_job(self, name: str) -> None:
        with self.changed:
            if self.jobs.pop(name, None) is None:
                return
            self.deleted_jobs.append(name)
            self.job_states.pop(name, None)
            uid = self.job_uids.pop(name)
            pods = [p for p in self.pod_table.values() if p.job == name]
            # The garbage collector takes what the Job owned.
            for cm_name, cm in list(self.config_maps.items()):
                if any(o["uid"] == uid for o in cm["metadata"].get("ownerReferences", [])):
                    del self.config_maps[cm_name]
        self._kill(pods)

    def delete_pods(self, selector: Mapping[str, str]) -> None:
        with self.changed:
            pods = [p for p in self.pod_table.values() if matches(p.labels, selector)]
        self._kill(pods)

    def delete_config_map(self, name: str) -> None:
        with self.changed:
            self.config_maps.pop(name, None)

    def _kill(self, pods: list[FakePod]) -> None:
        for pod in pods:
            with self.changed:
                pod.deleted = True
                self.pod_table.pop(pod.name, None)
                process = pod.process
                self.changed.notify_all()
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    # The kubelet and "Calrissian".

    def _kubelet(self, manifest: dict[str, Any], pod: FakePod) -> None:
        spec = manifest["spec"]["template"]["spec"]
        container = spec["containers"][0]
        volumes = {v["name"]: v for v in spec["volumes"]}
        sandbox = Path(tempfile.mkdtemp(prefix="fake-pod-"))
        try:
            moved: dict[str, str] = {}  # mount path -> where its files are here
            for mount in container["volumeMounts"]:
                volume = volumes[mount["name"]]
                if "configMap" in volume:
                    here = sandbox / mount["name"]
                    here.mkdir()
                    files = self._wait_for_config_map(volume["configMap"]["name"], pod)
                    if files is None:
                        return  # deleted while it waited
                    for key, text in files:
                        (here / key).write_text(text)
                    moved[mount["mountPath"]] = str(here)
                elif "persistentVolumeClaim" in volume:
                    # The volume is a real directory at its mount path, as in every pod.
                    assert Path(mount["mountPath"]).is_dir(), mount
            args = [_moved(arg, moved) for arg in container["args"]]
            self._calrissian(pod, args, sandbox)
        except Exception as err:  # a broken fake must show, not hang the test
            with self.changed:
                pod.log.append(f"FAKE KUBELET ERROR {err!r}")
                pod.phase, pod.exit_code = "Failed", 128
                self._end_job(pod.job, ok=False)
        finally:
            shutil.rmtree(sandbox, ignore_errors=True)

    def _wait_for_config_map(self, name: str, pod: FakePod) -> list[tuple[str, str]] | None:
        """As the kubelet does, the pod waits for a ConfigMap that is not there yet."""
        with self.changed:
            if not self.changed.wait_for(
                lambda: name in self.config_maps or pod.deleted, timeout=30
            ):
                raise RuntimeError(f"ConfigMap {name} never came")
            if pod.deleted:
                return None
            return list(self.config_maps[name]["data"].items())

    def _calrissian(self, pod: FakePod, args: list[str], sandbox: Path) -> None:
        own = {flag: args[i + 1] for i, flag in enumerate(args) if flag in CALRISSIAN_FLAGS}
        cwltool_args: list[str] = []
        values = iter(args)
        for arg in values:
            if arg in CALRISSIAN_FLAGS:
                next(values)  # its value
            else:
                cwltool_args.append(arg)
        for flag in ("--max-ram", "--max-cores", "--stdout", "--usage-report"):
            assert flag in own, f"Calrissian refuses to run without {flag}"
        if self.unschedulable_tool:
            labels = yaml.safe_load(Path(own["--pod-labels"]).read_text())
            tool = FakePod(
                name=f"tool-{secrets.token_hex(3)}",
                job=pod.job,
                labels=labels,
                unschedulable=self.unschedulable_tool,
            )
            with self.changed:
                pod.phase = "Running"
                self.pod_table[tool.name] = tool
                pod.log.append("INFO [workflow ] start")
                self.changed.notify_all()
            return  # Calrissian waits for its tool pod as long as it lives
        command = [
            sys.executable, "-c", _CWLTOOL, "--no-container",
            "--preserve-environment", "PATH", *cwltool_args,
        ]  # fmt: skip
        with self.changed:
            if pod.deleted:
                return
            pod.process = process = subprocess.Popen(
                command,
                cwd=sandbox,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            pod.phase = "Running"
            self.changed.notify_all()
        imitation = _Imitation(pod.name, Path(own.get("--tool-logs-basepath", sandbox / "logs")))
        stderr_copy = open(own["--stderr"], "w") if "--stderr" in own else None
        assert process.stderr is not None and process.stdout is not None
        for raw in process.stderr:
            for line in imitation.feed(raw.decode(errors="replace").rstrip("\n")):
                self._log(pod, line)
                if stderr_copy:
                    stderr_copy.write(line + "\n")
        if stderr_copy:
            stderr_copy.close()
        stdout = process.stdout.read().decode()
        code = process.wait()
        Path(own["--stdout"]).write_text(stdout)
        Path(own["--usage-report"]).write_text(json.dumps(imitation.report(own)))
        with self.changed:
            if pod.deleted:
                return
            pod.log.extend(stdout.splitlines())  # Calrissian's stdout is in its log too
            pod.phase = "Succeeded" if code == 0 else "Failed"
            pod.exit_code = code
            self._end_job(pod.job, ok=code == 0)
            self.changed.notify_all()

    def _log(self, pod: FakePod, line: str) -> None:
        with self.changed:
            pod.log.append(line)
            self.changed.notify_all()

    def _end_job(self, name: str, ok: bool) -> None:
        if name in self.jobs:
            self.job_states[name] = (
                JobState(succeeded=True)
                if ok
                else JobState(failed=True, reason="BackoffLimitExceeded", message="failed")
            )


def _moved(arg: str, moved: dict[str, str]) -> str:
    for mount, here in moved.items():
        if arg == mount or arg.startswith(mount + "/"):
            return here + arg[len(mount) :]
    return arg


@dataclass
class _ToolJob:
    name: str
    command: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    exit_code: int = 0
    start: str = ""
    echoing: bool = True
    quote: str | None = None


class _Imitation:
    """cwltool's stderr turned into what Calrissian's pod log, tool log files and usage
    report would hold."""

    def __init__(self, pod: str, tool_logs: Path):
        self.pod = pod
        self.tool_logs = tool_logs
        self.current: _ToolJob | None = None
        self.done: list[dict[str, Any]] = []

    def feed(self, line: str) -> list[str]:
        """The lines of the pod's log this line of cwltool's makes."""
        record = _RECORD.match(line)
        job = self.current
        if record is None:
            if job is None:
                return [line]
            if job.echoing:
                job.command.append(line)
                job.quote = quote_after(line, job.quote)
                job.echoing = job.quote is not None or line.endswith(" \\")
            else:
                job.output.append(line)
            return []
        subject = _JOB.match(record.group(2))
        if subject is None:
            return [line]
        name, rest = subject.groups()
        if "$ " in rest and self.current is None:
            self.current = job = _ToolJob(name, start=_now())
            job.command.append(rest.split("$ ", 1)[1])
            job.quote = quote_after(rest, None)
            job.echoing = job.quote is not None or rest.endswith(" \\")
            return []
        if job is None or name != job.name:
            return []
        if exited := re.match(r"^exited with status: (-?\d+)$", rest):
            job.exit_code = int(exited.group(1))
            return []
        if rest.startswith("completed "):
            return self._finish(job)
        return []

    def _finish(self, job: _ToolJob) -> list[str]:
        self.current = None
        self.tool_logs.mkdir(parents=True, exist_ok=True)
        stamp = _now()
        with open(self.tool_logs / f"{job.name}.log", "w") as log:
            for entry in job.output:
                log.write(f"{stamp} - {job.name}-pod - {entry}\n")
        self.done.append(
            {
                "name": job.name,
                "exit_code": job.exit_code,
                "cpus": 1.0,
                "ram_megabytes": 268.435456,
                "start_time": job.start,
                "finish_time": stamp,
            }
        )
        if job.exit_code == 0:
            return []
        return [
            f"ERROR the command below failed in pod {job.name}-container:",
            "\t" + " ".join(job.command),
        ]

    def report(self, own: dict[str, str]) -> dict[str, Any]:
        return {
            "cores_allowed": float(own["--max-cores"]),
            "ram_mb_allowed": own["--max-ram"],
            "children": self.done,
            "total_tasks": len(self.done),
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
