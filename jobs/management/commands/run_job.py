from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import DomainError
from jobs.registry import JOBS, NIGHTLY_ORDER
from jobs.services import job_run_now


class Command(BaseCommand):
    help = "Run a batch job synchronously and print a one-line summary (or 'nightly' for all, in order)."

    def add_arguments(self, parser):
        # A campaign run needs its campaign id: campaigns.run_due starts those.
        parser.add_argument("name", choices=[*(name for name in JOBS if name != "campaign"), "nightly"])
        parser.add_argument(
            "--as-of", help="ISO date or date-time to run as of (default: now); a date means its start."
        )
        parser.add_argument("--full", action="store_true", help="Examine every member, not only what changed.")

    def handle(self, *args, name, as_of, full, **options):
        moment = self._parse(as_of) if as_of else None
        for job in NIGHTLY_ORDER if name == "nightly" else [name]:
            try:
                summary = job_run_now(name=job, as_of=moment, full=full, triggered_by="run_job command")
            except DomainError as exc:
                raise CommandError(exc.detail) from exc
            self.stdout.write(summary.line())

    def _parse(self, value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--as-of must be an ISO date-time, got {value!r}") from exc
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
