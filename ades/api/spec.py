"""Mounting the OpenAPI contracts: ``openapi/ades.yaml`` describes one OGC workspace root;
the server serves it under ``/{workspace}/ogc-api`` and ``/{workspace}/wps3``. Each copy's
operations resolve to the same handlers, which receive the root they were called under.
``openapi/openeo.yaml`` is the openEO API of a workspace, served once under
``/{workspace}/openeo/1.2``. The ``x-server-paths`` of each contract (the server's own
``/``, openEO's version discovery) are served as they are."""

from __future__ import annotations

import copy
import functools
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name, is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError

ROOTS = ("ogc-api", "wps3")
# The openEO API's root under a workspace: its contract's paths are below it.
OPENEO_ROOT = "openeo/1.2"


def _spec_path(name: str) -> Path:
    """``openapi/{name}`` of the source tree, else where an install from a wheel puts it
    (setup.cfg's data_files): ``pip install .`` copies the package alone."""
    source = Path(__file__).resolve().parents[2] / "openapi" / name
    if source.exists():
        return source
    return Path(sys.prefix) / "share" / "ades" / "openapi" / name


SPEC_PATH = _spec_path("ades.yaml")
OPENEO_SPEC_PATH = _spec_path("openeo.yaml")
_METHODS = ("get", "put", "post", "delete", "patch")


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


SERVER_PATHS = "x-server-paths"


def root_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The contract of one workspace root, as its ``/api`` serves it: without the server's
    own paths, which are not under the root."""
    return {key: value for key, value in spec.items() if key != SERVER_PATHS}


def served_spec(spec: dict[str, Any], secured: bool) -> dict[str, Any]:
    """The contract as this server serves it: without authentication (ADES_AUTH=none) no
    operation requires the bearer scheme, and the contract does not say it does."""
    if secured:
        return spec
    out = copy.deepcopy(spec)
    out.pop("security", None)
    out.get("components", {}).pop("securitySchemes", None)
    for item in [*out["paths"].values(), *out.get(SERVER_PATHS, {}).values()]:
        for method in _METHODS:
            item.get(method, {}).pop("security", None)
    return out


_WORKSPACE = {"name": "workspace", "in": "path", "required": True, "schema": {"type": "string"}}


def mounted_spec(spec: dict[str, Any], openeo: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OGC contract repeated under each root, with a ``workspace`` path parameter, the
    openEO contract (when given) under its root, and the server's own paths beside them.
    The two contracts' components share one namespace: a name both define differently is
    a mistake in the files (ValueError)."""
    out = root_spec(copy.deepcopy(spec))
    out["servers"] = [{"url": "/"}]
    out["paths"] = copy.deepcopy(spec.get(SERVER_PATHS, {}))
    for root in ROOTS:
        for path, item in spec["paths"].items():
            item = _under_workspace(item)
            for method in _METHODS:
                if method in item:
                    item[method]["operationId"] += f"@{root}"
            out["paths"][f"/{{workspace}}/{root}{path.rstrip('/')}"] = item
    if openeo is not None:
        out["paths"].update(copy.deepcopy(openeo.get(SERVER_PATHS, {})))
        for path, item in openeo["paths"].items():
            out["paths"][f"/{{workspace}}/{OPENEO_ROOT}{path.rstrip('/')}"] = _under_workspace(item)
        _merge_components(out.setdefault("components", {}), openeo.get("components", {}))
    return out


def _under_workspace(item: dict[str, Any]) -> dict[str, Any]:
    item = copy.deepcopy(item)
    item["parameters"] = [_WORKSPACE, *item.get("parameters", [])]
    return item


def _merge_components(into: dict[str, Any], more: dict[str, Any]) -> None:
    for section, entries in more.items():
        have = into.setdefault(section, {})
        for name, entry in entries.items():
            if name in have and have[name] != entry:
                raise ValueError(f"components.{section}.{name} is defined twice, differently")
            have[name] = copy.deepcopy(entry)


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
        if value is None or (is_nullable(param) and is_null(value)):
            error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        else:
            error = _schema_error(param, value)
        if error and not error.startswith("Missing"):
            first = error.split("\n\n", 1)[0]
            return f"{parameter_type} parameter '{param['name']}': {first}"
        return error


# One validator per parameter of the contract, made at its first use: Connexion copies the
# schema and makes a validator on every request, a tenth of a cheap request's time. Keyed by
# the parameter's identity (it lives as long as the app) and holding it, so the key stays its.
_PARAMETER_VALIDATORS: dict[int, tuple[dict, Draft4Validator]] = {}


def _schema_error(param: dict, value: Any) -> str | None:
    """What Connexion says of a value its parameter's schema refuses; None when it passes."""
    kept = _PARAMETER_VALIDATORS.get(id(param))
    if kept is None or kept[0] is not param:
        schema = copy.deepcopy(param.get("schema", param))
        kept = (param, Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
        _PARAMETER_VALIDATORS[id(param)] = kept
    try:
        kept[1].validate(value)
    except ValidationError as err:
        return str(err)
    return None


class NamedJSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body checks, saying that it is the body that is not JSON. Connexion
    lets bytes that are not text in the declared charset, an unknown charset and nesting
    deeper than the parser recurses escape as 500s: each is the client's body, so a 400; so
    is what the handlers could not take from a parsed body (see ``_refusal``)."""

    async def _parse(self, stream, scope):  # type: ignore[override]
        try:
            body = await super()._parse(stream, scope)
        except BadRequestProblem as err:
            raise BadRequestProblem(
                detail=f"the request body is not valid JSON: {err.detail}"
            ) from err
        except UnicodeDecodeError as err:
            raise BadRequestProblem(
                detail=f"the request body is not {err.encoding} text: {err.reason} at byte "
                f"{err.start}"
            ) from err
        except LookupError as err:
            raise BadRequestProblem(
                detail=f"the request body's charset is unknown: {self._encoding}"
            ) from err
        except RecursionError as err:
            raise BadRequestProblem(
                detail="the request body is not valid JSON: it nests too deeply"
            ) from err
        refusal = _refusal(body)
        if refusal:
            raise BadRequestProblem(detail=f"the request body {refusal}")
        return body

    def _validate(self, body):  # type: ignore[override]
        try:
            return super()._validate(body)
        except BadRequestProblem as err:
            # jsonschema's "[1] is not of type 'object'" does not say what [1] is.
            raise BadRequestProblem(detail=f"the request body: {err.detail}") from err


# How deep a JSON request body may nest. Execute requests and CWL documents nest a few
# levels; the handlers, the schema checks and the job store walk bodies recursively, and a
# body nested near the parser's own limit would exhaust their stack (a 500).
MAX_JSON_DEPTH = 64


def _refusal(body: Any) -> str | None:
    """What in a parsed JSON body no handler can take, said for the client; None if all is
    well. Walked without recursion, for the reason of MAX_JSON_DEPTH. Python's parser reads
    NaN, Infinity and 1e999 (JSON has no such numbers: PostgreSQL refuses to store them);
    a NUL cannot reach a command line, and PostgreSQL cannot store it in a text column."""
    found = _bad_scalar(body)
    if found:
        return f"holds {found} at '(the body)'"
    # Containers only: a body of a million numbers is walked without a path for each.
    stack: list[tuple[Any, str, int]] = [(body, "", 1)] if isinstance(body, dict | list) else []
    while stack:
        container, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"nests deeper than {MAX_JSON_DEPTH} levels (at '{path}')"
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, child in pairs:
            found = _bad_scalar(key) if isinstance(key, str) else None
            found = found or _bad_scalar(child)
            if found or isinstance(child, dict | list):
                inside = (
                    f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
                )
                if found:
                    return f"holds {found} at '{inside}'"
                stack.append((child, inside, depth + 1))
    return None


def _bad_scalar(value: Any) -> str | None:
    if isinstance(value, str) and "\x00" in value:
        return "a NUL character (U+0000)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"a number JSON does not have ({value})"
    return None


VALIDATORS = {
    "parameter": NamedParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": NamedJSONBodyValidator}),
}
