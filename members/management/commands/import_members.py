from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from members.imports import ImportFileError, members_import

from ._import_output import ProgressPrinter, report_lines


class Command(BaseCommand):
    help = (
        "Import members from a UTF-8 CSV file with a header: external_id, phone, name, email, birthday, "
        "enrolled_at, store (external_id or phone per row). Rows already imported are left as they are. "
        "Afterwards run the journey jobs: run_job stages_promote, run_job customer_value."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--rejected", type=Path, help="Write the rejected rows (line, reason) to this CSV file.")

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
