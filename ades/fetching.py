"""What the server may fetch when a user points it somewhere: deploy hrefs, stage-in hrefs
(and the STAC documents they lead to), subscriber callback URLs.

A ``FetchPolicy`` says which addresses may be connected to, and makes the requests
Sessions that keep to it. The check sits in the connection itself: the host name is
resolved once, every address it resolves to is checked, and the socket connects only to a
checked address. So a name that resolves to something else by the time of the connection
(DNS rebinding) gains nothing, and every redirect hop is checked as it connects.

- Link-local, cloud metadata, multicast, reserved and unspecified addresses: never (also in
  their IPv4-mapped, 6to4, Teredo and NAT64 IPv6 forms).
- Loopback and private ranges (127/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7,
  100.64/10 and the other non-global ranges): only when ``ADES_FETCH_ALLOW`` lists the
  address (a CIDR) or the host name, or in the embedded default (``fetches_private``).
- Anything else (a public address): yes.
- Schemes: http, https (and s3, which goes through the object store, not here).

Through a proxy (``HTTPS_PROXY`` and the like, set by the operator) the connection goes to
the proxy, which resolves the target itself: the target's name is then resolved and checked
here first, which a rebinding name could still get past.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter, select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import _set_socket_options
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from ades.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo's signature, restricted to what a connection asks.
Resolver = Callable[[str, int], list[tuple[Any, ...]]]

SCHEMES = ("http", "https", "s3")
HTTP_SCHEMES = ("http", "https")

# Never, whatever ADES_FETCH_ALLOW says: where clouds answer with credentials, and
# addresses no service lives at.
_NEVER: tuple[tuple[str, IPNetwork], ...] = tuple(
    (kind, ipaddress.ip_network(net))
    for kind, net in (
        ("metadata", "100.100.100.200/32"),  # Alibaba Cloud
        ("metadata", "fd00:ec2::254/128"),  # AWS over IPv6
        ("link-local", "169.254.0.0/16"),  # AWS, GCP, Azure, OpenStack metadata live here
        ("link-local", "fe80::/10"),
        ("unspecified", "0.0.0.0/8"),  # 0.0.0.0 reaches this machine on Linux
        ("unspecified", "::/128"),
        ("multicast", "224.0.0.0/4"),
        ("multicast", "ff00::/8"),
        ("reserved", "240.0.0.0/4"),  # and 255.255.255.255, broadcast
    )
)
# Allowed only when listed (or in the embedded default).
_PRIVATE: tuple[tuple[str, IPNetwork], ...] = tuple(
    (kind, ipaddress.ip_network(net))
    for kind, net in (
        ("loopback", "127.0.0.0/8"),
        ("loopback", "::1/128"),
        ("private", "10.0.0.0/8"),
        ("private", "172.16.0.0/12"),
        ("private", "192.168.0.0/16"),
        ("private", "fc00::/7"),
        ("shared (CGNAT)", "100.64.0.0/10"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchRefused(Exception):
    """The policy does not let the server fetch from there; the message says why (and
    which setting would allow it, when one would)."""


def classify(ip: IPAddress) -> tuple[str, bool] | None:
    """``(kind, never)`` for an address that is not a plain public one: ``never`` when no
    setting allows it, else it needs listing. None for a public address."""
    for embedded in _embedded_ipv4(ip):
        found = classify(embedded)
        if found is not None:
            return found
    for kind, net in _NEVER:
        if ip.version == net.version and ip in net:
            return kind, True
    # Before the flags below: ::1 lies in ::/8, which Python calls reserved.
    for kind, net in _PRIVATE:
        if ip.version == net.version and ip in net:
            return kind, False
    if ip.is_multicast:
        return "multicast", True
    if ip.is_unspecified:
        return "unspecified", True
    if ip.is_link_local:
        return "link-local", True
    if ip.is_reserved:
        return "reserved", True
    if not ip.is_global:
        return "non-public", False
    return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour]
    if ip.teredo:
        found.append(ip.teredo[1])
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


@dataclass(frozen=True)
class FetchPolicy:
    """``private``: loopback and private addresses are all allowed (the embedded default).
    ``allow``: the ones that are anyway, as networks or host names. ``s3_read_any``: an
    s3:// input may read any bucket the server's credentials can. ``resolver``: how host
    names become addresses (``socket.getaddrinfo`` but in tests)."""

    private: bool = False
    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = frozenset()
    s3_read_any: bool = False
    resolver: Resolver = field(default=socket.getaddrinfo, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """In the embedded default (``fetches_private``) the one user is whoever sits at
        this machine: private addresses and every bucket the server can read are theirs."""
        networks, hosts = parse_allow(settings.fetch_allow)
        private = settings.fetches_private
        return cls(private, networks, hosts, settings.s3_read_any or private)

    @classmethod
    def open(cls) -> FetchPolicy:
        """The embedded default's policy: private addresses and any bucket allowed (never
        link-local or metadata ones). What parts built without a policy use."""
        return cls(private=True, s3_read_any=True)

    def with_resolver(self, hosts: Mapping[str, str]) -> FetchPolicy:
        """This policy resolving the names in ``hosts`` to the given addresses (the rest as
        usual): a test's stand-in for DNS."""
        default = self.resolver

        def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
            if host.lower() in hosts:
                return default(hosts[host.lower()], port, *args, **kwargs)
            return default(host, port, *args, **kwargs)

        return FetchPolicy(
            self.private, self.allow_networks, self.allow_hosts, self.s3_read_any, resolve
        )

    def check_scheme(self, url: str, schemes: Iterable[str] = SCHEMES) -> None:
        scheme = urlsplit(url).scheme.lower()
        allowed = tuple(schemes)
        if scheme not in allowed:
            raise FetchRefused(
                f"'{url}': scheme '{scheme or '(none)'}' is not fetched; use "
                f"{', '.join(allowed)}"
            )

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """None when ``host`` may be reached at ``ip``, else why not."""
        found = classify(ip)
        if found is None:
            return None
        kind, never = found
        shown = f"{_name(host)} is a {kind} address" if _literal(host) == ip else (
            f"{host} resolves to {ip}, a {kind} address"
        )
        if never:
            return (
                f"{shown}; the server never fetches from link-local, metadata, multicast, "
                f"reserved or unspecified addresses"
            )
        if self.private or _name(host) in self.allow_hosts or self._listed(ip):
            return None
        return (
            f"{shown}; list the host or a network holding the address in ADES_FETCH_ALLOW "
            f"to allow it"
        )

    def _listed(self, ip: IPAddress) -> bool:
        candidates = [ip, *_embedded_ipv4(ip)]
        return any(
            a.version == net.version and a in net
            for a in candidates
            for net in self.allow_networks
        )

    def addresses(self, host: str, port: int) -> list[tuple[Any, ...]]:
        """The getaddrinfo entries of ``host`` that may be connected to; FetchRefused when
        none may (socket.gaierror when the name does not resolve)."""
        infos = self.resolver(host.strip("[]"), port, 0, socket.SOCK_STREAM)
        allowed, reasons = [], []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            reason = self.refusal(host.strip("[]"), ip)
            if reason is None:
                allowed.append(info)
            else:
                reasons.append(reason)
        if not allowed:
            raise FetchRefused(reasons[0] if reasons else f"{host} resolves to no address")
        return allowed

    def check_host(self, host: str, port: int) -> None:
        """Every address ``host`` resolves to may be reached (a proxy picks one itself)."""
        infos = self.resolver(host.strip("[]"), port, 0, socket.SOCK_STREAM)
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            reason = self.refusal(host.strip("[]"), ip)
            if reason is not None:
                raise FetchRefused(reason)

    def argument(self) -> str:
        """This policy as one command-line argument, for ``from_argument`` in a child."""
        allowed = [str(n) for n in self.allow_networks] + sorted(self.allow_hosts)
        return json.dumps({"private": self.private, "allow": ",".join(allowed)})

    @classmethod
    def from_argument(cls, text: str) -> FetchPolicy:
        given = json.loads(text)
        return cls(bool(given["private"]), *parse_allow(given["allow"]))

    def guard_this_process(self) -> None:
        """Every connection urllib3 makes in this process keeps to the policy, whoever
        makes it: in the cwltool process, cwltool's own downloads (a package's http(s)
        default Files, its $schemas), which no Session of ours carries. Also a proxy's
        address is checked, so a proxy on a private address must be listed."""
        HTTPConnection.policy = self  # type: ignore[attr-defined]
        HTTPConnection._new_conn = _Guarded._new_conn  # type: ignore[method-assign]

    def session(self, pool_size: int = 10) -> requests.Session:
        """A requests Session that connects only where this policy allows, redirects
        included. Only http and https: anything else has no adapter in it."""
        session = requests.Session()
        adapter = GuardedAdapter(self, pool_maxsize=pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


def parse_allow(text: str) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """``ADES_FETCH_ALLOW``: comma-separated CIDRs (or addresses) and host names."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if "/" in entry or " " in entry:
                raise ValueError(
                    f"ADES_FETCH_ALLOW: {entry!r} is neither a host name nor a CIDR"
                ) from None
            hosts.add(_name(entry))
    return tuple(networks), frozenset(hosts)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(_name(host))
    except ValueError:
        return None


def _name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


class _Guarded:
    """Connects as urllib3 does, but only to the addresses the policy allows."""

    policy: FetchPolicy
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        try:
            infos = self.policy.addresses(self._dns_host, self.port)
        except socket.gaierror as err:
            raise NameResolutionError(self.host, self, err) from err  # type: ignore[arg-type]
        error: OSError | None = None
        for family, kind, proto, _, address in infos:
            sock = None
            try:
                sock = socket.socket(family, kind, proto)
                _set_socket_options(sock, self.socket_options)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(address)
            except TimeoutError as err:
                if sock is not None:
                    sock.close()
                raise ConnectTimeoutError(
                    self,
                    f"Connection to {self.host} timed out. (connect timeout={self.timeout})",
                ) from err
            except OSError as err:
                if sock is not None:
                    sock.close()
                error = err
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        raise NewConnectionError(
            self, f"Failed to establish a new connection: {error}"  # type: ignore[arg-type]
        ) from error


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with connections that keep to a FetchPolicy."""

    def __init__(self, policy: FetchPolicy, **kwargs: Any):
        self.policy = policy
        guarded = {"policy": policy}
        http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), guarded)
        https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), guarded)
        self._pools = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = urlsplit(request.url or "")
        if select_proxy(request.url, kwargs.get("proxies") or {}) and url.hostname:
            # Through a proxy: the connection goes to the proxy, so check the target here.
            self.policy.check_host(url.hostname, url.port or (443 if url.scheme == "https" else 80))
        return super().send(request, *args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a GuardedAdapter is not pickled")
