"""Status reads answered from the document kept by ades/api/status_cache.py: never stale
after a change, made here or by another process, and never shown to credentials that do
not open the workspace (a revoked token is refused at once)."""

from __future__ import annotations

from ades.auth.tokens import TokenStore
from ades.db.jobs import JobStore
from ades.db.schema import make_engine
from ades.model import JobStatus
from tests.api.conftest import Secured

ECHO = "/demo/ogc-api/processes/echo/execution"
ASYNC = {"Prefer": "respond-async"}


def _job(live, body: dict) -> str:
    r = live.post(ECHO, json=body, headers=ASYNC)
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def test_a_status_read_after_a_change_made_elsewhere_shows_the_change(live):
    url = _job(live, {"inputs": {"stringInput": "kept status"}})
    done = live.wait_for(url, {"successful"})  # each poll is a read that may be kept
    again = live.http.get(url)
    assert again.json() == done
    assert again.headers["Content-Type"] == "application/json"
    # Changed through a store of its own, as another worker or replica would change it.
    other = JobStore(make_engine(live.server.services.settings.database))
    try:
        assert other.update(done["jobID"], only_in={JobStatus.SUCCESSFUL}, message="changed")
    finally:
        other.engine.dispose()
    changed = live.http.get(url).json()
    assert changed["message"] == "changed"
    assert changed["updated"] > done["updated"]
    # Dismissed here: shown at once, not the kept document.
    assert live.http.delete(url).status_code == 200
    assert live.http.get(url).json()["status"] == "dismissed"


def test_a_kept_status_is_shown_only_to_credentials_that_open_its_workspace(
    secured: Secured,
):
    store = TokenStore(secured.live.server.services.database)
    record, token = store.create("demo", "status cache test")
    demo = secured.as_(token)
    url = _job(demo, {"inputs": {"stringInput": "kept for one caller"}})
    first = demo.http.get(url)
    assert first.status_code == 200
    assert demo.http.get(url).json()["jobID"] == first.json()["jobID"]
    # The same request but for the credentials: each is answered as the stack answers it.
    assert secured.as_(secured.tokens["lab"]).http.get(url).status_code == 403
    assert secured.as_(None).http.get(url).status_code == 401
    assert secured.as_(secured.admin).http.get(url).status_code == 200
    # A revoked token stops reading at once, kept document or not.
    store.revoke(record.id)
    refused = demo.http.get(url)
    assert refused.status_code == 401
    assert "unknown or revoked" in refused.json()["detail"]
