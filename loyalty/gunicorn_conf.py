"""gunicorn's configuration (`bin/web` runs `gunicorn loyalty.wsgi --config python:loyalty.gunicorn_conf`).

Read from the environment so the container, docker-compose and CI set it the same way.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "3"))
# No access log: the app writes one JSON line per request with a request id and without the query
# string (which can carry a phone number, e.g. members/lookup/?phone=).
accesslog = None
# gunicorn's own messages (start, worker boot and timeouts) in the same format as the app's.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "loyalty.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if os.environ.get("LOG_FORMAT", "json") == "json" else "plain",
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}


def child_exit(server, worker):
    """A dead worker's live gauges must not be summed with the living (prometheus_client's
    multiprocess mode); its counters stay, as they should."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
