"""A task for the warm-shutdown test only: the worker under test imports it (`celery worker -I`)."""

import time
from pathlib import Path

from billing_project.celery import app


@app.task(name="tests.reliability.sleep_then_mark")
def sleep_then_mark(seconds: float, path: str) -> str:
    Path(path + ".started").touch()
    time.sleep(seconds)
    Path(path + ".done").touch()
    return "slept"
