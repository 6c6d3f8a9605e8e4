import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext

from demo.data import build_demo
from members.models import Member


class Command(BaseCommand):
    help = "Load demo data (stores, members, 18 months of purchases) through the services."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--members", type=int, default=1500)
        parser.add_argument("--months", type=int, default=18)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if members already exist.")

    def handle(self, *args, seed, members, months, if_empty, **options):
        if Member.objects.exists():
            if if_empty:
                self.stdout.write(gettext("Demo data: members already exist, nothing loaded."))
                return
            raise CommandError(gettext("The database already has members; demo data goes into an empty database."))
        if not 1 <= members <= 100_000 or not 1 <= months <= 36:
            raise CommandError(gettext("--members must be 1-100000 and --months 1-36."))
        started = time.monotonic()
        with transaction.atomic():
            summary = build_demo(seed=seed, members=members, months=months)
        self.stdout.write(
            gettext(
                "Demo data: %(stores)d stores, %(members)d members, %(purchases)d purchases, %(returns)d returns, "
                "%(redemptions)d redemptions, %(messages)d messages sent in %(seconds).0fs."
            )
            % {
                "stores": summary.stores,
                "members": summary.members,
                "purchases": summary.purchases,
                "returns": summary.returns,
                "redemptions": summary.redemptions,
                "messages": summary.messages_sent,
                "seconds": time.monotonic() - started,
            }
        )
