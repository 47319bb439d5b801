"""The result cache's key and switches (ades.jobs.cache): what makes two jobs the same, and
what keeps a job from being matched at all."""

from __future__ import annotations

import json

import pytest

from ades.jobs.cache import FINGERPRINT, cache_key, keyed, reuse_allowed
from ades.packages.inputs import SECONDARY
from ades.staging.stage_in import is_remote, secondary_href

PACKAGE = {"cwl": "cwlVersion: v1.2\nclass: CommandLineTool\n", "entry": None}
HREF = "https://data.example/scene/B04.tif"


def _request(job_order, package=PACKAGE, **more):
    return {"job_order": job_order, "package": package, **more}


class Remote:
    """What the remote inputs hold now, by href; each look-up counted."""

    def __init__(self, **held):
        self.held = {HREF: {"etag": '"v1"'}, **held}
        self.asked: list[str] = []

    def __call__(self, href):
        self.asked.append(href)
        found = self.held.get(href)
        if isinstance(found, Exception):
            raise found
        return found


def _key(request, remote=None):
    return cache_key(request, remote or Remote(), is_remote, secondary_href)


def test_the_key_ignores_key_order_and_whitespace_of_the_inputs():
    order = {"name": "x", "options": {"a": 1, "b": [1, 2]}, "scene": {"class": "File",
                                                                     "location": HREF}}
    shuffled = json.loads(json.dumps(dict(reversed(order.items())), indent=4))
    shuffled["options"] = {"b": [1, 2], "a": 1}
    key = _key(_request(order))
    assert len(key) == 64
    assert _key(_request(shuffled)) == key


@pytest.mark.parametrize(
    "change",
    [
        {"job_order": {"name": "y"}},
        {"package": {**PACKAGE, "cwl": PACKAGE["cwl"] + "doc: another\n"}},
        {"package": {**PACKAGE, "entry": "#main"}},
        # A literal asked for by reference is stored as a file: other results.
        {"outputs": {"out": {"transmissionMode": "reference"}}},
    ],
)
def test_the_package_the_inputs_and_the_outputs_asked_for_make_the_key(change):
    base = _request({"name": "x"})
    assert _key({**base, **change}) != _key(base)


def test_a_remote_file_counts_by_what_it_holds_now():
    order = {"scene": {"class": "File", "location": HREF}}
    remote = Remote()
    key = _key(_request(order), remote)
    assert remote.asked == [HREF]
    assert _key(_request(order), Remote()) == key
    assert _key(_request(order), Remote(**{HREF: {"etag": '"v2"'}})) != key
    assert _key(_request(order), Remote(**{HREF: {"sha256": "ab"}})) != key
    # A fingerprint in the inputs is replaced by the true one: it cannot forge a match.
    forged = {"scene": {"class": "File", "location": HREF, FINGERPRINT: {"etag": '"v9"'}}}
    assert _key(_request(forged)) == key
    assert _key(_request(forged), Remote(**{HREF: {"etag": '"v9"'}})) != key


def test_secondary_files_are_pinned_too_present_or_absent():
    index = HREF + ".aux"
    order = {"scene": {"class": "File", "location": HREF, SECONDARY: [".aux?"]}}
    remote = Remote()
    absent = _key(_request(order), remote)
    assert remote.asked == [HREF, index]
    present = _key(_request(order), Remote(**{index: {"etag": '"i1"'}}))
    assert absent != present
    assert _key(_request(order), Remote(**{index: {"etag": '"i2"'}})) != present


@pytest.mark.parametrize(
    "value, remote",
    [
        # A STAC reference or an s3:// prefix stands for many objects.
        ({"class": "Directory", "location": "https://stac.example/catalog.json"}, Remote()),
        ({"class": "File", "location": HREF}, Remote(**{HREF: None})),  # nothing there
        ({"class": "File", "location": HREF}, Remote(**{HREF: OSError("refused")})),
        ([{"class": "File", "location": HREF}, {"class": "Directory",
                                                 "location": "s3://bucket/prefix/"}], Remote()),
    ],
)
def test_inputs_that_cannot_be_pinned_down_give_no_key(value, remote):
    assert _key(_request({"scene": value}), remote) is None


def test_a_job_without_a_pinned_package_has_no_key():
    assert _key({"job_order": {"name": "x"}}) is None


def test_local_and_literal_files_are_part_of_the_inputs_as_they_are():
    literal = {"class": "File", "contents": "a,b\n1,2\n", "basename": "table.csv"}
    key = _key(_request({"table": literal}))
    assert key is not None
    assert _key(_request({"table": {**literal, "contents": "a,b\n1,3\n"}})) != key


@pytest.mark.parametrize(
    "settings, reuse, keys",
    [
        (None, True, True),  # a job of a server before the cache
        ({"enabled": True, "reuse": True}, True, True),
        ({"enabled": True, "reuse": False}, False, True),  # no-cache: kept for later jobs
        ({"enabled": True, "reuse": True, "start": False}, False, True),
        ({"enabled": False, "reuse": True}, False, False),  # the process or workspace
    ],
)
def test_what_the_switches_let_the_cache_do(settings, reuse, keys):
    request = {} if settings is None else {"cache": settings}
    assert reuse_allowed(request) is reuse
    assert keyed(request) is keys
