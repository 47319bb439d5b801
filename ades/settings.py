"""All configuration of the server: one dataclass, read from ``ADES_*`` environment
variables and overridden by CLI flags. Every default lives here and nowhere else."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".ades")
    workspaces: Path = Path("workspaces")
    # SQLAlchemy URL; empty means a SQLite file in the data dir.
    database_url: str = ""
    # Empty endpoint means: start the embedded SeaweedFS S3 on 127.0.0.1.
    s3_endpoint: str = ""
    s3_access_key: str = "ades"
    s3_secret_key: str = "ades-secret"
    s3_bucket: str = "ades"
    s3_region: str = "us-east-1"
    max_jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Processes of `ades serve` answering requests on its one port, one per core by default:
    # each a full server running the jobs it accepts (max_jobs is shared out among them,
    # at least one each), on the one database and the one embedded S3 its parent starts.
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Seconds a synchronous execution may wait for its job before answering 201 instead
    # (openEO's POST /result: 408 RequestTimeout; the job goes on).
    sync_timeout: float = 60.0
    # What runs a package's DockerRequirement: none, docker, podman or singularity. With
    # "none", a package that *requires* a container is refused at deploy.
    container_engine: str = "none"
    # Stage-in: downloads of one job running at once, and seconds an HTTP read may stall.
    stage_in_concurrency: int = 8
    stage_in_timeout: float = 60.0
    # Result links: presigned URLs valid this many seconds (7 days, the S3 maximum), or,
    # when a public base URL of the bucket is set, <s3_public_url>/<key> that never expire.
    presign_expires: int = 7 * 24 * 3600
    s3_public_url: str = ""
    # How the download route serves result files: "redirect" (302 to a URL presigned now, or
    # under s3_public_url) or "stream" (the bytes through the server). Empty: stream from the
    # embedded S3, which only 127.0.0.1 can reach; redirect to an external S3 or a public URL.
    result_downloads: str = ""
    # Subscriber callbacks: tries per delivery, and the first wait between them (it doubles).
    callback_attempts: int = 5
    callback_backoff: float = 0.5
    # Request bodies larger than this are refused (413) before they are parsed or stored.
    # Execute requests and packages are JSON and CWL text, a few KiB as a rule; data comes
    # by reference. 4 MiB leaves room for large inline packages and many inputs.
    max_body_bytes: int = 4 * 1024 * 1024
    # A literal input larger than this is refused at submission (400). Literals reach the
    # tool as command-line arguments, and Linux refuses one argument string longer than
    # MAX_ARG_STRLEN (32 pages: 128 KiB) with E2BIG, "Argument list too long". Half of it
    # leaves room for the option prefix a tool's inputBinding adds and for the other
    # arguments, which share ARG_MAX (a quarter of the stack limit, 2 MiB by default).
    max_literal_bytes: int = 64 * 1024
    # Where jobs run: "local" (a pool of max_jobs threads in `ades serve`) or "celery"
    # (`ades worker` processes fed through the broker at broker_url: redis://… or amqp://…).
    executor: str = "local"
    broker_url: str = ""
    # The broker queue (and exchange) the jobs travel on: deployments, or test sessions,
    # sharing one broker each use their own.
    broker_queue: str = "ades"
    # What runs a job's CWL: "cwltool" (a subprocess where the job runs) or "calrissian"
    # (a Kubernetes Job per run).
    cwl_runner: str = "cwltool"
    # The Calrissian runner's Kubernetes side. Its Jobs go to k8s_namespace (empty: the
    # namespace of the pod the server runs in, read from its service-account files) and run
    # calrissian_image, a published Calrissian release: it brings its own (older) cwltool,
    # so the server's cwltool version does not matter there.
    k8s_namespace: str = ""
    calrissian_image: str = "ghcr.io/duke-gcb/calrissian/calrissian:0.18.1"
    # The ReadWriteMany PersistentVolumeClaim that the API/worker pods, Calrissian and the
    # tool pods it starts all mount at k8s_volume_path: job working directories (the data
    # dir) must lie below that path, so a path means the same file in every pod.
    k8s_volume_claim: str = ""
    k8s_volume_path: str = ""
    # The most memory and cores (Kubernetes quantities) the tool pods of one run may use at
    # once: a package that asks for less gets less (--max-ram/--max-cores of Calrissian).
    calrissian_max_ram: str = "8G"
    calrissian_max_cores: str = "4"
    # The Calrissian pod's account: it creates, watches and deletes the tool pods and reads
    # their logs. The tool pods, which run the package's code, keep the namespace's default
    # account. Empty: the namespace's default account for the Calrissian pod too.
    k8s_service_account: str = ""
    # Seconds a pod of a run may stay unschedulable (no node fits it) before the job fails
    # with category "system"; leave room for a cluster autoscaler to add a node.
    k8s_unschedulable_grace: float = 60.0
    # Seconds a running job's claim lasts unless its runner renews it (every third of it):
    # a job whose runner died is taken back by any process within this time.
    job_lease: float = 30.0
    # Port where `ades worker` serves its own /metrics (job durations and staged bytes,
    # which happen in the worker); 0 serves none. `ades serve` serves /metrics on its port.
    metrics_port: int = 0

    # Who may call the API: "none" (anyone who reaches the port), "token" (per-workspace API
    # tokens, `ades token create`) or "oidc" (JWT access tokens of an OpenID Connect issuer).
    # Empty means "none", allowed only on a loopback bind: on any other address `ades serve`
    # refuses to start until it is set (a platform that authenticates at its gateway sets
    # "none" on purpose).
    auth: str = ""
    # A bearer token that may act on every workspace (token and oidc modes); empty: none.
    admin_token: str = ""
    # oidc mode: the issuer tokens must name (iss), the audience they must be for (aud), where
    # the signing keys are (empty: jwks_uri of the issuer's discovery document), and the claim
    # naming the workspaces a token may use (a name or a list of names).
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_workspace_claim: str = "preferred_username"
    # Loopback and private addresses (hosts or CIDRs, comma-separated) that deploy hrefs,
    # stage-in hrefs and callback URLs may reach. Link-local and metadata addresses never;
    # in the embedded default (see ``fetches_private``) loopback and private ranges all.
    fetch_allow: str = ""
    # s3:// inputs: any bucket the server's credentials can read, not only the workspace's
    # own prefix of the results bucket and the buckets its settings.yaml lists (s3_read).
    # The embedded default (``fetches_private``) reads any bucket whatever this says.
    s3_read_any: bool = False
    # Per workspace (a workspace's settings.yaml may say otherwise): jobs running at once
    # (more wait queued) and jobs waiting (a submission beyond is refused, 429). 0: no limit.
    max_running: int = 0
    max_queued: int = 1000
    # The result cache: a job whose package and inputs are those of an earlier successful
    # job of its workspace copies that job's results instead of running, when those were
    # made at most cache_ttl seconds ago (7 days; 0 turns the cache off). ``cache`` is the
    # workspaces' default (a workspace's settings.yaml may say otherwise).
    cache_ttl: int = 7 * 24 * 3600
    cache: bool = True
    # With auth on and no container engine, packages would run as the server's own user,
    # able to read its files: the server refuses to start unless this says it is meant.
    allow_uncontained: bool = False

    def __post_init__(self) -> None:
        # Made absolute once, here, against the directory the server starts in: cwltool runs
        # each job in its own working directory, where a relative staged-in path would point
        # somewhere else (the input 'B08.tif' turned into <job>/.ades/jobs/<job>/inputs/…).
        for name in ("data_dir", "workspaces"):
            object.__setattr__(self, name, Path(getattr(self, name)).expanduser().resolve())

    @property
    def streams_downloads(self) -> bool:
        if self.result_downloads:
            return self.result_downloads == "stream"
        return not self.s3_endpoint and not self.s3_public_url

    @property
    def auth_mode(self) -> str:
        return self.auth or "none"

    @property
    def loopback_bind(self) -> bool:
        return is_loopback(self.host)

    @property
    def fetches_private(self) -> bool:
        """The embedded default (no auth, a loopback bind, jobs run in this process): the
        only user is whoever sits at this machine, so hrefs may point at its loopback and
        private addresses. A worker never is: it serves whoever the API lets in."""
        return self.auth_mode == "none" and self.loopback_bind and self.executor == "local"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ades.db').resolve()}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``ADES_<FIELD>`` variables, then explicit overrides (CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"ADES_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw)
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(name: str, raw: str) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "bool":
        if raw.lower() not in _TRUE | _FALSE:
            raise ValueError(f"ADES_{name.upper()}={raw!r} is not true or false")
        return raw.lower() in _TRUE
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as err:
        raise ValueError(f"ADES_{name.upper()}={raw!r} is not a {kind}") from err
    if kind == "Path":
        return Path(raw)
    return raw
