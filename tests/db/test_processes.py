"""The store of deployed processes on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from ades.db.processes import DeployedPackage, ProcessStore
from ades.errors import DuplicatedProcess, NoSuchProcess


@pytest.fixture
def store(engine):
    return ProcessStore(engine)


def _package(workspace="ws", process_id="greet", text="cwl: 1", **kw) -> DeployedPackage:
    return DeployedPackage(workspace, process_id, kw.pop("alias", f"{process_id}-1_0"), text,
                           kw.pop("workflow_id", None), "app.cwl")


def test_add_get_and_find_by_alias(store):
    added = store.add(_package())
    assert (added.revision, added.package, added.source_name) == (1, "cwl: 1", "app.cwl")
    assert added.deployed.tzinfo is not None
    assert store.get("ws", "greet") == added
    assert store.find("ws", "greet-1_0") == added
    assert store.find("ws", "other") is None
    with pytest.raises(NoSuchProcess):
        store.get("ws", "greet-1_0")  # get takes the id only


def test_an_id_is_deployed_once_per_workspace(store):
    store.add(_package())
    with pytest.raises(DuplicatedProcess, match="'greet' is already deployed in workspace 'ws'"):
        store.add(_package(text="cwl: 2"))
    store.add(_package(workspace="other"))  # another workspace: another process
    assert [p.workspace for p in (store.get("ws", "greet"), store.get("other", "greet"))] == [
        "ws", "other"]
    assert store.get("ws", "greet").package == "cwl: 1"


def test_concurrent_deploys_of_one_id_make_one_process(store):
    outcomes: list[str] = []

    def deploy(n: int) -> None:
        try:
            store.add(_package(text=f"cwl: {n}"))
            outcomes.append("deployed")
        except DuplicatedProcess:
            outcomes.append("duplicated")

    threads = [threading.Thread(target=deploy, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["deployed"] + ["duplicated"] * 5


def test_replace_bumps_the_revision(store):
    store.add(_package())
    replaced = store.replace(_package(text="cwl: 2", workflow_id="main"))
    assert (replaced.revision, replaced.package, replaced.workflow_id) == (2, "cwl: 2", "main")
    assert replaced.updated >= replaced.deployed
    with pytest.raises(NoSuchProcess):
        store.replace(_package(process_id="absent"))


def test_remove_and_list(store):
    store.add(_package(process_id="b"))
    store.add(_package(process_id="a"))
    store.add(_package(workspace="other", process_id="c"))
    assert [p.process_id for p in store.list("ws")] == ["a", "b"]
    store.remove("ws", "a")
    assert [p.process_id for p in store.list("ws")] == ["b"]
    with pytest.raises(NoSuchProcess):
        store.remove("ws", "a")


def test_lookups_by_id_alias_and_workspace_are_read_off_indexes(store):
    from tests.db.conftest import plans_left_unbounded

    calls = [lambda: store.find("ws", "greet"), lambda: store.list("ws")]
    assert plans_left_unbounded(store.engine, calls) == {}
