"""The registry of processes: those installed from workspace folders at start-up, and
those deployed through the service layer into the database."""

import shutil
from pathlib import Path

import pytest

from ades.db.processes import DeployedPackage, ProcessStore
from ades.errors import ImmutableProcess, InvalidPackage, NoSuchProcess, NoSuchWorkspace
from ades.packages.registry import ProcessRegistry
from ades.packages.source import PackageReader
from ades.workspaces import Workspaces
from tests.db.conftest import ready_engine

DATA = Path(__file__).parent / "data"
WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"
PACKAGES = Path(__file__).resolve().parents[1] / "api" / "data" / "packages"


@pytest.fixture(scope="module")
def demo():
    return ProcessRegistry(Workspaces(WORKSPACES))


def deploy(workspaces: Path, workspace: str, *packages: Path) -> None:
    folder = workspaces / workspace / "processes"
    folder.mkdir(parents=True, exist_ok=True)
    for package in packages:
        shutil.copy(package, folder / package.name)


def test_the_demo_workspace(demo):
    assert demo.workspaces.names() == ["demo"]
    assert demo.has_workspace("demo")
    assert not demo.has_workspace("other")
    assert [p.id for p in demo.list("demo")] == ["echo", "ndvi"]
    echo = demo.get("demo", "echo")
    assert (echo.workspace, echo.mutable, echo.version) == ("demo", False, "1.0.0")


def test_unknown_workspace(demo):
    with pytest.raises(NoSuchWorkspace, match="workspace 'other' does not exist"):
        demo.list("other")
    with pytest.raises(NoSuchWorkspace):
        demo.get("other", "echo")


def test_unknown_process(demo):
    with pytest.raises(NoSuchProcess, match="process 'nope' is not deployed in workspace 'demo'"):
        demo.get("demo", "nope")


def test_each_subfolder_is_a_workspace(tmp_path):
    deploy(tmp_path, "alice", DATA / "graph_main.cwl", DATA / "anonymous.cwl")
    deploy(tmp_path, "bob", DATA / "async_only.cwl")
    (tmp_path / "carol").mkdir()  # a workspace with nothing deployed yet
    (tmp_path / ".git").mkdir()
    (tmp_path / "notes.txt").write_text("not a workspace")
    (tmp_path / "alice" / "processes" / "README.md").write_text("not a package")

    registry = ProcessRegistry(Workspaces(tmp_path))
    assert registry.workspaces.names() == ["alice", "bob", "carol"]
    assert [p.id for p in registry.list("alice")] == ["anonymous", "graph_main"]
    assert registry.get("bob", "slow").job_control == ("async-execute", "dismiss")
    assert registry.list("carol") == []
    with pytest.raises(NoSuchProcess):
        registry.get("bob", "graph_main")  # processes belong to their own workspace


def test_a_broken_package_stops_the_start_naming_its_file(tmp_path):
    deploy(tmp_path, "alice", DATA / "anonymous.cwl", DATA / "invalid.cwl")
    with pytest.raises(InvalidPackage) as caught:
        ProcessRegistry(Workspaces(tmp_path))
    message = str(caught.value)
    assert str(tmp_path / "alice" / "processes" / "invalid.cwl") in message
    assert "invalid.cwl:6:5:" in message


def test_two_packages_with_one_process_id(tmp_path):
    deploy(tmp_path, "alice", DATA / "anonymous.cwl")
    (tmp_path / "alice" / "processes" / "copy.cwl").write_text(
        (DATA / "anonymous.cwl").read_text().replace('"class"', '"id": "anonymous", "class"')
    )
    with pytest.raises(InvalidPackage, match="process id 'anonymous' is already used by"):
        ProcessRegistry(Workspaces(tmp_path))


def test_installed_processes_answer_to_their_eoepca_alias(demo):
    assert demo.get("demo", "echo-1_0_0").id == "echo"


def test_deploy_replace_undeploy_in_the_service_layer(tmp_path, object_store):
    (tmp_path / "ws").mkdir()
    engine = ready_engine(f"sqlite:///{tmp_path / 'ades.db'}")
    registry = ProcessRegistry(
        Workspaces(tmp_path), ProcessStore(engine), PackageReader(object_store)
    )
    text = (PACKAGES / "greet.cwl").read_text()
    deployment = registry.deploy("ws", "application/cwl+yaml", text.encode())
    assert (deployment.process.id, deployment.process.mutable) == ("greet", True)
    assert registry.get("ws", "greet-0_1_0") is registry.get("ws", "greet")  # described once
    registry.replace("ws", "greet", "application/cwl", text.replace("Hello", "Hi").encode())
    assert registry.get("ws", "greet").inputs[0].default == "Hi"
    # Another replica on the same database sees the new revision.
    other = ProcessRegistry(Workspaces(tmp_path), ProcessStore(engine), PackageReader(object_store))
    assert other.get("ws", "greet").inputs[0].default == "Hi"
    registry.undeploy("ws", "greet")
    with pytest.raises(NoSuchProcess):
        other.get("ws", "greet")
    assert registry.list("ws") == []


def test_a_stored_package_that_no_longer_loads_does_not_hide_the_others(tmp_path, object_store):
    (tmp_path / "ws").mkdir()
    store = ProcessStore(ready_engine(f"sqlite:///{tmp_path / 'ades.db'}"))
    registry = ProcessRegistry(Workspaces(tmp_path), store, PackageReader(object_store))
    registry.deploy("ws", "application/cwl", (PACKAGES / "greet.cwl").read_text().encode())
    store.add(DeployedPackage("ws", "rotten", None, "cwlVersion: v1.2\nclass: Nope\n", None,
                              "rotten.cwl"))
    assert [p.id for p in registry.list("ws")] == ["greet"]
    with pytest.raises(InvalidPackage, match="rotten.cwl"):
        registry.get("ws", "rotten")
    registry.undeploy("ws", "rotten")  # its owner can still get rid of it
    assert store.find("ws", "rotten") is None


def test_installed_processes_are_immutable_by_id_and_by_alias(demo):
    for name in ("echo", "echo-1_0_0"):
        with pytest.raises(ImmutableProcess, match="'echo'"):
            demo.undeploy("demo", name)
    with pytest.raises(NoSuchProcess):
        demo.undeploy("demo", "nope")
