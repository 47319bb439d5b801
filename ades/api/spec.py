"""Mounting the OpenAPI contract: ``openapi/ades.yaml`` describes one workspace root; the
server serves it under ``/{workspace}/ogc-api`` and ``/{workspace}/wps3``. Each copy's
operations resolve to the same handlers, which receive the root they were called under.
Its ``x-server-paths`` (the server's own ``/``) are served once, as they are."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator

ROOTS = ("ogc-api", "wps3")
SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "ades.yaml"
_METHODS = ("get", "put", "post", "delete", "patch")


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


SERVER_PATHS = "x-server-paths"


def root_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The contract of one workspace root, as its ``/api`` serves it: without the server's
    own paths, which are not under the root."""
    return {key: value for key, value in spec.items() if key != SERVER_PATHS}


def mounted_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The contract repeated under each root, with a ``workspace`` path parameter, and the
    server's own paths beside them."""
    workspace = {"name": "workspace", "in": "path", "required": True, "schema": {"type": "string"}}
    out = root_spec(copy.deepcopy(spec))
    out["servers"] = [{"url": "/"}]
    out["paths"] = copy.deepcopy(spec.get(SERVER_PATHS, {}))
    for root in ROOTS:
        for path, item in spec["paths"].items():
            item = copy.deepcopy(item)
            item["parameters"] = [workspace, *item.get("parameters", [])]
            for method in _METHODS:
                if method in item:
                    item[method]["operationId"] += f"@{root}"
            out["paths"][f"/{{workspace}}/{root}{path.rstrip('/')}"] = item
    return out


def _bind_root(operation_id: str) -> Callable[..., Any]:
    name, _, root = operation_id.partition("@")
    handler = get_function_from_name(name)
    if not root:
        return handler  # a path of the server, under no root

    @functools.wraps(handler)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return handler(*args, root=root, **kwargs)

    return bound


resolver = Resolver(function_resolver=_bind_root)


class NamedParameterValidator(ParameterValidator):
    """Connexion's parameter checks, with messages that name the parameter at fault."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):  # type: ignore[override]
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if error and not error.startswith("Missing"):
            first = error.split("\n\n", 1)[0]
            return f"{parameter_type} parameter '{param['name']}': {first}"
        return error


class NamedJSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body checks, saying that it is the body that is not JSON."""

    async def _parse(self, stream, scope):  # type: ignore[override]
        try:
            return await super()._parse(stream, scope)
        except BadRequestProblem as err:
            raise BadRequestProblem(
                detail=f"the request body is not valid JSON: {err.detail}"
            ) from err


VALIDATORS = {
    "parameter": NamedParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": NamedJSONBodyValidator}),
}
