from contextlib import nullcontext
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from imports.services import ImportFileError, purchases_import
from stores.models import Store

from ._import_output import ProgressPrinter, recompute_after_import, report_lines


class Command(BaseCommand):
    help = (
        "Import purchases from a UTF-8 CSV file with a header: external_id or card_number or phone, receipt_id, "
        "occurred_at, total, and optional store, channel, currency; lines optionally from a second file "
        "(receipt_id, store, sku, category, quantity, unit_price). Receipts already recorded are left as they "
        "are. Afterwards the nightly jobs run over every member (stages, tiers, lapse, grid, customer value)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--lines", type=Path, help="A CSV file of purchase lines.")
        parser.add_argument("--store", help="The store code for rows that name none.")
        parser.add_argument(
            "--create-members", action="store_true", help="Create a member for an unknown external_id or phone."
        )
        parser.add_argument("--no-points", action="store_true", help="Import without earning points.")
        parser.add_argument("--rejected", type=Path, help="Write the rejected rows (line, reason) to this CSV file.")
        parser.add_argument(
            "--no-recompute",
            action="store_true",
            help="Skip running the nightly jobs over every member afterwards (when more files follow).",
        )

    def handle(self, *args, file: Path, lines: Path | None, store: str | None, rejected: Path | None, **options):
        default_store = None
        if store:
            default_store = Store.objects.filter(code=store).first()
            if default_store is None:
                raise CommandError(f"--store {store}: no store has this code")
        try:
            with file.open("rb") as stream, lines.open("rb") if lines else nullcontext() as lines_stream:
                report = purchases_import(
                    stream=stream,
                    lines_stream=lines_stream,
                    default_store=default_store,
                    create_members=options["create_members"],
                    earn_points=not options["no_points"],
                    progress=ProgressPrinter(self.stderr._out),
                )
        except FileNotFoundError as exc:
            raise CommandError(f"{exc.filename}: no such file") from exc
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report_lines(report):
            self.stdout.write(line)
        if rejected:
            rejected.write_text(report.rejected_csv(), encoding="utf-8")
        if report.inserted and not options["no_recompute"]:
            recompute_after_import(self.stdout)
