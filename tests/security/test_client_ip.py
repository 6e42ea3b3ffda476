"""billing_project.client_ip: forwarding headers are believed only from trusted proxies."""

import pytest
from django.test import RequestFactory

from billing_project.client_ip import client_ip


def _request(remote="203.0.113.7", forwarded=None, real_ip=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    if real_ip is not None:
        extra["HTTP_X_REAL_IP"] = real_ip
    return RequestFactory().get("/", **extra)


def test_by_default_no_header_is_believed(settings):
    settings.TRUSTED_PROXIES = []
    assert (
        client_ip(_request("198.51.100.4", forwarded="1.2.3.4", real_ip="5.6.7.8"))
        == "198.51.100.4"
    )


@pytest.mark.parametrize(
    "forwarded, real_ip, expected",
    [
        ("198.51.100.9", "198.51.100.9", "198.51.100.9"),  # the bundled nginx: one hop
        (
            "6.6.6.6, 198.51.100.9",
            "198.51.100.9",
            "198.51.100.9",
        ),  # the client's own X-Forwarded-For is a lie
        ("198.51.100.9, 10.0.0.3", None, "198.51.100.9"),  # a load balancer (trusted) before nginx
        (None, "198.51.100.9", "198.51.100.9"),  # X-Real-IP only
        ("[2001:db8::5]:443", None, "2001:db8::5"),
        ("198.51.100.9:51234", None, "198.51.100.9"),
        ("198.51.100.9, not-an-ip", None, "172.18.0.5"),  # garbage: nothing left of it is believed
        ("10.0.0.8, 10.0.0.3", None, "10.0.0.8"),  # a client inside our own network
    ],
)
def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client(
    settings, forwarded, real_ip, expected
):
    settings.TRUSTED_PROXIES = ["172.18.0.0/16", "10.0.0.0/8"]
    assert client_ip(_request("172.18.0.5", forwarded=forwarded, real_ip=real_ip)) == expected


def test_an_untrusted_peer_cannot_claim_to_be_a_proxy(settings):
    settings.TRUSTED_PROXIES = ["172.18.0.0/16"]
    assert (
        client_ip(_request("198.51.100.4", forwarded="172.18.0.5, 1.2.3.4", real_ip="1.2.3.4"))
        == "198.51.100.4"
    )
