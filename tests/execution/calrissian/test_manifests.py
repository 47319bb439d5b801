"""The manifests a run submits, for packages of each kind, checked offline by
kubernetes-validate in strict mode (unknown fields are errors) for a current Kubernetes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml

from ades.execution.calrissian import manifests
from ades.execution.calrissian.resources import Resources, run_budget
from tests.execution.calrissian.fake_cluster import KUBERNETES_VERSION, validate

DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(__file__).resolve().parent.parent / "data"
CAPS = Resources(ram_mib=8192, cores=4)

# (package, entry): a tool, a $graph tool with a container hint, a workflow with a scatter
# and a ResourceRequirement, a subworkflow with a scatter, a tool with a ResourceRequirement.
PACKAGES = [
    (SHARED_DATA / "fail.cwl", None),
    (SHARED_DATA / "greet.cwl", "#main"),
    (DATA / "shout.cwl", "#main"),
    (SHARED_DATA / "scatter.cwl", "#main"),
    (DATA / "big_tool.cwl", None),
]


def spec_for(package: Path, entry: str | None, **changes: object) -> manifests.RunSpec:
    budget = run_budget(yaml.safe_load(package.read_text()), entry, CAPS)
    spec = manifests.RunSpec(
        name=manifests.job_name("0b6f3c1e-2d4a-4b8e-9a51-7f0c2e9d1a33", "a1b2c3"),
        namespace="ades",
        job_id="0b6f3c1e-2d4a-4b8e-9a51-7f0c2e9d1a33",
        workspace="alice",
        image="ghcr.io/duke-gcb/calrissian/calrissian:0.18.1",
        workdir=PurePosixPath("/data/ades/jobs/0b6f3c1e-2d4a-4b8e-9a51-7f0c2e9d1a33"),
        volume_claim="ades-data",
        volume_path=PurePosixPath("/data"),
        max_ram=budget.limits.ram_arg,
        max_cores=budget.limits.cores_arg,
        entry=entry,
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("package", "entry"), PACKAGES, ids=lambda p: getattr(p, "name", p))
def test_the_job_and_config_map_of_each_package_validate(package: Path, entry: str | None) -> None:
    spec = spec_for(package, entry)
    files = manifests.run_files(spec, package.read_text(), '{"words": ["a"]}')
    job = manifests.job(spec)
    validate(job)
    validate(manifests.config_map(spec, files, "5f1a0c2e-0000-4000-8000-000000000001"))
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--max-ram") + 1] == spec.max_ram
    assert args[args.index("--max-cores") + 1] == spec.max_cores


@pytest.mark.parametrize(
    "changes",
    [
        {"service_account": "ades-calrissian"},
        {"active_deadline": 3600},
        {"files_in_config_map": False},
        {"workspace": None},
        {"default_container": ""},
        {"skip_schemas": False},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_each_option_keeps_the_job_valid(changes: dict[str, object]) -> None:
    validate(manifests.job(spec_for(SHARED_DATA / "greet.cwl", "#main", **changes)))


def test_the_validator_is_strict_and_offline() -> None:
    job = manifests.job(spec_for(SHARED_DATA / "greet.cwl", "#main"))
    job["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicyy"):
        validate(job)
    assert kubernetes_validate.latest_version() >= KUBERNETES_VERSION


def test_the_job_runs_once_as_a_non_root_user() -> None:
    job = manifests.job(spec_for(SHARED_DATA / "greet.cwl", "#main", active_deadline=600))
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False


def test_the_shared_volume_is_mounted_where_the_server_has_it() -> None:
    spec = spec_for(SHARED_DATA / "greet.cwl", "#main", service_account="ades-calrissian")
    pod = manifests.job(spec)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "ades-data"}} in pod["volumes"]
    assert pod["serviceAccountName"] == "ades-calrissian"
    args = container["args"]
    work = str(spec.workdir)
    assert args[args.index("--outdir") + 1] == f"{work}/outputs"
    assert args[args.index("--tmp-outdir-prefix") + 1].startswith(f"{work}/tmp/")
    assert args[args.index("--stdout") + 1] == f"{work}/calrissian/outputs.json"
    assert args[args.index("--usage-report") + 1] == f"{work}/calrissian/usage.json"
    # The tool pods run the package's code: they get none of Calrissian's API rights.
    assert "--pod-serviceaccount" not in args


def test_files_on_the_volume_need_no_config_map() -> None:
    spec = spec_for(SHARED_DATA / "fail.cwl", None, files_in_config_map=False)
    pod = manifests.job(spec)["spec"]["template"]["spec"]
    assert not [v for v in pod["volumes"] if "configMap" in v]
    assert pod["containers"][0]["args"][-2:] == [
        f"{spec.workdir}/calrissian/package.cwl",
        f"{spec.workdir}/calrissian/job.json",
    ]


def test_the_config_map_is_owned_by_the_job_and_immutable() -> None:
    spec = spec_for(SHARED_DATA / "fail.cwl", None)
    config_map = manifests.config_map(spec, {"job.json": "{}"}, "uid-1")
    assert config_map["immutable"] is True
    [owner] = config_map["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", spec.name, "uid-1")


@pytest.mark.parametrize(
    "value",
    ["alice", "job/with spaces", "-leading-and-trailing-", "x" * 80, "ünïcode", "a..b"],
)
def test_label_values_are_valid_and_distinct(value: str) -> None:
    label = manifests.label_value(value)
    assert re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", label)
    assert len(label) <= 63
    assert label == value or label != manifests.label_value(value + "!")


@pytest.mark.parametrize("job_id", ["0b6f3c1e-2d4a", "Job_With.Upper", "x" * 100, "---"])
def test_job_names_are_dns_labels_short_enough_for_pod_names(job_id: str) -> None:
    name = manifests.job_name(job_id, "a1b2c3")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
    assert len(name) <= 52
    validate(manifests.job(spec_for(SHARED_DATA / "fail.cwl", None, name=name, job_id=job_id)))


def test_the_calrissian_pod_gets_no_environment_of_the_server() -> None:
    # The tool pods are Calrissian's: they get what cwltool gives a tool (HOME, TMPDIR and
    # the package's EnvVarRequirement), made from this pod's environment, which is this.
    pod = manifests.job(spec_for(SHARED_DATA / "greet.cwl", "#main"))["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert [e["name"] for e in container["env"]] == ["CALRISSIAN_POD_NAME", "HOME"]
    assert "envFrom" not in container
    assert pod["enableServiceLinks"] is False
    validate(manifests.job(spec_for(SHARED_DATA / "greet.cwl", "#main")))
