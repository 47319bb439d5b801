"""What a deploy or replace request carries, turned into CWL text: the package itself
(``application/cwl+yaml``, ``+json``, ``application/cwl``), or an OGC application package
(``application/ogcapppkg+json``, or the EOEPCA ``application/json`` body) whose execution
unit holds the CWL inline or links to it over http(s) or s3."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlparse

import requests

from ades.errors import InvalidPackage, InvalidRequest
from ades.fetching import FetchPolicy, FetchRefused
from ades.objectstore.store import ObjectStore
from ades.packages.load import job_control_options

CWL_MEDIA_TYPES = ("application/cwl", "application/cwl+yaml", "application/cwl+json")
APP_PACKAGE = "application/ogcapppkg+json"
JSON = "application/json"
# Media types an execution unit may declare for its CWL (YAML ones included: users write them).
_UNIT_TYPES = (*CWL_MEDIA_TYPES, JSON, "application/yaml", "application/x-yaml", "text/yaml")
HREF_SCHEMES = ("http", "https", "s3")
INLINE_NAME = "package.cwl"
# A package is a text document; anything larger is not one.
MAX_PACKAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class PackageSource:
    """CWL text, the name it goes by in messages (the href's file name when it was
    fetched), the $graph entry asked for (None: let the loader pick) and where it came from."""

    text: str
    name: str = INLINE_NAME
    workflow_id: str | None = None
    href: str | None = None
    # The id an application package's processDescription gives the process, if any.
    declared_id: str | None = None
    # The jobControlOptions its processDescription gives (None: as the package says).
    job_control: tuple[str, ...] | None = None


class PackageReader:
    """Reads request bodies into PackageSources, fetching linked packages."""

    def __init__(
        self, objects: ObjectStore, timeout: float = 30.0, policy: FetchPolicy | None = None
    ):
        """``policy`` says where hrefs may lead (by default the embedded one's)."""
        self.objects = objects
        self.timeout = timeout
        self.http = (policy or FetchPolicy.open()).session()

    def read(
        self,
        media_type: str,
        body: bytes,
        workflow_id: str | None = None,
        workspace: str | None = None,
    ) -> PackageSource:
        """``media_type`` is the request's Content-Type; ``workflow_id`` its ``w`` query;
        ``workspace`` the one deploying, whose prefix of the bucket alone an s3 href may
        name (None: any key, for the server's own use)."""
        media_type = media_type.split(";", 1)[0].strip().lower()
        if media_type in CWL_MEDIA_TYPES:
            return PackageSource(_text(body, "the request body"), workflow_id=workflow_id)
        document = _json_object(body)
        if media_type == JSON and "executionUnit" not in document and "cwlVersion" in document:
            # Plain CWL sent as JSON: take it as such rather than refuse it.
            return PackageSource(json.dumps(document), workflow_id=workflow_id)
        if "executionUnit" not in document:
            raise InvalidRequest(
                "the application package has no 'executionUnit': it must hold the CWL "
                "inline ({'value': ..., 'mediaType': ...}) or link to it ({'href': ...})"
            )
        source = self._unit(_one_unit(document["executionUnit"]), workflow_id, workspace)
        description = document.get("processDescription")
        return replace(
            source,
            declared_id=_declared_id(description),
            job_control=_declared_job_control(description),
        )

    def _unit(
        self, unit: Mapping[str, Any], workflow_id: str | None, workspace: str | None
    ) -> PackageSource:
        if "href" in unit:
            _check_unit_type(unit.get("type"), "type")
            return self._linked(unit["href"], workflow_id, workspace)
        if "value" in unit:
            _check_unit_type(unit.get("mediaType"), "mediaType")
            value = unit["value"]
            if isinstance(value, Mapping):
                return PackageSource(json.dumps(value), workflow_id=workflow_id)
            if isinstance(value, str):
                return PackageSource(value, workflow_id=workflow_id)
            raise InvalidRequest(
                "executionUnit 'value' must be the CWL as an object or as YAML/JSON text"
            )
        kind = unit.get("type")
        if kind in ("docker", "oci"):
            raise InvalidRequest(
                f"executionUnit of type '{kind}' (a bare container image) is not supported: "
                "deploy a CWL application package"
            )
        raise InvalidRequest(
            "executionUnit must be a link ({'href': ...}) or a qualified value ({'value': ...})"
        )

    def _linked(self, href: Any, workflow_id: str | None, workspace: str | None) -> PackageSource:
        if not isinstance(href, str) or not href.strip():
            raise InvalidRequest("executionUnit 'href' must be a URL")
        url = urlparse(href)
        if url.scheme not in HREF_SCHEMES:
            raise InvalidRequest(
                f"executionUnit href '{href}': scheme '{url.scheme or '(none)'}' is not "
                f"supported; use {', '.join(HREF_SCHEMES)}"
            )
        fragment = unquote(url.fragment) or None
        if fragment and workflow_id and fragment.lstrip("#") != workflow_id.lstrip("#"):
            raise InvalidRequest(
                f"the href names workflow '{fragment}' but the query parameter w names "
                f"'{workflow_id}'"
            )
        location = url._replace(fragment="").geturl()
        if url.scheme == "s3":
            data = self._fetch_s3(location, url, workspace)
        else:
            data = self._fetch_http(location)
        name = unquote(url.path.rstrip("/").rsplit("/", 1)[-1]) or INLINE_NAME
        return PackageSource(_text(data, f"'{location}'"), name, fragment or workflow_id, href)

    def _fetch_http(self, location: str) -> bytes:
        try:
            with self.http.get(location, timeout=self.timeout, stream=True) as response:
                if response.status_code != 200:
                    raise InvalidPackage(
                        f"cannot fetch the package '{location}': HTTP {response.status_code}"
                    )
                data = response.raw.read(MAX_PACKAGE_BYTES + 1, decode_content=True)
        except FetchRefused as exc:
            raise InvalidPackage(f"cannot fetch the package '{location}': {exc}") from None
        except requests.RequestException as exc:
            raise InvalidPackage(f"cannot fetch the package '{location}': {exc}") from exc
        if len(data) > MAX_PACKAGE_BYTES:
            raise InvalidPackage(f"the package '{location}' is larger than 10 MiB")
        return data

    def _fetch_s3(self, location: str, url: Any, workspace: str | None) -> bytes:
        bucket, key = url.netloc, unquote(url.path.lstrip("/"))
        if bucket != self.objects.bucket:
            raise InvalidRequest(
                f"executionUnit href '{location}': only packages in this server's bucket "
                f"(s3://{self.objects.bucket}/...) can be read"
            )
        # The same rule as for s3:// inputs: a workspace reads its own prefix only.
        if workspace is not None and not key.startswith(f"{workspace}/"):
            raise InvalidRequest(
                f"executionUnit href '{location}': lies outside workspace '{workspace}' in "
                f"the bucket (s3://{bucket}/{workspace}/...)"
            )
        try:
            stream = self.objects.open(key)
        except KeyError:
            raise InvalidPackage(f"cannot fetch the package '{location}': no such object") from None
        if stream.length > MAX_PACKAGE_BYTES:
            # Told by its size, before a byte of it is read.
            raise InvalidPackage(f"the package '{location}' is larger than 10 MiB")
        return b"".join(stream.chunks)


def cwl_media_type(text: str) -> str:
    """How to serve CWL text as deployed: JSON stays JSON, anything else is YAML."""
    try:
        json.loads(text)
    except ValueError:
        return "application/cwl+yaml"
    return "application/cwl+json"


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPackage(f"{what} is not UTF-8 text: {exc}") from exc


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return document


def _declared_id(description: Any) -> str | None:
    """``processDescription.process.id`` (the Part 2 schema) or ``processDescription.id``."""
    if not isinstance(description, Mapping):
        return None
    process = description.get("process")
    found = process.get("id") if isinstance(process, Mapping) else description.get("id")
    return str(found) if found is not None else None


def _declared_job_control(description: Any) -> tuple[str, ...] | None:
    """``jobControlOptions`` of ``processDescription.process`` or of ``processDescription``,
    checked as the ades:JobControl hint is; None when it gives none."""
    if not isinstance(description, Mapping):
        return None
    process = description.get("process")
    holder = process if isinstance(process, Mapping) else description
    if "jobControlOptions" not in holder:
        return None
    try:
        return job_control_options(
            holder["jobControlOptions"], "processDescription jobControlOptions"
        )
    except InvalidPackage as err:
        raise InvalidRequest(str(err)) from None


def _one_unit(unit: Any) -> Mapping[str, Any]:
    """The execution unit; a list of them (ogcapppkg-array) must hold exactly one."""
    if isinstance(unit, list):
        if len(unit) != 1:
            raise InvalidRequest(
                f"executionUnit lists {len(unit)} units; this server deploys exactly one CWL"
            )
        unit = unit[0]
    if isinstance(unit, Mapping) and isinstance(unit.get("unit"), Mapping):
        unit = unit["unit"]  # the older draft's {"unit": {...}} wrapper
    if not isinstance(unit, Mapping):
        raise InvalidRequest("executionUnit must be an object")
    return unit


def _check_unit_type(media_type: Any, member: str) -> None:
    if media_type is None:
        return
    plain = str(media_type).split(";", 1)[0].strip().lower()
    if plain not in _UNIT_TYPES:
        raise InvalidRequest(
            f"executionUnit {member} '{media_type}' is not a CWL media type; "
            f"use one of {', '.join(CWL_MEDIA_TYPES)}"
        )
