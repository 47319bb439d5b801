"""--max-ram and --max-cores from a package's ResourceRequirements, within the caps."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ades.execution.calrissian.resources import Resources, caps_from, is_workflow, run_budget

CAPS = Resources(ram_mib=8192, cores=4)


def tool(requirement: dict[str, Any] | None = None, *, hint: bool = False) -> dict[str, Any]:
    process: dict[str, Any] = {"class": "CommandLineTool", "baseCommand": "true"}
    if requirement is not None:
        key = "hints" if hint else "requirements"
        process[key] = [{"class": "ResourceRequirement", **requirement}]
    return process


def workflow(*steps: dict[str, Any], requirement: dict[str, Any] | None = None) -> dict[str, Any]:
    process: dict[str, Any] = {
        "class": "Workflow",
        "steps": {f"s{i}": step for i, step in enumerate(steps)},
    }
    if requirement is not None:
        process["requirements"] = {"ResourceRequirement": requirement}
    return process


def limits(document: Any, entry: str | None = None, caps: Resources = CAPS) -> Resources:
    return run_budget(document, entry, caps).limits


def test_a_tool_without_requirement_gets_the_cwl_defaults() -> None:
    assert limits(tool()) == Resources(ram_mib=256, cores=1)


def test_a_tool_gets_its_max_else_its_min() -> None:
    assert limits(tool({"ramMin": 1024, "coresMin": 2})) == Resources(1024, 2)
    assert limits(tool({"ramMin": 1024, "ramMax": 3000, "coresMax": 3})) == Resources(3000, 3)
    assert limits(tool({"ramMin": 100.5, "coresMin": 0.5}, hint=True)) == Resources(101, 0.5)


def test_a_workflow_gets_the_sum_of_its_steps() -> None:
    document = workflow(
        {"run": tool({"ramMin": 1024, "coresMin": 1})},
        {"run": tool({"ramMin": 2048, "coresMin": 2})},
        {"run": {"class": "ExpressionTool", "expression": "${return {};}"}},
    )
    assert limits(document) == Resources(3072, 3)


def test_steps_inherit_the_workflow_requirement() -> None:
    document = workflow({"run": tool()}, {"run": tool()}, requirement={"ramMin": 512})
    assert limits(document) == Resources(1024, 2)


def test_a_graph_is_read_from_its_entry() -> None:
    document = {
        "$graph": [
            {"id": "#main", **workflow({"run": "#big"}, {"run": "#big"})},
            {"id": "big", **tool({"ramMin": 1000, "coresMin": 1})},
            {"id": "other", **tool({"ramMin": 5000})},
        ]
    }
    assert limits(document, "#main") == Resources(2000, 2)
    assert limits(document, "#other") == Resources(5000, 1)
    assert is_workflow(document, "#main") and not is_workflow(document, "#other")


def test_a_scatter_or_an_expression_gets_the_caps() -> None:
    scattered = workflow({"run": tool(), "scatter": "x"})
    expression = tool({"ramMin": "$(inputs.size * 2)"})
    assert limits(scattered) == CAPS
    assert limits(expression) == CAPS
    assert limits("not a CWL document") == CAPS


def test_the_caps_clip_what_a_package_asks() -> None:
    assert limits(tool({"ramMin": 100, "ramMax": 20000, "coresMax": 16})) == CAPS


def test_a_minimum_above_the_caps_is_reported() -> None:
    document = workflow({"run": {"id": "#huge", **tool({"ramMin": 9000})}, "scatter": "x"})
    budget = run_budget(document, None, CAPS)
    assert budget.too_big is not None and budget.too_big.startswith("'huge' needs at least 9000")
    assert run_budget(tool({"ramMin": 8192}), None, CAPS).too_big is None


def test_caps_are_read_as_kubernetes_quantities() -> None:
    assert caps_from("8G", "4") == Resources(ram_mib=7629, cores=4)
    assert caps_from("512Mi", "500m") == Resources(ram_mib=512, cores=0.5)
    assert caps_from("8G", "4").ram_arg == "7629Mi"
    assert caps_from("512Mi", "500m").cores_arg == "0.5"


@pytest.mark.parametrize(
    ("ram", "cores", "setting"),
    [
        ("8X", "4", "ADES_CALRISSIAN_MAX_RAM='8X'"),
        ("8G", "four", "ADES_CALRISSIAN_MAX_CORES='four'"),
        ("0", "4", "ADES_CALRISSIAN_MAX_RAM='0'"),
    ],
)
def test_a_bad_cap_names_its_setting(ram: str, cores: str, setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        caps_from(ram, cores)


def test_a_package_file_is_read_as_yaml() -> None:
    text = "cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  ResourceRequirement:\n" \
        "    coresMin: 2\nbaseCommand: 'true'\ninputs: []\noutputs: []\n"  # fmt: skip
    assert limits(yaml.safe_load(text)) == Resources(256, 2)
