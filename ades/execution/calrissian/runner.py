"""The CWL runner port implemented with Calrissian on Kubernetes: each run is a Kubernetes
Job whose pod runs Calrissian on the package and job order (from a ConfigMap), which starts
one pod per tool. All of them mount the same ReadWriteMany volume at the same path, where
the job's working directory lies, so inputs, outputs and logs need no copying. The package
goes as stored, with no packing: deploy loads it where nothing lies beside it, so it is one
document already (a ``$graph`` with its entry named by ``#id``).

The runner watches the run's pods: a pod no node can take fails the job (category
``system``) after a grace period instead of waiting forever; the Calrissian pod's log is
streamed into events as it comes; at the end the outputs, the usage report and the failing
tool's log are read from the volume. Cancel and the end of a run delete the Job, its pods
and its ConfigMap."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ades.execution.calrissian import manifests
from ades.execution.calrissian.cluster import Cluster, JobState, PodState
from ades.execution.calrissian.events import CalrissianLog
from ades.execution.calrissian.resources import Resources, caps_from, is_workflow, run_budget
from ades.execution.cwltool_runner import declares_formats
from ades.execution.runner import (
    CwlRunner,
    EarlyCancels,
    ElementFinished,
    LogLine,
    RunEvent,
    RunOutcome,
    StepFinished,
    StepStarted,
)
from ades.model import FailureCategory, LogLevel
from ades.settings import Settings

log = logging.getLogger(__name__)

# What runs a tool whose package names no image (no DockerRequirement, or only a hint that
# Calrissian honours as well): a small image with a POSIX shell and coreutils.
DEFAULT_CONTAINER = "docker.io/library/debian:bookworm-slim"

# Reasons a container waits that no waiting will cure.
_STUCK = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError")


class CalrissianRunner(CwlRunner):
    def __init__(
        self,
        cluster: Cluster | Callable[[], Cluster],
        *,
        image: str,
        volume_claim: str,
        volume_path: str | Path,
        caps: Resources,
        service_account: str = "",
        unschedulable_grace: float = 60.0,
        workspace_of: Callable[[str], str | None] | None = None,
        default_container: str = DEFAULT_CONTAINER,
        poll_interval: float = 1.0,
        active_deadline: int | None = None,
        ttl_after_finished: int = 3600,
        stderr_lines: int = 20,
        log_wait: float = 30.0,
    ):
        """``cluster``: the Kubernetes API, or a function making it on first use (so a
        server starts without reaching the cluster). ``workspace_of`` tells a job id's
        workspace for the pod labels. ``active_deadline``: seconds after which Kubernetes
        stops a run. ``log_wait``: seconds the end of a run waits for the rest of the log."""
        if not volume_claim:
            raise ValueError("the calrissian runner needs ADES_K8S_VOLUME_CLAIM: the RWX volume")
        if not volume_path or not PurePosixPath(volume_path).is_absolute():
            raise ValueError(
                f"the calrissian runner needs ADES_K8S_VOLUME_PATH, an absolute path where the "
                f"volume is mounted; got {str(volume_path)!r}"
            )
        self._cluster = cluster if isinstance(cluster, Cluster) else None
        self._make_cluster = None if isinstance(cluster, Cluster) else cluster
        self.image = image
        self.volume_claim = volume_claim
        self.volume_path = Path(volume_path)
        self.caps = caps
        self.service_account = service_account
        self.unschedulable_grace = unschedulable_grace
        self.workspace_of = workspace_of
        self.default_container = default_container
        self.poll_interval = poll_interval
        self.active_deadline = active_deadline
        self.ttl_after_finished = ttl_after_finished
        self.stderr_lines = stderr_lines
        self.log_wait = log_wait
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._early_cancels = EarlyCancels()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        cluster: Cluster | Callable[[], Cluster] | None = None,
        **options: Any,
    ) -> CalrissianRunner:
        if cluster is None:
            from ades.execution.calrissian.cluster import KubernetesCluster

            def cluster() -> Cluster:
                return KubernetesCluster(settings.k8s_namespace)

        return cls(
            cluster,
            image=settings.calrissian_image,
            volume_claim=settings.k8s_volume_claim,
            volume_path=settings.k8s_volume_path,
            caps=caps_from(settings.calrissian_max_ram, settings.calrissian_max_cores),
            service_account=settings.k8s_service_account,
            unschedulable_grace=settings.k8s_unschedulable_grace,
            **options,
        )

    @property
    def cluster(self) -> Cluster:
        with self._lock:
            if self._cluster is None:
                assert self._make_cluster is not None
                self._cluster = self._make_cluster()
            return self._cluster

    def run(
        self,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        on_event: Callable[[RunEvent], None] | None = None,
        provenance: bool = False,
    ) -> RunOutcome:
        # Calrissian runs each step in a pod and keeps no CWLProv research object: a job
        # it runs has no provenance, whatever ``provenance`` asks (its outcome says None).
        with self._lock:
            if self._early_cancels.take(job_id):
                return _dismissed()
            if job_id in self._runs:
                raise RuntimeError(f"job {job_id} is already running")
            run = self._runs[job_id] = _Run()
        sink = _Sink(on_event, job_id)
        try:
            return self._run(run, job_id, package, entry, job_order, workdir, sink)
        except Exception as err:
            if run.cancelled:
                return _dismissed()
            # The API refused (no permission, a quota) or could not be reached: the job
            # fails with the API's own words, and what was created is deleted below.
            log.exception("job %s: the Calrissian run broke", job_id)
            return RunOutcome(
                ok=False,
                category=FailureCategory.SYSTEM,
                message=f"the run could not go on in Kubernetes: {_short(err)}",
            )
        finally:
            if run.name is not None:
                self._clean_up(run.name)
            shutil.rmtree(workdir / "tmp", ignore_errors=True)
            with self._lock:
                del self._runs[job_id]

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            run = self._runs.get(job_id)
            if run is None:
                self._early_cancels.add(job_id)
                return False
            run.cancelled = True
            name = run.name
        run.wake.set()
        if name is not None:
            # At once, not when the run notices: the pods stop within their grace period.
            self._clean_up(name)
        return True

    def forget_cancel(self, job_id: str) -> None:
        with self._lock:
            self._early_cancels.forget(job_id)

    # The run, step by step.

    def _run(
        self,
        run: _Run,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        sink: _Sink,
    ) -> RunOutcome:
        workdir = workdir.resolve()
        if not workdir.is_relative_to(self.volume_path):
            return RunOutcome(
                ok=False,
                category=FailureCategory.SYSTEM,
                message=(
                    f"the job's working directory {workdir} is not on the shared volume "
                    f"mounted at {self.volume_path} (ADES_K8S_VOLUME_PATH): Calrissian's pods "
                    "could not see its files"
                ),
            )
        shutil.rmtree(workdir / "logs", ignore_errors=True)  # a re-run starts afresh
        shutil.rmtree(workdir / "calrissian", ignore_errors=True)
        for sub in ("outputs", "tmp", "logs", "calrissian"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        text = package.read_text()
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            document = None
        budget = run_budget(document, entry, self.caps)
        if budget.too_big:
            return RunOutcome(
                ok=False, message=f"the package asks for more than a run may use: {budget.too_big}"
            )
        job_order_text = json.dumps(job_order)
        (workdir / "job.json").write_text(job_order_text)

        cluster = self.cluster
        # What an earlier run of this job left running (its worker was lost) goes first.
        mine = {manifests.MANAGED_BY: "ades", manifests.JOB_ID_LABEL: manifests.label_value(job_id)}
        for name in cluster.job_names(mine):
            self._clean_up(name)

        uid, gid = os.getuid(), os.getgid()
        spec = manifests.RunSpec(
            name=manifests.job_name(job_id, secrets.token_hex(3)),
            namespace=cluster.namespace,
            job_id=job_id,
            workspace=self.workspace_of(job_id) if self.workspace_of else None,
            image=self.image,
            workdir=PurePosixPath(workdir),
            volume_claim=self.volume_claim,
            volume_path=PurePosixPath(self.volume_path),
            max_ram=budget.limits.ram_arg,
            max_cores=budget.limits.cores_arg,
            entry=entry,
            service_account=self.service_account,
            # The server's own user, so it can read and delete what the tools write;
            # Calrissian's image user when the server runs as root.
            run_as_user=uid or 1001,
            run_as_group=gid if uid else 0,
            default_container=self.default_container,
            skip_schemas=not declares_formats(package),
            active_deadline=self.active_deadline,
            ttl_after_finished=self.ttl_after_finished,
        )
        files = manifests.run_files(spec, text, job_order_text)
        if not manifests.fits_config_map(files):
            spec = replace(spec, files_in_config_map=False)
            for key, content in files.items():
                (workdir / "calrissian" / key).write_text(content)
        with self._lock:
            if run.cancelled:
                return _dismissed()
            run.name = spec.name
        owner = cluster.create_job(manifests.job(spec))
        if spec.files_in_config_map:
            cluster.create_config_map(manifests.config_map(spec, files, owner))
        if run.cancelled:
            return _dismissed()
        sink(LogLine(LogLevel.INFO, f"Kubernetes Job {spec.name} in namespace {spec.namespace}"))
        watch = _Watch(
            run=run,
            spec=spec,
            cluster=cluster,
            sink=sink,
            calrissian_log=CalrissianLog(lines_kept=self.stderr_lines),
            workflow=is_workflow(document, entry),
            # As cwltool names the job of a tool: its id, else its file's name.
            tool_name=(entry or "").lstrip("#") or package.name,
            scattered=_scattered_steps(document),
        )
        return self._follow(watch)

    def _follow(self, watch: _Watch) -> RunOutcome:
        run, spec, cluster = watch.run, watch.spec, watch.cluster
        stuck_since: dict[str, float] = {}
        state: JobState | None = JobState()
        runner_pod: PodState | None = None
        submitted = time.monotonic()
        while not run.cancelled:
            state = cluster.job_state(spec.name)
            if state is None:
                break
            pods = cluster.pods({manifests.RUN_LABEL: spec.name})
            now = time.monotonic()
            if (
                runner_pod is None
                and not pods
                and not (state.succeeded or state.failed)
                and now - submitted >= self.unschedulable_grace
            ):
                # The Job controller could not make the pod (a quota, an admission policy)
                # and keeps trying: say so instead of waiting for ever.
                message = (
                    f"Kubernetes made no pod for the Job {spec.name} within "
                    f"{self.unschedulable_grace:g} s (see its events: kubectl describe job)"
                )
                watch.sink(LogLine(LogLevel.ERROR, message))
                return RunOutcome(ok=False, category=FailureCategory.SYSTEM, message=message)
            for pod in pods:
                stuck = _stuck(pod)
                if stuck is None:
                    stuck_since.pop(pod.name, None)
                elif now - stuck_since.setdefault(pod.name, now) >= self.unschedulable_grace:
                    return self._stuck_failure(watch, pod, stuck)
            runners = [p for p in pods if p.labels.get(manifests.COMPONENT) == manifests.RUNNER]
            if runners:
                runner_pod = runners[0]
                if runner_pod.started:
                    watch.start_log(runner_pod.name)
            watch.read_tool_logs()
            if state.succeeded or state.failed or (runner_pod is not None and runner_pod.ended):
                break
            run.wake.wait(self.poll_interval)
        if run.cancelled:
            return _dismissed()
        if state is None:
            return RunOutcome(
                ok=False,
                category=FailureCategory.SYSTEM,
                message=f"the Kubernetes Job {spec.name} was deleted before its run ended",
            )
        watch.finish_log(self.log_wait)
        watch.read_tool_logs()
        if runner_pod is not None and not runner_pod.ended:
            # The Job ended before the pod was seen ending: look once more.
            ended = [p for p in cluster.pods({manifests.RUN_LABEL: spec.name}) if p.ended]
            runner_pod = next(
                (p for p in ended if p.labels.get(manifests.COMPONENT) == manifests.RUNNER),
                runner_pod,
            )
        outcome = self._outcome(watch, state, runner_pod)
        if not watch.workflow and watch.log_started:
            watch.sink(StepFinished(watch.tool_name, outcome.ok))
        step = outcome.failed_step
        if step and step not in watch.calrissian_log.finished_steps:
            # cwltool gives up on the workflow without a word on the step that broke it.
            watch.sink(StepFinished(step, False))
        return outcome

    def _stuck_failure(self, watch: _Watch, pod: PodState, reason: str) -> RunOutcome:
        is_runner = pod.labels.get(manifests.COMPONENT) == manifests.RUNNER
        who = "the Calrissian pod" if is_runner else f"the tool pod {pod.name}"
        if pod.unschedulable and not pod.started:
            message = f"no node of the cluster can run {who}: {reason}"
            category = FailureCategory.SYSTEM
        else:
            message = f"{who} cannot start: {reason}"
            # A tool's image is the package's choice; Calrissian's image is the server's.
            category = FailureCategory.SYSTEM if is_runner else FailureCategory.APPLICATION
        watch.sink(LogLine(LogLevel.ERROR, message))
        return RunOutcome(ok=False, category=category, message=message)

    def _outcome(self, watch: _Watch, state: JobState, pod: PodState | None) -> RunOutcome:
        spec, clog = watch.spec, watch.calrissian_log
        usage = _read_json(Path(spec.usage_file))
        usage = usage if isinstance(usage, dict) else None
        exit_code = pod.exit_code if pod is not None else None
        if pod is not None and pod.terminated_reason == "OOMKilled":
            return RunOutcome(
                ok=False,
                category=FailureCategory.SYSTEM,
                message="Calrissian ran out of memory (OOMKilled): raise the limit of its pod",
                usage=usage,
            )
        if state.failed and state.reason == "DeadlineExceeded":
            return RunOutcome(
                ok=False,
                message=f"the run took longer than {self.active_deadline} s and was stopped",
                usage=usage,
            )
        if exit_code == 0 or (exit_code is None and state.succeeded):
            outputs = _read_json(Path(spec.outputs_file))
            if isinstance(outputs, dict):
                return RunOutcome(ok=True, outputs=outputs, usage=usage)
        failed = [
            child
            for child in (usage or {}).get("children") or []
            if isinstance(child, dict) and child.get("exit_code") not in (0, None)
        ]
        if failed:
            return self._tool_failure(watch, failed[0], usage)
        message, blames_input = clog.error_message()
        if message:
            category = FailureCategory.INPUT if blames_input else FailureCategory.APPLICATION
            return RunOutcome(ok=False, message=message, category=category, usage=usage)
        if clog.failed_steps:
            return RunOutcome(
                ok=False,
                message=f"step '{clog.failed_steps[0]}' failed",
                failed_step=clog.failed_steps[0],
                usage=usage,
            )
        tail = "\n".join(clog.tail)
        what = (
            f"Calrissian exited with code {exit_code}"
            if exit_code
            else "Calrissian gave no output"
            if pod is not None
            else f"the Kubernetes Job failed: {state.reason or 'no pod ran'}"
            f"{': ' + state.message if state.message else ''}"
        )
        return RunOutcome(
            ok=False,
            category=FailureCategory.SYSTEM if pod is None else FailureCategory.APPLICATION,
            message=f"{what}: {tail}" if tail else what,
            stderr_tail=tail,
            usage=usage,
        )

    def _tool_failure(
        self, watch: _Watch, child: dict[str, Any], usage: dict[str, Any] | None
    ) -> RunOutcome:
        job = str(child.get("name"))
        code = child.get("exit_code")
        step = watch.calrissian_log.step_of(job)
        who = f"step '{step}'" if step else f"tool '{job}'"
        if step and step != job:
            who += f" (job '{job}')"
        lines = _tool_log_tail(Path(watch.spec.tool_logs_dir) / f"{job}.log", self.stderr_lines)
        detail = "\n".join(lines[-5:])
        what = f"{who} failed with exit code {code}"
        return RunOutcome(
            ok=False,
            message=f"{what}: {detail}" if detail else f"{what} (it wrote nothing on stderr)",
            failed_step=step,
            exit_code=code if isinstance(code, int) else None,
            stderr_tail="\n".join(lines),
            usage=usage,
        )

    def _clean_up(self, name: str) -> None:
        """Delete a run's Job (its pod goes with it), its ConfigMap and any tool pod left."""
        cluster = self.cluster
        for what, call in (
            ("Job", lambda: cluster.delete_job(name)),
            ("ConfigMap", lambda: cluster.delete_config_map(name)),
            ("pods", lambda: cluster.delete_pods({manifests.RUN_LABEL: name})),
        ):
            try:
                call()
            except Exception:
                # Kubernetes deletes them later anyway (ttlSecondsAfterFinished, owners).
                log.warning("could not delete the %s of %s", what, name, exc_info=True)


@dataclass
class _Run:
    cancelled: bool = False
    name: str | None = None  # of the Kubernetes Job, once decided
    wake: threading.Event = field(default_factory=threading.Event)


class _Sink:
    """Hands events to on_event from the watching and the log threads, one at a time."""

    def __init__(self, on_event: Callable[[RunEvent], None] | None, job_id: str):
        self.on_event = on_event
        self.job_id = job_id
        self.lock = threading.Lock()

    def __call__(self, event: RunEvent) -> None:
        with self.lock:
            if self.on_event is None:
                return
            try:
                self.on_event(event)
            except Exception:
                # A broken consumer must not break, or orphan, the run itself.
                log.exception("job %s: on_event failed; no more events go to it", self.job_id)
                self.on_event = None


@dataclass
class _Watch:
    """One run being followed: its log thread and the tool logs seen so far."""

    run: _Run
    spec: manifests.RunSpec
    cluster: Cluster
    sink: _Sink
    calrissian_log: CalrissianLog
    workflow: bool
    tool_name: str
    scattered: set[str]
    log_thread: threading.Thread | None = None
    tool_logs: set[str] = field(default_factory=set)
    elements: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    files_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def log_started(self) -> bool:
        return self.log_thread is not None

    def start_log(self, pod: str) -> None:
        if self.log_thread is not None:
            return
        if not self.workflow:
            self.sink(StepStarted(self.tool_name))
        self.log_thread = threading.Thread(
            target=self._follow_log, args=(pod,), name=f"log-{pod}", daemon=True
        )
        self.log_thread.start()

    def finish_log(self, timeout: float) -> None:
        if self.log_thread is not None:
            self.log_thread.join(timeout)

    def _follow_log(self, pod: str) -> None:
        try:
            with open(Path(self.spec.workdir) / "calrissian.log", "a", encoding="utf-8") as copy:
                for line in self.cluster.follow_log(pod, manifests.CONTAINER):
                    copy.write(line.rstrip("\n") + "\n")
                    with self.lock:
                        events = self.calrissian_log.feed(line)
                    for event in events:
                        if isinstance(event, StepFinished):
                            # The step's last tool logs are written before it ends: its
                            # elements are told first.
                            self.read_tool_logs()
                        self.sink(event)
        except Exception:
            if not self.run.cancelled:
                log.warning("the log of pod %s broke off", pod, exc_info=True)

    def read_tool_logs(self) -> None:
        """A tool pod's log file appears when its job ends: for a scattered step, one
        element more is done."""
        with self.files_lock:  # read by the watching and the log threads
            try:
                names = sorted(p.stem for p in Path(self.spec.tool_logs_dir).glob("*.log"))
            except OSError:
                return
            for name in names:
                if name in self.tool_logs:
                    continue
                with self.lock:
                    step = self.calrissian_log.step_of(name)
                if step is None:
                    continue  # its step's start is not read yet: look again next time
                self.tool_logs.add(name)
                if step in self.scattered:
                    self.elements[step] = self.elements.get(step, 0) + 1
                    self.sink(ElementFinished(step, self.elements[step]))


def _stuck(pod: PodState) -> str | None:
    """Why the pod cannot go on by itself, if it cannot."""
    if pod.unschedulable and not pod.started:
        return pod.unschedulable
    if pod.waiting and pod.waiting.startswith(_STUCK):
        return pod.waiting
    return None


def _scattered_steps(document: Any) -> set[str]:
    """Short ids of the steps, in any workflow of the document, that have a scatter."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            steps = node.get("steps") if node.get("class") == "Workflow" else None
            if isinstance(steps, dict):
                steps = [
                    {"id": key, **value} for key, value in steps.items() if isinstance(value, dict)
                ]
            for step in steps or []:
                if isinstance(step, dict):
                    if step.get("scatter") and isinstance(step.get("id"), str):
                        found.add(re.split(r"[#/]", step["id"])[-1])
                    walk(step.get("run"))
            walk(node.get("$graph"))

    walk(document)
    return found


def _tool_log_tail(path: Path, count: int) -> list[str]:
    """The last lines of a tool pod's log, as Calrissian keeps it: ``time - pod - line``."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    lines = [line.split(" - ", 2)[-1] for line in text.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-count:]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _short(err: Exception) -> str:
    """An API error in a line: Kubernetes' own message when it gave one."""
    body = getattr(err, "body", None)
    if body:
        try:
            return f"{getattr(err, 'status', '')} {json.loads(body)['message']}".strip()
        except (ValueError, KeyError, TypeError):
            pass
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _dismissed() -> RunOutcome:
    return RunOutcome(ok=False, cancelled=True, message="dismissed")
