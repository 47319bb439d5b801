"""What the auth mode, the container engine and the bind address must say together, checked
before the server starts."""

from __future__ import annotations

import pytest

from ades.auth.authenticators import check_auth, check_bind
from ades.settings import Settings


@pytest.mark.parametrize("mode", ["token", "oidc"])
def test_auth_without_a_container_engine_needs_allow_uncontained(mode: str) -> None:
    oidc = {"oidc_issuer": "https://id.example", "oidc_audience": "ades"}
    settings = Settings(auth=mode, **oidc)
    with pytest.raises(ValueError) as refused:
        check_auth(settings)
    message = str(refused.value)
    assert f"ADES_AUTH={mode} with ADES_CONTAINER_ENGINE=none" in message
    assert "read the server's files and environment" in message
    assert "ADES_ALLOW_UNCONTAINED=true" in message
    check_auth(Settings(auth=mode, allow_uncontained=True, **oidc))
    check_auth(Settings(auth=mode, container_engine="podman", **oidc))
    # Calrissian runs every tool in a pod, whatever ADES_CONTAINER_ENGINE says.
    check_auth(Settings(auth=mode, cwl_runner="calrissian", **oidc))


def test_without_auth_no_container_engine_is_needed() -> None:
    check_auth(Settings())
    check_auth(Settings(auth="none", host="0.0.0.0"))


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"auth": "kerberos"}, "ADES_AUTH='kerberos' is not a mode"),
        ({"auth": "oidc", "allow_uncontained": True}, "ADES_AUTH=oidc needs ADES_OIDC_ISSUER and "
                                                      "ADES_OIDC_AUDIENCE"),
    ],
)
def test_an_auth_the_server_cannot_do_is_named(settings: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        check_auth(Settings(**settings))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::"])
def test_a_reachable_bind_needs_an_auth_said_on_purpose(host: str) -> None:
    with pytest.raises(ValueError, match=f"binding {host} lets other hosts call this server"):
        check_bind(Settings(host=host))
    for mode in ("none", "token"):
        check_bind(Settings(host=host, auth=mode))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_a_loopback_bind_needs_no_auth(host: str) -> None:
    check_bind(Settings(host=host))
