"""The error table's rendering: headers an error carries reach the response, and only it."""

from ades.api.errors import domain_error
from ades.errors import IssuerUnavailable, NotAuthenticated, TooManyJobs


def test_an_errors_headers_are_sent_and_stay_its_own():
    for err in (IssuerUnavailable("the issuer is down"), TooManyJobs("demo", 2),
                NotAuthenticated("no credentials", invalid_token=False)):
        before = dict(err.headers)
        response = domain_error(None, err)
        assert all(response.headers[k] == v for k, v in before.items())
        # The response's own headers (Content-Type) are not added to the error's, which a
        # class shares with every instance.
        assert err.headers == before
