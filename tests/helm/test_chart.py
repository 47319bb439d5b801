"""The Helm chart ``helm/ades``, offline: rendered by the Helm library itself (helm-python-sdk
binds Helm's Go SDK, no helm binary, no cluster) for each value set under ``ci/``, every
manifest checked against the Kubernetes schemas kubernetes-validate ships (strict: no field
Kubernetes does not know), the chart linted with ``strict``, and the values refused that
cannot work, by the schema or by the chart's own checks, naming the value at fault."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from ades.settings import Settings

CHART = Path(__file__).resolve().parents[2] / "helm" / "ades"
VALUE_SETS = sorted(p.stem for p in (CHART / "ci").glob("*.yaml"))
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest whose
# schemas kubernetes-validate ships.
KUBE_VERSIONS = ["1.29.0", f"{kubernetes_validate.latest_version()}.0"]
NAMESPACE = "ades-ns"


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def values_of(value_set: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / "ci" / f"{value_set}.yaml").read_text()) or {}


def render(chart: helm.Chart, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart makes from ``values``."""
    rendered = chart.render(values, name="ades", namespace=NAMESPACE, is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def containers(objects: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(pod spec, container) of every workload."""
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            pod = o["spec"]["template"]["spec"]
            for container in pod["containers"]:
                yield pod, container


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_the_value_sets_are_there():
    assert {"embedded", "postgres-celery-redis", "calrissian"} <= set(VALUE_SETS)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_validates_strictly(chart, value_set, kube_version):
    objects = render(chart, values_of(value_set))
    assert objects
    for o in objects:
        where = f"{value_set}: {o['kind']}/{o['metadata']['name']}"
        try:
            kubernetes_validate.validate(o, kube_version, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{where} is not valid for Kubernetes {kube_version}: {err.message}")


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_lint_is_clean_with_strict(value_set):
    report = helm.lint(CHART, values_of(value_set), strict=True, namespace=NAMESPACE,
                       kube_version=f"v{KUBE_VERSIONS[-1]}")
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; 1 (info: "icon is recommended") is not a fault.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_defaults_are_the_embedded_mode(chart):
    objects = render(chart, {})
    api = one(objects, "Deployment", "ades-api")
    assert api["spec"]["replicas"] == 1
    # SQLite and the embedded S3 on a ReadWriteOnce claim: never two pods on it at once.
    assert api["spec"]["strategy"] == {"type": "Recreate"}
    claim = one(objects, "PersistentVolumeClaim", "ades-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = api["spec"]["template"]["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == "ades-data"
    config = one(objects, "ConfigMap", "ades")["data"]
    assert config["ADES_EXECUTOR"] == "local"
    assert config["ADES_DATA_DIR"] == "/var/lib/ades"
    assert "ADES_S3_ENDPOINT" not in config  # the embedded S3
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"Job", "Role", "RoleBinding", "HorizontalPodAutoscaler", "Ingress"}
    assert not [o for o in objects if o["kind"] == "Deployment" and "worker" in
                o["metadata"]["name"]]


def test_the_api_serves_and_is_probed_on_healthz_and_readyz(chart):
    api = one(render(chart, values_of("postgres-celery-redis")), "Deployment", "ades-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert api["spec"]["replicas"] == 3
    assert "strategy" not in api["spec"]  # stateless: rolling updates


def test_celery_workers_take_their_secrets_and_scale_with_an_hpa(chart):
    objects = render(chart, values_of("postgres-celery-redis"))
    worker = one(objects, "Deployment", "ades-worker")
    assert "replicas" not in worker["spec"]  # the HPA owns it
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["worker", "--concurrency", "4"]
    env = env_of(container)
    assert env["ADES_BROKER_URL"]["valueFrom"]["secretKeyRef"] == {"name": "ades-broker",
                                                                    "key": "url"}
    assert env["ADES_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "ades-database"
    assert env["ADES_S3_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "ades-s3",
                                                                       "key": "secret-key"}
    assert env["ADES_METRICS_PORT"]["value"] == "9100"
    hpa = one(objects, "HorizontalPodAutoscaler", "ades-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "ades-worker"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    # No secret value is in the ConfigMap, only references in the pods.
    config = one(objects, "ConfigMap", "ades")["data"]
    assert not {"ADES_DATABASE_URL", "ADES_BROKER_URL", "ADES_S3_SECRET_KEY"} & set(config)
    assert config["ADES_JOB_LEASE"] == "60"


def test_oidc_settings_are_in_the_config_and_the_admin_token_reaches_the_api_only(chart):
    objects = render(chart, values_of("postgres-celery-redis"))
    config = one(objects, "ConfigMap", "ades")["data"]
    assert {k: v for k, v in config.items() if "AUTH" in k or "OIDC" in k or "UNCONT" in k} == {
        "ADES_AUTH": "oidc",
        "ADES_ALLOW_UNCONTAINED": "true",
        "ADES_OIDC_ISSUER": "https://id.example.org/realms/eo",
        "ADES_OIDC_AUDIENCE": "ades",
        "ADES_OIDC_WORKSPACE_CLAIM": "workspaces",
    }
    api = one(objects, "Deployment", "ades-api")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(api)["ADES_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "ades-admin", "key": "admin-token"}
    worker = one(objects, "Deployment", "ades-worker")["spec"]["template"]["spec"]
    job = one(objects, "Job", "ades-db-upgrade")["spec"]["template"]["spec"]
    for pod in (worker, job):
        assert "ADES_ADMIN_TOKEN" not in env_of(pod["containers"][0])
    # The issuer's keys are fetched from its discovery document unless said.
    with_url = {**values_of("postgres-celery-redis")}
    with_url["auth"] = {**with_url["auth"], "oidc": {**with_url["auth"]["oidc"],
                                                     "jwksUrl": "https://id.example.org/k"}}
    config = one(render(chart, with_url), "ConfigMap", "ades")["data"]
    assert config["ADES_OIDC_JWKS_URL"] == "https://id.example.org/k"


def test_every_release_says_its_auth_mode(chart):
    """The pods listen on 0.0.0.0, where the server refuses to start without ADES_AUTH."""
    assert one(render(chart, {}), "ConfigMap", "ades")["data"]["ADES_AUTH"] == "none"
    objects = render(chart, values_of("calrissian"))
    config = one(objects, "ConfigMap", "ades")["data"]
    assert config["ADES_AUTH"] == "token"
    assert "ADES_ALLOW_UNCONTAINED" not in config  # tools run in pods of their own
    assert not [k for k in config if k.startswith("ADES_OIDC_")]
    api = one(objects, "Deployment", "ades-api")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(api)["ADES_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "ades-admin", "key": "token"}


def test_an_external_database_is_migrated_by_a_hook_before_install_and_upgrade(chart):
    job = one(render(chart, values_of("postgres-celery-redis")), "Job", "ades-db-upgrade")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["db", "upgrade"]
    # The hook runs before the release's ConfigMap exists: it must not need it.
    assert "envFrom" not in container
    assert "ADES_DATABASE_URL" in env_of(container)


def test_calrissian_gets_namespaced_least_privilege_roles(chart):
    objects = render(chart, values_of("calrissian"))
    assert not [o for o in objects if o["kind"].startswith("Cluster")]
    rules = {
        name: {(rule["apiGroups"][0], resource): sorted(rule["verbs"])
               for rule in one(objects, "Role", name)["rules"]
               for resource in rule["resources"]}
        for name in ("ades-runner", "ades-calrissian")
    }
    assert rules["ades-runner"] == {
        ("batch", "jobs"): sorted(["create", "get", "list", "watch", "delete"]),
        ("", "configmaps"): sorted(["create", "get", "delete"]),
        ("", "pods"): sorted(["get", "list", "watch", "delete"]),
        ("", "pods/log"): ["get"],
        ("", "events"): sorted(["get", "list", "watch"]),
    }
    assert rules["ades-calrissian"] == {
        ("", "pods"): sorted(["create", "get", "list", "watch", "delete"]),
        ("", "pods/log"): ["get"],
    }
    for name, account in (("ades-runner", "ades"), ("ades-calrissian", "ades-calrissian")):
        binding = one(objects, "RoleBinding", name)
        assert binding["metadata"]["namespace"] == NAMESPACE
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": name}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account,
                                        "namespace": NAMESPACE}]
    one(objects, "ServiceAccount", "ades-calrissian")


def test_calrissian_shares_one_read_write_many_volume_with_the_ades_pods(chart):
    objects = render(chart, values_of("calrissian"))
    claim = one(objects, "PersistentVolumeClaim", "ades-calrissian")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "nfs-client"
    config = one(objects, "ConfigMap", "ades")["data"]
    assert config["ADES_CWL_RUNNER"] == "calrissian"
    assert config["ADES_K8S_VOLUME_CLAIM"] == "ades-calrissian"
    assert config["ADES_K8S_NAMESPACE"] == NAMESPACE
    assert config["ADES_K8S_SERVICE_ACCOUNT"] == "ades-calrissian"
    assert config["ADES_CALRISSIAN_MAX_RAM"] == "16G"
    path = config["ADES_K8S_VOLUME_PATH"]
    for name in ("ades-api", "ades-worker"):
        pod = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is True  # the runner calls the API
        container = pod["containers"][0]
        assert {"name": "calrissian", "mountPath": path} in container["volumeMounts"]
        # Job working directories lie on the shared volume, one folder per pod.
        assert env_of(container)["ADES_DATA_DIR"]["value"] == f"{path}/pods/$(POD_NAME)"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_container_runs_as_non_root_on_a_read_only_root(chart, value_set):
    for pod, container in containers(render(chart, values_of(value_set))):
        assert pod["securityContext"]["runAsNonRoot"] is True
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["requests"]
        # What a read-only root leaves writable: /tmp (HOME) on a volume of the pod.
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert env_of(container)["HOME"]["value"] == "/tmp"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_chart_sets_only_settings_the_server_reads(chart, value_set):
    known = {f"ADES_{f.name.upper()}" for f in fields(Settings)}
    objects = render(chart, values_of(value_set))
    names = set(one(objects, "ConfigMap", "ades")["data"])
    for _, container in containers(objects):
        names |= {n for n in env_of(container) if n.startswith("ADES_")}
    assert names - known == set()


@pytest.mark.parametrize(
    ("values", "at"),
    [
        ({"executor": "threads"}, "at '/executor': value must be one of 'local', 'celery'"),
        ({"cwlRunner": "toil"}, "at '/cwlRunner'"),
        ({"api": {"replicas": 0}}, "at '/api/replicas': minimum: got 0, want 1"),
        ({"api": {"replicas": "three"}}, "at '/api/replicas'"),
        ({"replicas": 3}, "additional properties 'replicas' not allowed"),
        ({"extraSettings": {"SYNC_TIMEOUT": "5"}}, "invalid propertyName 'SYNC_TIMEOUT'"),
        ({"s3": {"endpoint": "s3.example.org"}}, "at '/s3/endpoint'"),
        ({"auth": {"mode": "jwt"}}, "at '/auth/mode': value must be one of"),
        ({"auth": {"oidc": {"issuer": "id.example.org"}}}, "at '/auth/oidc/issuer'"),
    ],
)
def test_the_values_schema_refuses_a_bad_value_naming_it(chart, values, at):
    with pytest.raises(helm.HelmValuesError) as refused:
        chart.validate_schema(values)
    assert at in str(refused.value)
    # An install checks the same schema before it renders anything.
    with pytest.raises(helm.HelmValuesError, match="schema"):
        chart.render(values, name="ades", namespace=NAMESPACE)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"executor": "celery"}, "executor: celery needs broker.existingSecret"),
        ({"executor": "celery", "broker": {"existingSecret": "b"}},
         "executor: celery needs database.existingSecret"),
        ({"executor": "celery", "broker": {"existingSecret": "b"},
          "database": {"existingSecret": "d"}}, "executor: celery needs s3.endpoint"),
        ({"api": {"replicas": 2}}, "api.replicas: 2 needs database.existingSecret and s3.endpoint"),
        ({"s3": {"endpoint": "https://s3.example.org"}}, "s3.existingSecret must name"),
        ({"auth": {"mode": "oidc", "oidc": {"issuer": "https://id.example.org"}}},
         "auth.mode: oidc needs auth.oidc.issuer and auth.oidc.audience"),
        ({"auth": {"mode": "token"}},
         "auth.mode: token with cwlRunner: cwltool runs every package without a container"),
        ({"worker": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}},
         "minReplicas is greater than"),
    ],
)
def test_values_that_cannot_work_together_are_refused_saying_why(chart, values, message):
    chart.validate_schema(values)  # each value is fine alone
    with pytest.raises(helm.HelmRenderError, match=message):
        chart.render(values, name="ades", namespace=NAMESPACE)
