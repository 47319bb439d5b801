"""The workspaces folder and each workspace's settings.yaml, checked at start."""

import re

import pytest

from ades.errors import NoSuchWorkspace
from ades.workspaces import WorkspacePolicy, Workspaces


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("best_practice: always\n", "best_practice must be one of warn, error"),
        ("strictness: high\n", "unknown settings ['strictness']"),
        ("- a list\n", "expected a mapping"),
        ("best_practice: [\n", "not valid YAML"),
        ("max_running: -1\n", "max_running must be a whole number ≥ 0, got -1"),
        ("max_queued: many\n", "max_queued must be a whole number ≥ 0, got 'many'"),
        ("max_queued: true\n", "max_queued must be a whole number ≥ 0, got True"),
        ("s3_read: bucket\n", "s3_read must be a list of bucket names, got 'bucket'"),
        ("s3_read: ['']\n", "s3_read must be a list of bucket names"),
        ("cache: no-thanks\n", "cache must be true or false, got 'no-thanks'"),
        ("provenance: off-please\n", "provenance must be true or false, got 'off-please'"),
    ],
)
def test_workspace_settings_are_checked_at_start(tmp_path, content, named):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "settings.yaml").write_text(content)
    with pytest.raises(ValueError, match=re.escape(named)) as err:
        Workspaces(tmp_path)
    assert str(tmp_path / "alice" / "settings.yaml") in str(err.value)


def test_each_workspace_overrides_the_server_defaults(tmp_path):
    files = {
        "alice": "best_practice: error\nmax_running: 2\ns3_read: [public-data]\n",
        "bob": "",
        "dave": "max_queued: 0\ncache: false\nprovenance: false\n",
    }
    for name, content in files.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "settings.yaml").write_text(content)
    (tmp_path / "carol").mkdir()
    (tmp_path / ".git").mkdir()
    workspaces = Workspaces(tmp_path, WorkspacePolicy(max_running=4, max_queued=50))
    assert workspaces.names() == ["alice", "bob", "carol", "dave"]
    assert workspaces.policy("alice") == WorkspacePolicy("error", 2, 50, ("public-data",))
    assert workspaces.policy("bob") == workspaces.policy("carol") == WorkspacePolicy("warn", 4, 50)
    assert workspaces.policy("dave").max_queued == 0
    assert workspaces.policy("dave").cache is False
    assert workspaces.policy("alice").cache is True
    assert Workspaces(tmp_path, WorkspacePolicy(cache=False)).policy("alice").cache is False
    # Provenance is kept unless a workspace opts out; a workspace gone keeps the default.
    assert workspaces.provenance("dave") is False
    assert workspaces.provenance("alice") is workspaces.provenance("gone") is True


def test_an_unknown_workspace_is_named(tmp_path):
    with pytest.raises(NoSuchWorkspace, match="workspace 'nobody' does not exist"):
        Workspaces(tmp_path).policy("nobody")


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        Workspaces(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["-dash", "sp ace", "a" * 129, "é", "semi;colon"])
def test_a_folder_that_cannot_name_a_workspace_stops_the_start(tmp_path, name):
    (tmp_path / "alice").mkdir()
    (tmp_path / name).mkdir()
    with pytest.raises(ValueError, match="cannot name a workspace") as err:
        Workspaces(tmp_path)
    assert repr(name) in str(err.value)


def test_max_running_of_a_workspace_gone_is_no_limit(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "settings.yaml").write_text("max_running: 3\n")
    workspaces = Workspaces(tmp_path)
    assert workspaces.max_running("alice") == 3
    assert workspaces.max_running("bob") == 0
