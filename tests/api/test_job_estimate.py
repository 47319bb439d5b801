"""Estimates: duration and size from the past successful jobs of the same process."""

from __future__ import annotations

import re

from ades.jobs.estimate import Estimate

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


def test_estimate_learns_from_past_successes(live):
    for word in ("a", "bb"):
        r = live.post("/lab/ogc-api/processes/steps/execution", json={"inputs": {"pause": 0}},
                      headers={"Prefer": "respond-async"})
        assert live.wait_for(r.headers["Location"], {"successful", "failed"})["status"] == \
            "successful", word
    created = live.post("/lab/ogc-api/jobs", json={"process": "steps"}).headers["Location"]
    r = live.http.get(created + "/estimate")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?\d+(\.\d+)?S", doc["duration"]), doc
    assert doc["basedOn"] >= 2
    # Every run of steps writes the same 6-byte file ("third\n").
    assert doc["size"] == 6


def test_no_history_no_estimate(live):
    created = live.post("/lab/ogc-api/jobs", json={"process": "fail",
                                                   "inputs": {"message": "m"}})
    r = live.http.get(created.headers["Location"] + "/estimate")
    assert r.status_code == 404
    assert r.json()["type"] == OGC1 + "not-found"
    assert "'fail'" in r.json()["detail"]
    assert created.json()["jobID"] in r.json()["detail"]


def test_duration_is_iso_8601():
    assert Estimate(3725.5, None, 1).duration == "PT1H2M5.5S"
    assert Estimate(0.34, None, 1).duration == "PT0.3S"
    assert Estimate(60, None, 1).duration == "PT1M0S"
