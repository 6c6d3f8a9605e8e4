from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from imports.services import ImportFileError, members_import

from ._import_output import ProgressPrinter, recompute_after_import, report_lines


class Command(BaseCommand):
    help = (
        "Import members from a UTF-8 CSV file with a header: external_id, phone, name, email, birthday, "
        "enrolled_at, store (external_id or phone per row). Rows already imported are left as they are. "
        "Afterwards the nightly jobs run over every member (stages, tiers, lapse, grid, customer value)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--rejected", type=Path, help="Write the rejected rows (line, reason) to this CSV file.")
        parser.add_argument(
            "--no-recompute",
            action="store_true",
            help="Skip running the nightly jobs over every member afterwards (when more files follow).",
        )

    def handle(self, *args, file: Path, rejected: Path | None, **options):
        try:
            with file.open("rb") as stream:
                report = members_import(stream=stream, progress=ProgressPrinter(self.stderr._out))
        except FileNotFoundError as exc:
            raise CommandError(f"{file}: no such file") from exc
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        for line in report_lines(report):
            self.stdout.write(line)
        if rejected:
            rejected.write_text(report.rejected_csv(), encoding="utf-8")
        if report.inserted and not options["no_recompute"]:
            recompute_after_import(self.stdout)
