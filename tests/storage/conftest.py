"""Fixtures of the object-storage tests (moto S3 server, a bucket per test)."""

from tests.s3 import s3_bucket, s3_endpoint, s3_storage  # noqa: F401
