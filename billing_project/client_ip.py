"""The client's IP address, the one helper for it (login throttles of the API, the portal and the admin).

A header is only as honest as whoever wrote it: X-Forwarded-For and X-Real-IP are believed only when the
direct peer (REMOTE_ADDR) is one of settings.TRUSTED_PROXIES (IPs or CIDRs; empty = trust none, the
default). Then X-Forwarded-For is read from the right, skipping our own trusted proxies: the first hop
that is not one of them is the client (hops further left were written by the client and prove nothing).
X-Real-IP, which the bundled nginx overwrites with its peer, is the fallback when X-Forwarded-For names
no client.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()
    )


def _trusted(ip: IPAddress) -> bool:
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if (
        ip.version == 6 and ip.ipv4_mapped
    ):  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks if network.version == ip.version)


def _parse(value: str | None) -> IPAddress | None:
    """An address from a header hop: "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443", "2001:db8::1"."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip(request) -> str:
    """The address of the client behind this request (REMOTE_ADDR unless a trusted proxy says otherwise)."""
    remote_text = request.META.get("REMOTE_ADDR", "")
    remote = _parse(remote_text)
    if remote is None:
        return remote_text or "unknown"
    if not _trusted(remote):
        return str(remote)
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    closest_believable = None
    for hop in reversed(hops):
        ip = _parse(hop)
        if ip is None:  # garbage where an address should be: nothing left of it can be believed
            break
        if not _trusted(ip):
            return str(ip)
        closest_believable = ip
    real_ip = _parse(request.META.get("HTTP_X_REAL_IP"))
    if real_ip is not None:
        return str(real_ip)
    # Every believable hop is one of our proxies (a client inside our own network).
    return str(closest_believable or remote)
