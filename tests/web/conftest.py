"""The pages are tested over HTTP against the same live servers as the API tests."""

from tests.api.conftest import live, secured  # noqa: F401  (the session's live servers)
