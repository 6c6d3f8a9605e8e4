"""The base class of every Celery task here (`task_cls` in loyalty/celery.py): the request id of
the web request that queued a task travels with it as a message header and is bound to the task's
log lines, and each run is timed and counted (loyalty_celery_task_* metrics)."""

import time

from celery import Task

from loyalty import logs, metrics

HEADER = "request_id"


class ObservedTask(Task):
    def apply_async(self, args=None, kwargs=None, **options):
        request_id = logs.current("request_id")
        if request_id:
            options["headers"] = {HEADER: request_id, **(options.get("headers") or {})}
        return super().apply_async(args, kwargs, **options)

    def _request_id(self) -> str | None:
        # A worker merges custom headers into the request; an eager run keeps them under `headers`.
        return getattr(self.request, HEADER, None) or (self.request.headers or {}).get(HEADER)

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        with logs.bound(request_id=self._request_id(), task=self.name):
            try:
                result = super().__call__(*args, **kwargs)
            except Exception as exc:
                metrics.TASK_DURATION.labels(self.name, "failure").observe(time.perf_counter() - started)
                metrics.TASK_FAILURES.labels(self.name, type(exc).__name__).inc()
                raise
        metrics.TASK_DURATION.labels(self.name, "success").observe(time.perf_counter() - started)
        return result
