"""The job list over a few hundred jobs: filters by process, status, creation time and
duration, newest-first paging with next/prev links that keep the filters, numberMatched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ades.model import Job, JobStatus
from tests.ogc_documents import validate

WORKSPACE = "lab"
T0 = datetime(2020, 1, 1, tzinfo=UTC)
# 300 jobs, one a minute from T0: process alternating a/b, status cycling, and (when they
# started) duration i % 50 seconds.
CYCLE = [JobStatus.SUCCESSFUL, JobStatus.FAILED, JobStatus.DISMISSED, JobStatus.CREATED]
COUNT = 300


@pytest.fixture(scope="module")
def history(live):
    """Inserted through the store: a few hundred jobs at HTTP speed would take minutes.
    Their process ids are unique to this module, so other tests' jobs never match."""
    tag = uuid.uuid4().hex[:6]
    process = {0: f"list-a-{tag}", 1: f"list-b-{tag}"}
    store = live.server.services.jobs.store
    jobs = []
    for i in range(COUNT):
        created = T0 + timedelta(minutes=i)
        status = CYCLE[i % len(CYCLE)]
        started = None if status is JobStatus.CREATED else created
        job = Job(
            id=f"{tag}-{i:04d}",
            workspace=WORKSPACE,
            process_id=process[i % 2],
            status=status,
            created=created,
            updated=created,
            started=started,
            finished=started + timedelta(seconds=i % 50) if started else None,
        )
        store.add(job)
        jobs.append(job)
    return process, jobs


def _get(live, **params):
    r = live.get(f"/{WORKSPACE}/ogc-api/jobs", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _ids(doc):
    return [j["jobID"] for j in doc["jobs"]]


def test_process_filter_pages_newest_first_with_links_that_keep_the_filter(live, history):
    process, jobs = history
    mine = [j for j in jobs if j.process_id == process[0]]
    newest_first = [j.id for j in sorted(mine, key=lambda j: j.created, reverse=True)]
    seen, url, pages = [], None, 0
    doc = _get(live, processID=process[0], limit=40)
    while True:
        pages += 1
        assert doc["numberMatched"] == len(mine)
        seen += _ids(doc)
        links = {link["rel"]: link["href"] for link in doc["links"]}
        if pages > 1:
            assert "prev" in links
        url = links.get("next")
        if url is None:
            break
        assert f"processID={process[0]}" in url
        doc = live.http.get(url).json()
    assert seen == newest_first
    assert pages == 4  # 150 jobs, 40 a page
    prev = live.http.get(links["prev"]).json()
    assert _ids(prev) == newest_first[80:120]


def test_both_processes_and_repeated_status(live, history):
    process, jobs = history
    doc = _get(live, processID=[process[0], process[1]], status=["failed", "created"], limit=5)
    expected = [j for j in jobs if j.status in (JobStatus.FAILED, JobStatus.CREATED)]
    assert doc["numberMatched"] == len(expected)
    assert _ids(doc) == [j.id for j in sorted(expected, key=lambda j: j.created)][::-1][:5]
    assert {j["status"] for j in doc["jobs"]} <= {"failed", "created"}


@pytest.mark.parametrize(
    ("interval", "first", "last"),
    [
        ("2020-01-01T01:00:00Z/2020-01-01T01:59:00Z", 60, 119),
        ("../2020-01-01T00:09:00Z", 0, 9),
        ("2020-01-01T04:50:00+00:00/..", 290, 299),
        ("2020-01-01T02:00:00Z", 120, 120),
    ],
)
def test_datetime_interval(live, history, interval, first, last):
    process, jobs = history
    doc = _get(live, processID=list(process.values()), datetime=interval, limit=1000)
    assert doc["numberMatched"] == last - first + 1
    assert _ids(doc) == [jobs[i].id for i in range(last, first - 1, -1)]


def test_duration_bounds(live, history):
    process, jobs = history
    # Bounds between whole seconds: julianday arithmetic on SQLite is not exact to the µs.
    doc = _get(live, processID=list(process.values()), minDuration=44.5, maxDuration=47.5,
               limit=1000)
    expected = {j.id for j in jobs if j.started and 45 <= (j.finished - j.started).seconds <= 47}
    assert set(_ids(doc)) == expected
    assert doc["numberMatched"] == len(expected)


def test_wps3_list_carries_the_same_filters(live, history):
    process, jobs = history
    doc = live.get(f"/{WORKSPACE}/wps3/jobs", params={"processID": process[1], "limit": 1}).json()
    assert doc["numberTotal"] == COUNT // 2


def test_job_list_document_is_valid_ogc(live, history):
    process, _ = history
    validate(_get(live, processID=process[0], status="successful", limit=3), "jobList.yaml")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "2020-02-01T00:00:00Z/2020-01-01T00:00:00Z"}, "datetime"),
        ({"datetime": "a/b/c"}, "datetime"),
        ({"status": "sleeping"}, "status"),
        ({"minDuration": "long"}, "minDuration"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(live, params, named):
    r = live.get(f"/{WORKSPACE}/ogc-api/jobs", params=params)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["type"] == "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/" \
        "invalid-parameter-value"
    assert named in problem["detail"]


def test_a_list_counts_only_so_far_past_its_page(live, history, monkeypatch):
    """numberMatched is left out when more than COUNT_AHEAD jobs match past the page (a
    count of them all would read them all); `next` still says that more follow."""
    monkeypatch.setattr("ades.db.jobs.COUNT_AHEAD", 5)
    process, jobs = history
    mine = [j for j in jobs if j.process_id == process[0]]
    doc = _get(live, processID=process[0], limit=10)
    assert "numberMatched" not in doc
    assert "next" in {link["rel"] for link in doc["links"]}
    validate(doc, "jobList.yaml")
    assert _ids(doc) == [j.id for j in mine[::-1][:10]]
    # Near the end, the rest is counted again.
    last = _get(live, processID=process[0], limit=10, offset=len(mine) - 10)
    assert last["numberMatched"] == len(mine)
    assert "next" not in {link["rel"] for link in last["links"]}
