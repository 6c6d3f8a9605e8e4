from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from stores.models import Channel
from stores.services import store_api_key_create, store_get_or_create


class Command(BaseCommand):
    help = "Create a store if needed and a new API key for it. The key is the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store name; created if it does not exist.")
        parser.add_argument("--channel", choices=Channel.values, default=Channel.STORE)
        parser.add_argument("--label", default="", help="What the key is for, e.g. 'till 3'.")
        parser.add_argument(
            "--chain-wide",
            action="store_true",
            help="May read and cancel other stores' redemptions and cancel their vouchers (head office).",
        )
        parser.add_argument(
            "--member-details",
            action="store_true",
            help="May read members' full records (phone, email, birthday); tills need not.",
        )

    def handle(self, *args, store, channel, label, chain_wide, member_details, **options):
        try:
            store_obj = store_get_or_create(name=store, channel=channel)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        key, raw_key = store_api_key_create(
            store=store_obj, label=label, chain_wide=chain_wide, member_details=member_details
        )
        self.stdout.write(
            gettext("API key %(prefix)s… for store “%(store)s” (shown once, keep it now):")
            % {"prefix": key.prefix, "store": store_obj.name}
        )
        self.stdout.write(raw_key)
