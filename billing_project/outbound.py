"""The one outbound URL policy: every URL the service calls on a tenant's behalf (Slack webhooks, the
tenants' usage collectors; outbound webhooks later) is checked here and called through `post_json` or
`get` (one request function under both).

Two checks, one policy:
- when a URL is saved, `url_check` refuses a wrong scheme and a host written as a non-public IP in any
  spelling (127.0.0.1, 2130706433, 0x7f.1, 0177.0.0.1, [::ffff:127.0.0.1], localhost): a clear error
  early, nothing more, since a name can point anywhere later;
- when connecting (the real guard), the host name is resolved once, EVERY address it resolves to must be
  public, and the socket connects to one of those validated addresses; TLS still verifies the certificate
  and sends SNI for the name and the Host header keeps the name. So a name pointing inside
  (127.0.0.1.nip.io) or re-pointed between a check and the connect (DNS rebinding) never gets a byte.
  Redirects are never followed and no proxy from the environment is used (a proxy would resolve the name
  itself, past this check).

urllib3 (the HTTP library under requests, already installed) does the HTTP and TLS; only its connect step
is replaced. Private addresses are let through only when named: settings.OUTBOUND_URL_ALLOWLIST (hosts
or CIDRs: internal targets the operator trusts) or OUTBOUND_ALLOW_PRIVATE_HOSTS (`host:port`: tests, local
sinks). Plain http only with settings.OUTBOUND_ALLOW_HTTP, or to loopback alone under `make run`
(OUTBOUND_DEV_LOOPBACK, which still refuses private, link-local and metadata addresses).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Answers are read up to this size by default: a webhook's answer is "ok" or a short error.
MAX_RESPONSE_BYTES = 64 * 1024
# Kept-alive connections (webhooks): hosts with idle connections, and idle connections per host.
KEEP_ALIVE_POOLS = 64
KEEP_ALIVE_CONNECTIONS_PER_HOST = 16
_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# inet_aton's legacy IPv4 spellings: 2130706433, 0x7f.1, 0177.0.0.1, 127.1
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class OutboundError(Exception):
    """The request could not be made or answered (DNS, connect, timeout, TLS): worth another try."""


class OutboundRefused(OutboundError):
    """The URL or an address it resolves to is not allowed by the policy: another try will not help."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes
    headers: dict
    truncated: bool = False  # the answer was longer than the caller's max_bytes

    def json(self):
        """The body as JSON; ValueError when it is not JSON or was cut at max_bytes."""
        if self.truncated:
            raise ValueError("the answer is longer than the size read")
        return json.loads(self.body)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(ip: IPAddress) -> bool:
    """Whether `ip` is a public unicast address: not loopback, private (10/8, 172.16/12, 192.168/16,
    fc00::/7), link-local (169.254/16 with the cloud metadata address, fe80::/10), CGNAT (100.64/10),
    multicast, reserved or unspecified, nor an IPv6 address carrying one of those."""
    inner = _embedded_ipv4(ip)
    if inner is not None and not address_is_public(inner):
        return False
    # is_global alone lets multicast through; the explicit list says what is refused.
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _allowlist_matches(entry: str, ip: IPAddress, host: str | None) -> bool:
    """OUTBOUND_URL_ALLOWLIST: a CIDR (10.1.0.0/16) or an address matches the address connected to;
    a host name matches the URL's host by name (any port), not whatever else resolves alike."""
    entry = entry.strip().lower().rstrip(".")
    if not entry:
        return False
    try:
        return ip in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return host is not None and host.lower().rstrip(".") == entry


def _exception_matches(entry: str, ip: IPAddress, port: int) -> bool:
    entry = entry.strip()
    try:
        return ip in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        pass
    host, _, entry_port = entry.rpartition(":")
    if not host or not entry_port.isdigit() or int(entry_port) != port:
        return False
    host = host.strip("[]")
    try:
        return ip == ipaddress.ip_address(host)
    except ValueError:  # a name (a compose service, "localhost"): compare with its addresses
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except OSError:
            return False
        return any(_ip(str(info[4][0])) == ip for info in infos)


def dev_loopback() -> bool:
    """`make run`: plain http to the developer's own machine (loopback) is allowed, nothing else inside."""
    return bool(getattr(settings, "OUTBOUND_DEV_LOOPBACK", False))


def address_allowed(ip: IPAddress, port: int, host: str | None = None) -> bool:
    """Public; or a named internal target of settings.OUTBOUND_URL_ALLOWLIST (hosts or CIDRs) or
    OUTBOUND_ALLOW_PRIVATE_HOSTS (host:port, tests and local sinks); or loopback under `make run`
    (OUTBOUND_DEV_LOOPBACK), which still refuses private, link-local and metadata addresses."""
    if address_is_public(ip):
        return True
    if dev_loopback() and (ip.is_loopback or getattr(_embedded_ipv4(ip), "is_loopback", False)):
        return True
    if any(
        _allowlist_matches(entry, ip, host)
        for entry in getattr(settings, "OUTBOUND_URL_ALLOWLIST", [])
    ):
        return True
    return any(
        _exception_matches(entry, ip, port) for entry in settings.OUTBOUND_ALLOW_PRIVATE_HOSTS
    )


def _ip(text: str) -> IPAddress:
    # getaddrinfo gives "fe80::1%eth0" for scoped addresses; the scope does not change the verdict.
    return ipaddress.ip_address(text.split("%", 1)[0])


def _literal_ip(host: str) -> IPAddress | None:
    """The address a host written as an IP stands for, in any spelling the resolver accepts."""
    try:
        return _ip(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def url_check(url: str) -> None:
    """Refuse, with a reason a person can act on, a URL the service must not call: not http(s), http
    without settings.OUTBOUND_ALLOW_HTTP, credentials in it, or a host that is literally a non-public
    address. A name is accepted here; where it leads is checked when connecting."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL ({exc})") from None
    schemes = ("https", "http") if settings.OUTBOUND_ALLOW_HTTP or dev_loopback() else ("https",)
    if parts.scheme not in schemes:
        raise OutboundRefused(
            "must be an http(s) URL" if "http" in schemes else "must be an https:// URL"
        )
    host = parts.hostname
    if not host:
        raise OutboundRefused("has no host")
    if parts.scheme == "http" and not settings.OUTBOUND_ALLOW_HTTP and not _is_loopback_host(host):
        # make run: http for the developer's own machine only; anything else must be https.
        raise OutboundRefused(
            "must be an https:// URL (http only to this machine: 127.0.0.1, localhost)"
        )
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("must not carry a user name or password")
    port = port or (443 if parts.scheme == "https" else 80)
    host = host.rstrip(".")
    ip = _literal_ip(host)
    if ip is None and (host == "localhost" or host.endswith(".localhost")):
        ip = ipaddress.ip_address("127.0.0.1")  # RFC 6761: always loopback
    if ip is not None and not address_allowed(ip, port, host):
        raise OutboundRefused(f"points to a private or reserved address ({ip})")


def _is_loopback_host(host: str) -> bool:
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _literal_ip(host.strip("[]"))
    return ip is not None and ip.is_loopback


def resolve_checked(host: str, port: int) -> list[tuple[socket.AddressFamily, IPAddress]]:
    """Resolve `host` once; every address must be allowed, else the whole name is refused (one private
    answer among public ones is how rebinding is tried)."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[tuple[socket.AddressFamily, IPAddress]] = list(
        dict.fromkeys((info[0], _ip(str(info[4][0]))) for info in infos)
    )
    refused = [str(ip) for _, ip in addresses if not address_allowed(ip, port, host)]
    if refused or not addresses:
        raise OutboundRefused(
            f"{host} resolves to a private or reserved address ({', '.join(refused)})"
        )
    return addresses


if TYPE_CHECKING:  # the mixin reads urllib3's connection attributes; at run time it is a mixin
    _ConnectionBase = HTTPConnection
else:
    _ConnectionBase = object


class _CheckedConnectMixin(_ConnectionBase):
    """urllib3's connect step, to the validated addresses only (the rest of urllib3, TLS with SNI and
    certificate checks for the name included, is unchanged)."""

    def _new_conn(self) -> socket.socket:
        last_error: OSError | None = None
        for _family, ip in resolve_checked(self._dns_host, self.port):
            try:
                return connection.create_connection(
                    (str(ip), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")

    def getresponse(self):
        # On a kept-alive connection a receiver that writes its status line and its body separately
        # without TCP_NODELAY (Python's http.server) holds the body until its first write is
        # acknowledged, and delayed ACKs make that 40 ms per message: acknowledge at once (Linux).
        if self.sock is not None and _TCP_QUICKACK is not None:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
            except OSError:
                pass
        return super().getresponse()


class _CheckedHTTPConnection(_CheckedConnectMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


def _request(
    method: str,
    url: str,
    *,
    body: bytes | None,
    headers: dict,
    timeout: float | tuple[float, float],
    max_bytes: int,
    enforce_policy: bool,
    keep_alive: bool = False,
) -> OutboundResponse:
    """The one HTTP code path of outbound calls: no redirects followed, no proxy, no retries, a fresh
    pool (or, with `keep_alive`, the process's pools of checked connections), the answer read up to
    `max_bytes` (past it the response says `truncated`). With `enforce_policy` (always, for a URL a
    tenant set) the URL is checked and the connect step is the checked one; without it (operator
    configuration only) the connection goes where the URL says."""
    if enforce_policy:
        url_check(url)
    if keep_alive and enforce_policy:
        return _send(_kept_alive_manager(), method, url, body, headers, timeout, max_bytes)
    # A fresh pool per call otherwise: Slack and collectors call rarely, nothing to keep.
    with urllib3.PoolManager(num_pools=1, maxsize=1) as manager:
        if enforce_policy:
            manager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}
        return _send(manager, method, url, body, headers, timeout, max_bytes)


def _policy_fingerprint() -> tuple:
    """What the connect-time check depends on: a connection checked under other settings is not reused."""
    return (
        bool(settings.OUTBOUND_ALLOW_HTTP),
        dev_loopback(),
        tuple(getattr(settings, "OUTBOUND_URL_ALLOWLIST", [])),
        tuple(settings.OUTBOUND_ALLOW_PRIVATE_HOSTS),
    )


_kept_alive: tuple[tuple, urllib3.PoolManager] | None = None
_kept_alive_lock = threading.Lock()


def _kept_alive_manager() -> urllib3.PoolManager:
    """This process's pools of checked connections kept alive between calls (one pool per scheme, host
    and port, so a connection is only reused for the name it was checked for). Every connection in them
    was made by the checked connect step, to an address the policy allowed; a change of the policy's
    settings drops them all, so none outlives the policy it was checked under."""
    global _kept_alive
    fingerprint = _policy_fingerprint()
    with _kept_alive_lock:
        if _kept_alive is not None and _kept_alive[0] == fingerprint:
            return _kept_alive[1]
        if _kept_alive is not None:
            _kept_alive[1].clear()
        # maxsize: at most one connection per sending thread is ever out of a pool at once.
        manager = urllib3.PoolManager(
            num_pools=KEEP_ALIVE_POOLS, maxsize=KEEP_ALIVE_CONNECTIONS_PER_HOST, block=False
        )
        manager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}
        _kept_alive = (fingerprint, manager)
        return manager


def _send(
    manager: urllib3.PoolManager,
    method: str,
    url: str,
    body: bytes | None,
    headers: dict,
    timeout: float | tuple[float, float],
    max_bytes: int,
) -> OutboundResponse:
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    try:
        response = manager.request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False,
            redirect=False,
            preload_content=False,
        )
    except OutboundError:
        raise
    except urllib3.exceptions.HTTPError as exc:
        raise OutboundError(str(exc)) from exc
    try:
        data = response.read(max_bytes + 1)
        if not response.closed:
            # Answer longer than the cap: the rest is never read, so the connection cannot carry
            # another request; it is closed rather than returned to the pool.
            response.close()
    except urllib3.exceptions.HTTPError as exc:
        response.close()
        raise OutboundError(f"reading the answer: {exc}") from exc
    finally:
        response.release_conn()
    return OutboundResponse(
        status=response.status,
        body=data[:max_bytes],
        headers=dict(response.headers),
        truncated=len(data) > max_bytes,
    )


def post_json(
    url: str,
    payload: dict | list,
    *,
    timeout: float | tuple[float, float],
    max_bytes: int = MAX_RESPONSE_BYTES,
    enforce_policy: bool = True,
) -> OutboundResponse:
    """POST `payload` as JSON to `url` under the policy. Any status comes back as a response (a 3xx
    too: redirects are not followed); OutboundRefused when the policy says no, OutboundError when the
    far end cannot be reached. `enforce_policy=False` is for URLs from the operator's configuration
    only, never for one a tenant set."""
    return _request(
        "POST",
        url,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        timeout=timeout,
        max_bytes=max_bytes,
        enforce_policy=enforce_policy,
    )


def post(
    url: str,
    body: bytes,
    *,
    headers: dict,
    timeout: float | tuple[float, float],
    max_bytes: int = MAX_RESPONSE_BYTES,
    keep_alive: bool = False,
) -> OutboundResponse:
    """POST exactly `body` with `headers` to `url` under the policy (always enforced): for a signed
    body, whose bytes must not change after signing (outbound webhooks). `keep_alive` reuses a
    connection the checked connect step made earlier to the same scheme, host and port (webhooks
    send many messages to one endpoint); the URL is still checked on every call."""
    return _request(
        "POST",
        url,
        body=body,
        headers=headers,
        timeout=timeout,
        max_bytes=max_bytes,
        enforce_policy=True,
        keep_alive=keep_alive,
    )


def get(
    url: str,
    *,
    params: dict | None = None,
    headers: dict | None = None,
    timeout: float | tuple[float, float],
    max_bytes: int = MAX_RESPONSE_BYTES,
    enforce_policy: bool = True,
) -> OutboundResponse:
    """GET `url` (with `params` added to its query, a list value repeated) under the policy, as
    `post_json` does: any status comes back, redirects are not followed."""
    if params:
        url = f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params, doseq=True)}"
    return _request(
        "GET",
        url,
        body=None,
        headers=headers or {},
        timeout=timeout,
        max_bytes=max_bytes,
        enforce_policy=enforce_policy,
    )
