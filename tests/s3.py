"""moto's S3 server for the object-storage tests: a real HTTP endpoint (other processes, such as the
live gunicorn servers, reach it too), one per test session, with a fresh bucket per test.

    def test_x(s3_bucket, settings):   # s3_bucket.storage_config(): STORAGES["default"] for it
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass

import boto3
import pytest

from billing_project.storage_config import default_storage_config

ACCESS_KEY, SECRET_KEY, REGION = "testing-key", "testing-secret", "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Bucket:
    name: str
    endpoint_url: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def environment(self) -> dict[str, str]:
        """The STORAGE_S3_* variables a server process is configured with."""
        return {
            "STORAGE_S3_BUCKET": self.name,
            "STORAGE_S3_ENDPOINT_URL": self.endpoint_url,
            "STORAGE_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "STORAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "STORAGE_S3_REGION": REGION,
            "STORAGE_S3_ADDRESSING_STYLE": "path",
        }

    def storage_config(self) -> dict:
        """STORAGES["default"] as settings.py builds it from environment()."""
        env = self.environment()
        return default_storage_config(
            bucket=env["STORAGE_S3_BUCKET"],
            endpoint_url=env["STORAGE_S3_ENDPOINT_URL"],
            access_key=env["STORAGE_S3_ACCESS_KEY_ID"],
            secret_key=env["STORAGE_S3_SECRET_ACCESS_KEY"],
            region=env["STORAGE_S3_REGION"],
            addressing_style=env["STORAGE_S3_ADDRESSING_STYLE"],
        )


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """URL of a moto S3 server (`moto_server`, from moto[server] in requirements-dev.txt)."""
    port = _free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto's S3 server did not start on {url}")
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def s3_bucket(s3_endpoint) -> Bucket:
    bucket = Bucket(name=f"billing-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint)
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket


@pytest.fixture
def s3_storage(s3_bucket, settings) -> Bucket:
    """This process's default_storage is the bucket (Django resets default_storage on the change)."""
    settings.STORAGES = {**settings.STORAGES, "default": s3_bucket.storage_config()}
    return s3_bucket
