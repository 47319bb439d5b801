"""The fetch policy against real listeners on 127.0.0.x: loopback refused unless allowed (by
CIDR or by host name), redirects checked at each hop, names checked by what they resolve to
when the connection is made, link-local and metadata addresses never, other schemes never."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ades.fetching import FetchPolicy, FetchRefused, classify, parse_allow
from ades.settings import Settings
from tests.db.conftest import skip_or_fail


@dataclass
class Listener:
    base: str
    paths: list[str] = field(default_factory=list)


@contextmanager
def listener(host: str = "127.0.0.1", redirect: str | None = None,
             tls: ssl.SSLContext | None = None) -> Iterator[Listener]:
    """An HTTP server on ``host``: answers 200 "ok", or 302 to ``redirect``; records paths
    (the full URL a proxy is asked for). With ``tls``, an HTTPS one."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            if redirect:
                self.send_response(302)
                self.send_header("Location", redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if tls else "http"
    try:
        yield Listener(f"{scheme}://{host}:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()


def policy(allow: str = "", private: bool = False) -> FetchPolicy:
    return FetchPolicy.from_settings(
        Settings(host="0.0.0.0" if not private else "127.0.0.1", auth="none", fetch_allow=allow)
    )


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("169.254.169.254", ("link-local", True)),
        ("::ffff:169.254.169.254", ("link-local", True)),
        ("fe80::1", ("link-local", True)),
        ("fd00:ec2::254", ("metadata", True)),
        ("100.100.100.200", ("metadata", True)),
        ("0.0.0.0", ("unspecified", True)),
        ("0.1.2.3", ("unspecified", True)),
        ("::", ("unspecified", True)),
        ("224.0.0.1", ("multicast", True)),
        ("ff02::1", ("multicast", True)),
        ("240.0.0.1", ("reserved", True)),
        ("255.255.255.255", ("reserved", True)),
        ("64:ff9b::a9fe:a9fe", ("link-local", True)),
        ("2002:a9fe:a9fe::1", ("link-local", True)),
        ("127.0.0.1", ("loopback", False)),
        ("127.8.9.10", ("loopback", False)),
        ("::1", ("loopback", False)),
        ("::ffff:127.0.0.1", ("loopback", False)),
        ("10.1.2.3", ("private", False)),
        ("172.16.0.1", ("private", False)),
        ("192.168.1.1", ("private", False)),
        ("::ffff:192.168.1.1", ("private", False)),
        ("fd12:3456::1", ("private", False)),
        ("100.64.0.1", ("shared (CGNAT)", False)),
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_addresses_are_classified(address, expected):
    assert classify(ipaddress.ip_address(address)) == expected


def test_the_embedded_default_fetches_private_addresses_and_any_bucket():
    embedded = FetchPolicy.from_settings(Settings())
    assert embedded.private and embedded.s3_read_any
    exposed = policy()
    assert not exposed.private and not exposed.s3_read_any
    assert FetchPolicy.from_settings(Settings(host="0.0.0.0", auth="none", s3_read_any=True)) \
        .s3_read_any


def test_a_loopback_listener_is_refused_unless_allowed():
    with listener() as target:
        with pytest.raises(FetchRefused, match=r"127\.0\.0\.1 is a loopback address") as refused:
            policy().session().get(target.base + "/x", timeout=10)
        assert "ADES_FETCH_ALLOW" in str(refused.value)
        assert target.paths == []
        for allow in ("127.0.0.0/8", "127.0.0.1", "10.0.0.0/8, 127.0.0.1/32"):
            assert policy(allow).session().get(target.base + "/x", timeout=10).text == "ok"
        assert policy(private=True).session().get(target.base + "/y", timeout=10).text == "ok"
        assert target.paths == ["/x"] * 3 + ["/y"]


def test_a_host_name_is_allowed_by_name_and_checked_by_address():
    with listener() as target:
        port = target.base.rsplit(":", 1)[1]
        url = f"http://localhost:{port}/named"
        # localhost is no IP literal; what it resolves to is loopback, so refused...
        with pytest.raises(FetchRefused, match="localhost resolves to .*loopback"):
            policy().session().get(url, timeout=10)
        # ...unless the name is listed (any case, a trailing dot).
        assert policy("LocalHost.").session().get(url, timeout=10).text == "ok"
        # Listing the name does not allow the address under another name.
        with pytest.raises(FetchRefused):
            policy("localhost").session().get(target.base + "/literal", timeout=10)
    assert target.paths == ["/named"]


def test_a_redirect_to_a_disallowed_address_is_refused_at_that_hop():
    with listener("127.0.0.2") as inside, listener(redirect=inside.base + "/secret") as outside:
        allowed = policy("127.0.0.1/32")
        with pytest.raises(FetchRefused, match=r"127\.0\.0\.2"):
            allowed.session().get(outside.base + "/start", timeout=10)
        assert outside.paths == ["/start"]
        assert inside.paths == []
        # Both allowed: the redirect is followed.
        both = policy("127.0.0.1,127.0.0.2")
        assert both.session().get(outside.base + "/again", timeout=10).text == "ok"
        assert inside.paths == ["/secret"]


def test_a_name_rebound_to_a_disallowed_address_is_refused_when_connecting():
    """A resolver answering an allowed address first and a disallowed one next: each
    connection checks what it connects to, so the second never reaches the listener."""
    with listener("127.0.0.1") as allowed, listener("127.0.0.2") as forbidden:
        port_a = int(allowed.base.rsplit(":", 1)[1])
        port_b = int(forbidden.base.rsplit(":", 1)[1])
        answers = iter(["127.0.0.1", "127.0.0.2"])

        def resolver(host, port, *args, **kwargs):
            assert host == "rebind.test"
            address = next(answers)
            return socket.getaddrinfo(address, port, *args, **kwargs)

        base = FetchPolicy(allow_networks=parse_allow("127.0.0.1")[0], resolver=resolver)
        assert base.session().get(f"http://rebind.test:{port_a}/first", timeout=10).text == "ok"
        with pytest.raises(FetchRefused, match=r"rebind\.test resolves to 127\.0\.0\.2"):
            base.session().get(f"http://rebind.test:{port_b}/second", timeout=10)
        assert allowed.paths == ["/first"]
        assert forbidden.paths == []


def test_a_mapped_name_resolving_to_loopback_is_refused():
    with listener() as target:
        port = target.base.rsplit(":", 1)[1]
        mapped = policy().with_resolver({"data.example.org": "127.0.0.1"})
        with pytest.raises(FetchRefused, match=r"data\.example\.org resolves to 127\.0\.0\.1"):
            mapped.session().get(f"http://data.example.org:{port}/", timeout=10)
        assert target.paths == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0:80/",
    ],
)
def test_metadata_addresses_are_refused_without_connecting(url):
    # Even in the embedded default, even when listed. A connection attempt to these would
    # time out (or reach something); the refusal comes before any socket is opened.
    for allowing in (policy(private=True), policy("0.0.0.0/0,::/0")):
        with pytest.raises(FetchRefused, match="never fetches"):
            allowing.session().get(url, timeout=30)


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "ftp://example.org/x", "gopher://example.org/", "data:,x"]
)
def test_other_schemes_are_refused_naming_the_url(url):
    with pytest.raises(FetchRefused, match="is not fetched") as refused:
        policy(private=True).check_scheme(url)
    assert url in str(refused.value)
    with pytest.raises(requests.exceptions.InvalidSchema):
        policy(private=True).session().get(url)


def test_fetch_allow_entries_are_hosts_or_cidrs():
    networks, hosts = parse_allow(" 10.0.0.0/8 , minio.internal,127.0.0.1,[::1], ")
    assert [str(n) for n in networks] == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
    assert hosts == {"minio.internal"}
    with pytest.raises(ValueError, match="ADES_FETCH_ALLOW: '10.0.0.0/33'"):
        parse_allow("10.0.0.0/33")


def test_https_keeps_verifying_the_certificate_of_the_name(tmp_path):
    """The guarded connection hands the TLS layer the URL's host name, as urllib3 does."""
    if shutil.which("openssl") is None:
        skip_or_fail("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with listener(tls=context) as target:
        port = target.base.rsplit(":", 1)[1]
        allowed = policy("localhost,127.0.0.1")
        good = allowed.session().get(f"https://localhost:{port}/tls", verify=str(cert), timeout=10)
        assert good.text == "ok"
        # By address, the certificate (for "localhost") does not match: still verified.
        with pytest.raises(requests.exceptions.SSLError):
            allowed.session().get(f"https://127.0.0.1:{port}/ip", verify=str(cert), timeout=10)
        with pytest.raises(FetchRefused):
            policy().session().get(f"https://localhost:{port}/no", verify=str(cert), timeout=10)
    assert target.paths == ["/tls"]


def test_through_a_proxy_the_target_name_is_checked_before_the_proxy_is_asked():
    """The operator's proxy (on loopback here) is reached; what it is asked for is checked
    by what its name resolves to."""
    with listener() as proxy:
        proxies = {"http": proxy.base}
        mapped = policy().with_resolver({"public.example": "93.184.216.34",
                                         "metadata.example": "169.254.169.254"})
        answer = mapped.session().get("http://public.example/data", proxies=proxies, timeout=10)
        assert answer.text == "ok"
        with pytest.raises(FetchRefused, match="metadata.example resolves to 169.254.169.254"):
            mapped.session().get("http://metadata.example/", proxies=proxies, timeout=10)
    assert proxy.paths == ["http://public.example/data"]
