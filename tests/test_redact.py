"""Secrets taken out of what the server writes: known values of its settings, and text that
looks like a credential whatever its value."""

from __future__ import annotations

import logging

import pytest

from ades.redact import MASK, Redactor, install, redact, secrets_of
from ades.settings import Settings

TOKEN = "ades_0123456789abcdef_" + "S" * 43
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLXBhcnQ"


def test_known_values_are_masked_longest_first() -> None:
    redactor = Redactor(["s3-secret-value", "s3-secret-value-longer", "ab"])
    assert redactor("a s3-secret-value-longer b") == f"a {MASK} b"
    assert redactor("key=s3-secret-value;") == f"key={MASK};"
    assert redactor("ab stays: too short to look for") == "ab stays: too short to look for"


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        (f"token {TOKEN} refused", "ades_0123456789abcdef_", "S" * 43),
        (f"got {JWT}", "got ", "c2lnbmF0dXJlLXBhcnQ"),
        ("Authorization: Bearer not-an-ades-token-xyz", "Bearer ", "not-an-ades-token-xyz"),
        ("GET /x?expires=1&signature=abc123def HTTP/1.1", "expires=1&signature=", "abc123def"),
        ("https://s3/b/k?X-Amz-Signature=feedbeef&X-Amz-Date=1", "X-Amz-Date=1", "feedbeef"),
    ],
)
def test_credential_looking_text_is_masked(text: str, kept: str, gone: str) -> None:
    masked = Redactor()(text)
    assert kept in masked and gone not in masked and MASK in masked


def test_nested_values_are_masked() -> None:
    redactor = Redactor(["the-secret-1"])
    failure = {"category": "application", "stderr": ["x the-secret-1", 3], "exitCode": 1}
    assert redactor.deep(failure) == {
        "category": "application", "stderr": [f"x {MASK}", 3], "exitCode": 1,
    }


def test_the_secrets_of_settings_include_passwords_in_urls() -> None:
    settings = Settings(
        s3_secret_key="s3-secret-value",
        admin_token="admin-token-value",
        database_url="postgresql://ades:db-password-value@db/ades",
        broker_url="amqp://guest:broker-password-value@mq//",
    )
    assert set(secrets_of(settings)) == {
        "s3-secret-value", "admin-token-value", "db-password-value", "broker-password-value",
    }
    assert secrets_of(Settings(database_url="not a url")) == ["ades-secret", ""]


def test_every_log_record_is_redacted_once_installed(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A live server of an earlier test configured uvicorn's loggers (no propagation,
    # level warning).
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "disabled", False)
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    install(Settings(s3_secret_key="leak-canary-s3-in-logs", admin_token="leak-canary-admin"))
    install(Settings())  # again: the records are not redacted twice over, nothing breaks
    log = logging.getLogger("ades.tests.anything")
    caplog.set_level(logging.INFO)
    log.info("S3 said %s with %r", "no: leak-canary-s3-in-logs", {"t": "leak-canary-admin"})
    log.info("bearer %(token)s", {"token": TOKEN})
    log.error(RuntimeError("an exception as the message: leak-canary-admin"))
    try:
        raise RuntimeError("could not sign with leak-canary-s3-in-logs")
    except RuntimeError:
        log.exception("failed")
    # uvicorn's access log formats its arguments one by one: they stay arguments.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/d?expires=9&signature=feedf00d", "1.1",
        200,
    )
    text = caplog.text
    assert "leak-canary" not in text and "S" * 43 not in text and "feedf00d" not in text
    assert text.count(MASK) >= 5
    access = caplog.records[-1]
    assert isinstance(access.args, tuple) and access.args[-1] == 200
    assert redact("leak-canary-s3-in-logs") == MASK


def test_instructions_are_not_mistaken_for_credentials() -> None:
    text = "send 'Authorization: Bearer <token>'; Bearer realm=\"ades\""
    assert Redactor()(text) == text
