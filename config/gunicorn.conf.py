"""gunicorn settings of the web process: `gunicorn --config config/gunicorn.conf.py` (the entrypoint's
`web`, the image's default CMD). Options given on the command line still win over these.

Each worker process counts its own Prometheus series. With PROMETHEUS_MULTIPROC_DIR set,
prometheus_client's multi-process mode keeps them in files in that directory, and /metrics
(billing_project.metrics.metrics_view) sums every worker's files, whichever worker answers the
scrape. Without it, a scrape sees only the worker that answered it.
"""

import os

from prometheus_client import multiprocess

# gunicorn reads every module-level name that matches one of its settings; the rest are ignored.
wsgi_app = "billing_project.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# gunicorn's sync worker, woken alone for each new connection (billing_project/gunicorn_worker.py).
worker_class = "billing_project.gunicorn_worker.SyncWorker"
# LOG_LEVEL as for Django (billing_project.settings): one access line per request only at DEBUG (in
# docker compose nginx logs every request anyway); `make run` passes WARNING, so no worker boot lines.
_log_level = os.environ.get("LOG_LEVEL", "INFO").upper()
loglevel = (
    _log_level.lower()
    if _log_level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    else "info"
)
accesslog = "-" if _log_level == "DEBUG" else None
# SIGTERM (docker stop, a Kubernetes rollout) is gunicorn's graceful stop: the master closes the
# listening sockets, each worker finishes the request it is serving, and only workers still busy
# after this many seconds are killed. The orchestrator's own grace period must be longer
# (docker-compose.yml: stop_grace_period); SIGQUIT/SIGINT stop at once.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))


def _multiproc_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server):
    """The master, before forking any worker: files left by an earlier run would be added to this
    run's counters, so the directory starts empty. Only its content is removed: it may be a mount."""
    directory = _multiproc_dir()
    if directory is None:
        return
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.is_file() or entry.is_symlink():
            os.unlink(entry.path)


def child_exit(server, worker):
    """A worker exited (crash, timeout, recycling, reload): its live gauges stop counting. Its counters
    stay in the files, so totals keep growing monotonically across worker restarts."""
    if _multiproc_dir() is not None:
        multiprocess.mark_process_dead(worker.pid)
