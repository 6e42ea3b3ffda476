"""The real web server (gunicorn, config/gunicorn.conf.py, DEBUG off) under concurrent clients."""

import requests

from tests.conftest import DEMO_PASSWORD
from tests.reliability.conftest import portal_host


def test_live_server_serves_the_api_and_the_portal_from_the_test_database(live_server_url):
    assert requests.get(live_server_url + "/health", timeout=10).json()["status"] in ("ok", "degraded")
    plans = requests.get(live_server_url + "/api/v1/plans", timeout=10)
    assert plans.status_code == 200, plans.text
    login = requests.post(live_server_url + "/api/v1/auth/login", timeout=10,
                          json={"email": "owner@acme.test", "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    current = requests.get(live_server_url + "/api/v1/tenants/current", timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    assert current.status_code == 200, current.text
    assert current.json()["slug"] == "acme"
    portal = requests.get(live_server_url + "/", headers=portal_host("acme", live_server_url), timeout=10,
                          allow_redirects=False)
    assert portal.status_code in (200, 302), portal.status_code
