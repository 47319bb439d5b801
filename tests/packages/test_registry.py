"""The registry of processes deployed from workspace folders at start-up."""

import shutil
from pathlib import Path

import pytest

from ades.errors import InvalidPackage, NoSuchProcess, NoSuchWorkspace
from ades.packages.registry import ProcessRegistry

DATA = Path(__file__).parent / "data"
WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


@pytest.fixture(scope="module")
def demo():
    return ProcessRegistry(WORKSPACES)


def deploy(workspaces: Path, workspace: str, *packages: Path) -> None:
    folder = workspaces / workspace / "processes"
    folder.mkdir(parents=True, exist_ok=True)
    for package in packages:
        shutil.copy(package, folder / package.name)


def test_the_demo_workspace(demo):
    assert demo.workspaces() == ["demo"]
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

    registry = ProcessRegistry(tmp_path)
    assert registry.workspaces() == ["alice", "bob", "carol"]
    assert [p.id for p in registry.list("alice")] == ["anonymous", "graph_main"]
    assert registry.get("bob", "slow").job_control == ("async-execute", "dismiss")
    assert registry.list("carol") == []
    with pytest.raises(NoSuchProcess):
        registry.get("bob", "graph_main")  # processes belong to their own workspace


def test_a_broken_package_stops_the_start_naming_its_file(tmp_path):
    deploy(tmp_path, "alice", DATA / "anonymous.cwl", DATA / "invalid.cwl")
    with pytest.raises(InvalidPackage) as caught:
        ProcessRegistry(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "alice" / "processes" / "invalid.cwl") in message
    assert "invalid.cwl:6:5:" in message


def test_two_packages_with_one_process_id(tmp_path):
    deploy(tmp_path, "alice", DATA / "anonymous.cwl")
    (tmp_path / "alice" / "processes" / "copy.cwl").write_text(
        (DATA / "anonymous.cwl").read_text().replace('"class"', '"id": "anonymous", "class"')
    )
    with pytest.raises(InvalidPackage, match="process id 'anonymous' is already used by"):
        ProcessRegistry(tmp_path)


def test_missing_workspaces_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ProcessRegistry(tmp_path / "nowhere")
