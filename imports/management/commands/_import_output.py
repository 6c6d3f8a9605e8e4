"""What the import commands print: progress on stderr, the report on stdout, rejections to a file."""

import sys
import time

from django.utils.translation import gettext as _

from imports.services import jobs_after_import_run


class ProgressPrinter:
    """Prints `stage: done/total (percent)` at most every half second, and each stage's end."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.5:
            return
        self.last = now
        percent = 100 * done // total if total else 100
        self.stream.write(f"\r{stage}: {done:,}/{total:,} ({percent}%)")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def report_lines(report) -> list[str]:
    lines = [
        _("%(rows)s rows read, %(inserted)s inserted, %(unchanged)s already there, %(rejected)s rejected.")
        % {
            "rows": f"{report.rows:,}",
            "inserted": f"{report.inserted:,}",
            "unchanged": f"{report.unchanged:,}",
            "rejected": f"{len(report.rejected):,}",
        }
    ]
    if report.members_created:
        lines.append(_("%(count)s members created.") % {"count": f"{report.members_created:,}"})
    if report.points:
        lines.append(_("%(points)s points earned.") % {"points": f"{report.points:,}"})
    for rejection in report.rejected[:20]:
        lines.append(_("line %(line)s: %(reason)s") % {"line": rejection.line, "reason": rejection.reason})
    if len(report.rejected) > 20:
        lines.append(_("... and %(more)s more rejected rows.") % {"more": f"{len(report.rejected) - 20:,}"})
    return lines


def recompute_after_import(stdout) -> None:
    for summary in jobs_after_import_run(triggered_by="import command"):
        stdout.write(summary.line())
