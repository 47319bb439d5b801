"""make_runner: the CWL runner the settings choose, and errors naming the setting."""

from __future__ import annotations

import pytest

from ades.execution.calrissian.runner import CalrissianRunner
from ades.execution.cwltool_runner import CwltoolRunner
from ades.execution.runners import make_runner
from ades.settings import Settings

CALRISSIAN = {
    "ADES_CWL_RUNNER": "calrissian",
    "ADES_K8S_VOLUME_CLAIM": "ades-data",
    "ADES_K8S_VOLUME_PATH": "/data",
    "ADES_CALRISSIAN_MAX_RAM": "16Gi",
    "ADES_CALRISSIAN_MAX_CORES": "8",
    "ADES_K8S_SERVICE_ACCOUNT": "ades-calrissian",
    "ADES_K8S_UNSCHEDULABLE_GRACE": "15",
}


def test_cwltool_is_the_default() -> None:
    assert isinstance(make_runner(Settings.from_env({})), CwltoolRunner)


def test_calrissian_reads_its_settings_and_reaches_no_cluster_yet() -> None:
    runner = make_runner(Settings.from_env(CALRISSIAN))
    assert isinstance(runner, CalrissianRunner)
    assert runner.image == "ghcr.io/duke-gcb/calrissian/calrissian:0.18.1"
    assert (runner.caps.ram_mib, runner.caps.cores) == (16384, 8)
    assert runner.service_account == "ades-calrissian"
    assert runner.unschedulable_grace == 15.0


def test_an_unknown_runner_names_the_setting() -> None:
    with pytest.raises(ValueError, match="ADES_CWL_RUNNER='toil'"):
        make_runner(Settings.from_env({"ADES_CWL_RUNNER": "toil"}))


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("ADES_K8S_VOLUME_CLAIM", "ADES_K8S_VOLUME_CLAIM"),
        ("ADES_K8S_VOLUME_PATH", "ADES_K8S_VOLUME_PATH"),
    ],
)
def test_calrissian_without_its_volume_names_the_setting(unset: str, named: str) -> None:
    env = {k: v for k, v in CALRISSIAN.items() if k != unset}
    with pytest.raises(ValueError, match=named):
        make_runner(Settings.from_env(env))


def test_a_relative_volume_path_is_refused() -> None:
    with pytest.raises(ValueError, match="ADES_K8S_VOLUME_PATH.*'data'"):
        make_runner(Settings.from_env({**CALRISSIAN, "ADES_K8S_VOLUME_PATH": "data"}))


def test_a_bad_cap_names_the_setting() -> None:
    with pytest.raises(ValueError, match="ADES_CALRISSIAN_MAX_RAM='lots'"):
        make_runner(Settings.from_env({**CALRISSIAN, "ADES_CALRISSIAN_MAX_RAM": "lots"}))
