"""`make run` (scripts/dev.py serve) gives its gunicorn prometheus_client's multi-process directory,
so /metrics sums every worker's request series (tests/test_metrics_multiprocess.py proves the
summing); the Celery worker and beat do not get it, since gunicorn's master empties it at start."""

import scripts.dev as dev


class _Exited:
    returncode = 0

    def poll(self):
        return 0  # every process "exits" at once: serve() stops after spawning them


class _Services:
    def __init__(self):
        self.processes = []
        self.spawned = {}

    def spawn(self, name, command, env):
        self.spawned[name] = env
        self.processes.append((name, _Exited()))


def _serve(monkeypatch, env):
    monkeypatch.setattr(dev.signal, "signal", lambda *args: None)  # leave pytest's handlers alone
    services = _Services()
    dev.serve(services, env, port=8999)
    return services.spawned


def test_the_web_process_counts_metrics_in_a_directory_of_its_own(monkeypatch):
    spawned = _serve(monkeypatch, {"LOG_LEVEL": "WARNING"})
    assert spawned["web"]["PROMETHEUS_MULTIPROC_DIR"] == str(dev.DATA / "prometheus")
    assert "PROMETHEUS_MULTIPROC_DIR" not in spawned["worker"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in spawned["beat"]


def test_a_configured_directory_wins(monkeypatch, tmp_path):
    spawned = _serve(monkeypatch, {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert spawned["web"]["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
