"""``/readyz`` runs the checks of ``Services.readiness`` besides its database and S3 ones:
the hook a broker check (Celery) hangs on."""

from __future__ import annotations


def test_an_extra_readiness_check_that_fails_makes_the_server_not_ready(live):
    checks = live.server.services.readiness
    checks.append(lambda: "broker redis://127.0.0.1:1: connection refused")
    try:
        r = live.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {"status": "not ready",
                            "reasons": ["broker redis://127.0.0.1:1: connection refused"]}
    finally:
        checks.pop()
    assert live.get("/readyz").json() == {"status": "ready", "reasons": []}


def test_an_extra_readiness_check_that_passes_changes_nothing(live):
    checks = live.server.services.readiness
    checks.append(lambda: None)
    try:
        assert live.get("/readyz").status_code == 200
    finally:
        checks.pop()
