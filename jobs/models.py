"""Runs of the batch jobs and the chunks they are split into, so several workers share a run
and a chunk redelivered after a worker died is simply run again."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.admin_display import local_time


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    # Every chunk was tried; at least one still failed after its retries (its error is on it).
    FAILED = "failed", _("Finished with failures")


class JobRun(models.Model):
    """One run of a named job as of a point in time. `since` is set for an incremental run: only
    what changed after that moment is examined."""

    name = models.CharField(max_length=40, verbose_name=_("name"))
    as_of = models.DateTimeField(verbose_name=_("as of"))
    since = models.DateTimeField(null=True, blank=True, verbose_name=_("since"))
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING, verbose_name=_("status")
    )
    chunks_total = models.PositiveIntegerField(default=0, verbose_name=_("chunks total"))
    chunks_done = models.PositiveIntegerField(default=0, verbose_name=_("chunks done"))
    chunks_failed = models.PositiveIntegerField(
        default=0, help_text=_("Chunks that still failed after their retries."), verbose_name=_("chunks failed")
    )
    examined = models.PositiveBigIntegerField(default=0, verbose_name=_("examined"))
    changed = models.PositiveBigIntegerField(default=0, verbose_name=_("changed"))
    started_at = models.DateTimeField(auto_now_add=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    triggered_by = models.CharField(max_length=80, blank=True, verbose_name=_("triggered by"))
    params = models.JSONField(
        default=dict, blank=True, help_text=_("Computed once per run, shared by its chunks."), verbose_name=_("params")
    )

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total") - models.F("chunks_failed")),
                name="job_run_chunks_le_total",
            ),
        ]
        indexes = [models.Index(fields=["name", "status", "-as_of"])]
        permissions = [("run_job", _("Can start a batch job"))]

    def __str__(self):
        return f"{self.name} as of {local_time(self.as_of)} ({self.status})"

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class ChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class JobChunk(models.Model):
    """A range of member ids [id_from, id_to) of one run: every member in it, or only `member_ids`
    when the run knew beforehand which members could have changed."""

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("run"))
    index = models.PositiveIntegerField(verbose_name=_("index"))
    id_from = models.BigIntegerField(verbose_name=_("ID from"))
    id_to = models.BigIntegerField(verbose_name=_("ID to"))
    member_ids = models.JSONField(
        null=True,
        blank=True,
        help_text=_("Only these members of the range (an incremental run's candidates)."),
        verbose_name=_("member ids"),
    )
    status = models.CharField(
        max_length=10, choices=ChunkStatus.choices, default=ChunkStatus.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a worker last took it, or when its retry is due (a stale one is queued again)."),
        verbose_name=_("claimed at"),
    )
    failures = models.PositiveSmallIntegerField(default=0, verbose_name=_("failures"))
    error = models.TextField(
        blank=True, help_text=_("The last failure, as the worker saw it."), verbose_name=_("error")
    )
    examined = models.PositiveIntegerField(default=0, verbose_name=_("examined"))
    changed = models.PositiveIntegerField(default=0, verbose_name=_("changed"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("job chunk")
        verbose_name_plural = _("job chunks")
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="job_chunk_unique_index"),
            models.CheckConstraint(condition=Q(id_to__gt=models.F("id_from")), name="job_chunk_range_not_empty"),
        ]
        # The watchdog looks at claimed chunks and those waiting for a retry, a handful at a time.
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="running") | Q(status="pending", failures__gt=0),
                name="job_chunk_watched",
            )
        ]

    def __str__(self):
        return f"{self.run.name} chunk {self.index} [{self.id_from}, {self.id_to})"
