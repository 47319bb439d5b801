"""Settings from ADES_* variables, and the container engine reaching the runner."""

import pytest

from ades.app import create_app
from ades.settings import Settings


def test_container_engine_defaults_to_none_and_comes_from_the_environment():
    assert Settings().container_engine == "none"
    assert Settings.from_env({"ADES_CONTAINER_ENGINE": "podman"}).container_engine == "podman"


def test_the_server_runs_packages_with_the_configured_engine(seaweedfs, tmp_path):
    (tmp_path / "workspaces" / "ws").mkdir(parents=True)
    settings = Settings(
        data_dir=tmp_path / "data",
        workspaces=tmp_path / "workspaces",
        s3_endpoint=seaweedfs.endpoint,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key,
        container_engine="singularity",
    )
    server = create_app(settings)
    try:
        assert server.services.processes.container_engine == "singularity"
        assert server.services.jobs.executor.run.runner.container_engine == "singularity"
    finally:
        server.close()


def test_an_unknown_engine_stops_the_start(seaweedfs, tmp_path):
    (tmp_path / "workspaces").mkdir()
    settings = Settings(data_dir=tmp_path / "data", workspaces=tmp_path / "workspaces",
                        s3_endpoint="http://127.0.0.1:9", container_engine="lxc")
    with pytest.raises(ValueError, match="unknown container engine 'lxc'"):
        create_app(settings)


def test_relative_paths_are_made_absolute_once_from_the_starting_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"ADES_DATA_DIR": "state"}, workspaces=None)
    assert settings.data_dir == tmp_path.resolve() / "state"
    assert settings.workspaces == tmp_path.resolve() / "workspaces"
    monkeypatch.chdir("/")
    assert settings.data_dir == tmp_path.resolve() / "state"  # not taken again later


def test_the_calrissian_settings_come_from_the_environment():
    settings = Settings.from_env({
        "ADES_CWL_RUNNER": "calrissian",
        "ADES_K8S_NAMESPACE": "ades",
        "ADES_CALRISSIAN_IMAGE": "registry.example/calrissian:0.18.1",
        "ADES_K8S_VOLUME_CLAIM": "ades-data",
        "ADES_K8S_VOLUME_PATH": "/data",
        "ADES_CALRISSIAN_MAX_RAM": "16Gi",
        "ADES_CALRISSIAN_MAX_CORES": "8",
        "ADES_K8S_SERVICE_ACCOUNT": "ades-calrissian",
        "ADES_K8S_UNSCHEDULABLE_GRACE": "20",
    })
    assert (settings.cwl_runner, settings.k8s_namespace) == ("calrissian", "ades")
    assert settings.calrissian_image == "registry.example/calrissian:0.18.1"
    assert (settings.k8s_volume_claim, settings.k8s_volume_path) == ("ades-data", "/data")
    assert (settings.calrissian_max_ram, settings.calrissian_max_cores) == ("16Gi", "8")
    assert settings.k8s_service_account == "ades-calrissian"
    assert settings.k8s_unschedulable_grace == 20.0
    with pytest.raises(ValueError, match="ADES_K8S_UNSCHEDULABLE_GRACE='soon'"):
        Settings.from_env({"ADES_K8S_UNSCHEDULABLE_GRACE": "soon"})
