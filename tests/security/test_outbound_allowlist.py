"""The outbound URL policy's named exceptions and its `make run` mode: OUTBOUND_URL_ALLOWLIST (hosts
or CIDRs) lets exactly those internal targets through; OUTBOUND_DEV_LOOPBACK allows plain http to
loopback only and still refuses private, link-local and metadata addresses; answers are read up to a
cap. (The refusals of literal addresses, rebinding and redirects are in test_outbound.py.)"""

import pytest

from billing_project import outbound


@pytest.fixture
def strict(settings):
    settings.OUTBOUND_ALLOW_HTTP = False
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = []
    settings.OUTBOUND_URL_ALLOWLIST = []
    settings.OUTBOUND_DEV_LOOPBACK = False
    return settings


def test_an_allowlisted_cidr_lets_its_addresses_through_and_nothing_else(receiver, strict):
    strict.OUTBOUND_ALLOW_HTTP = True
    with pytest.raises(outbound.OutboundRefused):
        outbound.post_json(receiver.url(), {"a": 1}, timeout=5)
    strict.OUTBOUND_URL_ALLOWLIST = ["127.0.0.0/30"]
    assert outbound.post_json(receiver.url(), {"a": 1}, timeout=5).status == 200
    with pytest.raises(outbound.OutboundRefused):
        outbound.url_check("http://10.0.0.1/hook")
    assert len(receiver.requests) == 1


def test_an_allowlisted_host_name_is_let_through_on_any_port(receiver, strict, fake_dns):
    strict.OUTBOUND_ALLOW_HTTP = True
    fake_dns({"billing-sink.internal": ["127.0.0.1"], "other.internal": ["127.0.0.1"]})
    strict.OUTBOUND_URL_ALLOWLIST = ["billing-sink.internal"]
    url = f"http://billing-sink.internal:{receiver.port}/hook"
    assert outbound.post_json(url, {"a": 1}, timeout=5).status == 200
    with pytest.raises(outbound.OutboundRefused):  # resolves to an allowed address, but not named
        outbound.post_json(f"http://other.internal:{receiver.port}/hook", {"a": 1}, timeout=5)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hooks",
        "http://localhost:9000/hooks",
        "http://[::1]:9000/hooks",
        "https://example.com/hooks",
    ],
)
def test_make_run_accepts_http_to_loopback(strict, url):
    strict.OUTBOUND_DEV_LOOPBACK = True
    outbound.url_check(url)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://example.com/hooks", "https"),  # http to anything but this machine
        ("http://10.0.0.1/hooks", "https"),
        ("https://10.0.0.1/hooks", "private"),
        ("https://192.168.1.10/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data/", "private"),  # cloud metadata
        ("https://[fe80::1]/hooks", "private"),  # link-local
        ("https://100.64.0.1/hooks", "private"),  # CGNAT
    ],
)
def test_make_run_still_refuses_the_inside(strict, url, reason):
    strict.OUTBOUND_DEV_LOOPBACK = True
    with pytest.raises(outbound.OutboundRefused, match=reason):
        outbound.url_check(url)


def test_make_run_refuses_a_name_resolving_to_a_private_address(strict, fake_dns):
    strict.OUTBOUND_DEV_LOOPBACK = True
    fake_dns({"inside.example.test": ["10.1.2.3"]})
    with pytest.raises(outbound.OutboundRefused, match="private"):
        outbound.resolve_checked("inside.example.test", 443)


def test_make_run_posts_to_a_loopback_receiver(receiver, strict):
    strict.OUTBOUND_DEV_LOOPBACK = True
    assert outbound.post_json(receiver.url(), {"a": 1}, timeout=5).status == 200


def test_an_answer_is_read_up_to_the_cap(receiver, strict):
    strict.OUTBOUND_ALLOW_PRIVATE_HOSTS = [f"127.0.0.1:{receiver.port}"]
    strict.OUTBOUND_ALLOW_HTTP = True
    response = outbound.post(
        receiver.url(), b"{}", headers={"Content-Type": "application/json"}, timeout=5, max_bytes=1
    )
    assert response.status == 200 and response.body == b"o" and response.truncated
