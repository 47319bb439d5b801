"""What a client sends is bounded before it is parsed further: a package's YAML (alias
bombs, nesting), the size of a package read by href, JSON bodies nested too deeply. Each
refusal is a 400 naming the problem, never a 5xx or a stalled server."""

import json

import pytest

from ades.packages.bounds import MAX_DEPTH, MAX_NODES
from ades.packages.source import MAX_PACKAGE_BYTES
from tests.api.deploying import OGC1, package, unique
from tests.packages.test_bounds import bomb, nested

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def deploy(live, body, content_type, workspace="lab"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return live.post(f"/{workspace}/ogc-api/processes", data=data,
                     headers={"Content-Type": content_type})


def assert_problem(r, status, type_uri, *named):
    assert r.status_code == status, r.text
    problem = r.json()
    assert set(problem) >= PROBLEM_KEYS
    assert problem["type"] == type_uri
    for name in named:
        assert name in problem["detail"], problem["detail"]
    return problem


def test_an_alias_bomb_package_is_400(live):
    text = package("greet", unique("greet")) + bomb()
    r = deploy(live, text, "application/cwl+yaml")
    assert_problem(r, 400, OGC1 + "invalid-package", "package.cwl: line ",
                   f"more than {MAX_NODES} nodes through its YAML aliases")


def test_an_alias_bomb_linked_from_an_application_package_is_400(live):
    objects = live.server.services.objects
    key = f"lab/packages/{unique('bomb')}.cwl"
    objects.put_bytes((package("greet", unique("greet")) + bomb()).encode(), key)
    body = {"executionUnit": {"href": objects.uri(key), "type": "application/cwl+yaml"}}
    r = deploy(live, body, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-package", key.rsplit("/", 1)[1], "YAML aliases")


def test_a_package_nested_too_deep_is_400(live):
    text = package("greet", unique("greet")) + "s:" + nested(MAX_DEPTH + 10)[4:]
    r = deploy(live, text, "application/cwl+yaml")
    assert_problem(r, 400, OGC1 + "invalid-package", "package.cwl: line ",
                   f"nested deeper than {MAX_DEPTH} levels")


def test_a_package_larger_than_the_cap_in_s3_is_400_unread(live):
    objects = live.server.services.objects
    key = f"lab/packages/{unique('huge')}.cwl"
    objects.put_bytes(b"#" * (MAX_PACKAGE_BYTES + 1), key)
    body = {"executionUnit": {"href": objects.uri(key)}}
    r = deploy(live, body, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-package", key, "larger than 10 MiB")


def test_a_deploy_body_nested_too_deeply_is_400(live):
    body = '{"executionUnit": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = deploy(live, body, "application/ogcapppkg+json")
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", "nests too deeply")


def test_an_execute_body_nested_too_deeply_is_400(live):
    body = '{"inputs": {"stringInput": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    r = live.post("/demo/ogc-api/processes/echo/execution", data=body,
                  headers={"Content-Type": "application/json"})
    assert_problem(r, 400, OGC1 + "invalid-parameter-value", "nests too deeply")


@pytest.mark.parametrize(
    ("kind", "parameter"),
    [("output", ".."), ("output", "a b"), ("input", "."), ("input", "x y")],
)
def test_an_input_or_output_id_that_cannot_be_a_key_is_400(live, kind, parameter):
    pid = unique("odd")
    entry = "inputs: []\noutputs:\n  \"{p}\": {{type: stdout}}\n" if kind == "output" else (
        "inputs:\n  \"{p}\": string\noutputs: []\n"
    )
    text = (f"cwlVersion: v1.2\nclass: CommandLineTool\nid: {pid}\nbaseCommand: echo\n"
            + entry.format(p=parameter))
    r = deploy(live, text, "application/cwl+yaml")
    assert_problem(r, 400, OGC1 + "invalid-package", f"{kind} id '{parameter}' cannot name")
    assert live.get(f"/lab/ogc-api/processes/{pid}").status_code == 404
