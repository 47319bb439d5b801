"""The checks made at deploy: can the package run here, and does it follow the Best
Practice for EO Application Packages."""

from pathlib import Path

import pytest

from ades.errors import InvalidPackage
from ades.packages.checks import best_practice_warnings, check_locations, check_runnable
from ades.packages.load import load_package

PACKAGES = Path(__file__).resolve().parents[1] / "api" / "data" / "packages"


def loaded(name: str, text: str | None = None):
    document = text if text is not None else PACKAGES / f"{name}.cwl"
    return load_package(document, "ws", source_name=f"{name}.cwl")


def test_a_required_container_needs_an_engine():
    package = loaded("boxed")
    with pytest.raises(InvalidPackage) as caught:
        check_runnable(package.tool, "none")
    assert "DockerRequirement under 'requirements'" in str(caught.value)
    for engine in ("docker", "podman", "singularity"):
        check_runnable(package.tool, engine)


def test_a_container_required_by_the_workflow_is_required_by_its_tools():
    text = (PACKAGES / "snuggs.cwl").read_text().replace(
        "    requirements:\n      ScatterFeatureRequirement: {}",
        "    requirements:\n      DockerRequirement: {dockerPull: 'alpine:3'}\n"
        "      ScatterFeatureRequirement: {}",
    )
    with pytest.raises(InvalidPackage, match="'snuggs' has a DockerRequirement"):
        check_runnable(loaded("snuggs", text).tool, "none")


def test_a_container_hint_runs_without_an_engine():
    check_runnable(loaded("tidy").tool, "none")


def test_a_package_that_follows_the_best_practice_has_no_warnings():
    package = loaded("tidy")
    assert best_practice_warnings(package.tool, package.process) == []


def test_each_broken_rule_is_one_warning_naming_where():
    package = loaded("greet")
    warnings = best_practice_warnings(package.tool, package.process)
    assert warnings == [
        "the entry point 'greet' is a CommandLineTool, not a Workflow: the Best Practice "
        "wants a Workflow as the application's entry point",
        "no output is a Directory: the Best Practice stages results out as a Directory "
        "holding a STAC catalog",
        "CommandLineTool 'greet' names no container image (DockerRequirement): the Best "
        "Practice wants each tool to run in a container",
    ]


def test_file_inputs_and_outputs_and_a_missing_version_are_warned():
    text = (PACKAGES / "tidy.cwl").read_text().replace("s:softwareVersion: 2.0.1\n", "")
    package = loaded("tidy", text.replace("Directory", "File"))
    warnings = best_practice_warnings(package.tool, package.process)
    assert [w.split(":")[0] for w in warnings] == [
        "input 'source' is a File",
        "output 'copied' is a File",
        "no output is a Directory",
        "the package has no s",
    ]


STEP_DEFAULT = """\
cwlVersion: v1.2
class: Workflow
id: main
inputs: []
outputs: []
steps:
  show:
    in:
      f: {default: {class: File, location: "file:///etc/hostname"}}
    out: []
    run:
      class: CommandLineTool
      baseCommand: cat
      inputs:
        f: {type: File, inputBinding: {position: 1}}
      outputs: []
"""

DEFAULTS = """\
cwlVersion: v1.2
class: CommandLineTool
id: main
baseCommand: cat
inputs:
  remote: {type: File, default: {class: File, location: "https://example.org/a.txt"}}
  stored: {type: File, default: {class: File, location: "s3://bucket/b.txt"}}
  literal: {type: File, default: {class: File, basename: c.txt, contents: "c"}}
outputs: []
"""


def test_a_file_of_this_machine_as_a_step_default_is_refused():
    with pytest.raises(InvalidPackage, match="file:///etc/hostname") as caught:
        check_locations(loaded("leak", STEP_DEFAULT).tool)
    assert "'f' has a File at" in str(caught.value)


def test_data_over_https_or_s3_and_literal_contents_pass():
    check_locations(loaded("fine", DEFAULTS).tool)
    for name in ("snuggs", "greet", "tidy", "boxed"):
        check_locations(loaded(name).tool)
