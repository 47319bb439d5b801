"""No secret of the server in what it answers or writes: the 401 of a refused token, its
own log, and the documents and logs of a job whose tool printed secrets."""

from __future__ import annotations

import logging

import pytest

from ades.redact import MASK
from tests.api.conftest import Secured
from tests.api.deploying import CWL_YAML, unique


def test_a_refused_token_is_neither_in_the_401_nor_in_the_servers_log(
    secured: Secured, caplog: pytest.LogCaptureFixture
) -> None:
    real = secured.tokens["demo"]
    _, token_id, secret = real.split("_", 2)
    forged = f"ades_{token_id}_{secret[::-1]}"
    caplog.set_level(logging.DEBUG)
    response = secured.as_(forged).get("/demo/ogc-api/jobs")
    assert response.status_code == 401
    seen = response.text + str(response.headers) + caplog.text
    assert secret[::-1] not in seen and secret not in seen
    # Even a record that quotes a token, or the S3 secret, comes out masked.
    logging.getLogger("ades.tests").warning(
        "refused %s (S3 key %s)", forged, secured.live.server.services.settings.s3_secret_key
    )
    assert secret[::-1] not in caplog.text
    assert f"refused ades_{token_id}_{MASK} (S3 key {MASK})" in caplog.text


def test_a_tool_that_prints_the_servers_secrets_leaves_them_nowhere(secured: Secured) -> None:
    demo = secured.as_(secured.tokens["demo"])
    settings = secured.live.server.services.settings
    process_id = unique("says-secrets")
    package = (
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        f"id: {process_id}\n"
        "baseCommand: [sh, -c, 'echo \"S3 answered: $0\" >&2; exit 4']\n"
        "inputs:\n  said: {type: string, inputBinding: {position: 1}}\n"
        "outputs: []\n"
    )
    deployed = demo.post("/demo/ogc-api/processes", data=package, headers=CWL_YAML)
    assert deployed.status_code == 201, deployed.text
    token = secured.tokens["lab"]
    said = (
        f"SignatureDoesNotMatch with secret {settings.s3_secret_key}, "
        f"admin {settings.admin_token}, token {token}"
    )
    try:
        r = demo.post(
            f"/demo/ogc-api/processes/{process_id}/execution",
            json={"inputs": {"said": said}},
            headers={"Prefer": "respond-async"},
        )
        assert r.status_code == 201, r.text
        job_url = r.headers["Location"]
        status = secured.as_(secured.tokens["demo"]).wait_for(job_url, {"failed"})
        logs = demo.http.get(job_url + "/logs").json()
        seen = str(status) + str(logs)
        for secret in (settings.s3_secret_key, settings.admin_token, token.split("_", 2)[2]):
            assert secret not in seen
        assert "S3 answered" in seen and MASK in str(status["failure"])
    finally:
        demo.delete(f"/demo/ogc-api/processes/{process_id}")
