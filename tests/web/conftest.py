"""The pages are tested over HTTP against the same live server as the API tests."""

from tests.api.conftest import live  # noqa: F401  (the session's live server)
