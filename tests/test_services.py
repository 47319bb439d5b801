"""build_services refuses an executor it cannot make, naming the setting, before it starts
anything (no data dir, no embedded S3)."""

from __future__ import annotations

import pytest

from ades.services import build_services
from ades.settings import Settings


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"executor": "dask"}, "ADES_EXECUTOR='dask'"),
        ({"executor": "celery"}, "ADES_BROKER_URL=''"),
        ({"executor": "celery", "broker_url": "http://broker:6379"},
         "ADES_BROKER_URL='http://broker:6379'"),
    ],
)
def test_an_executor_that_cannot_be_made_stops_the_start(tmp_path, changes, named):
    settings = Settings(data_dir=tmp_path / "data", workspaces=tmp_path, **changes)
    with pytest.raises(ValueError, match=named.replace("*", r"\*")):
        build_services(settings)
    assert not (tmp_path / "data").exists()
