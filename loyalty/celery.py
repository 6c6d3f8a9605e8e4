"""The Celery app. Configuration comes from Django settings (the CELERY_ namespace)."""

import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

app = Celery("loyalty", task_cls="loyalty.celery_task:ObservedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class MetricsServer(bootsteps.StartStopStep):
    """With METRICS_PORT set, the worker's main process serves its pool's metrics (task durations
    and failures, batch job chunks) on that port, behind the same token as the web app's."""

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.server = None

    def start(self, parent):
        port = os.environ.get("METRICS_PORT")
        if port:
            from loyalty.metrics import serve_in_thread

            self.server = serve_in_thread(int(port))

    def stop(self, parent):
        if self.server is not None:
            self.server.shutdown()


app.steps["worker"].add(MetricsServer)
