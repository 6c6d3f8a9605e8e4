import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from members.models import Member
from stores.models import Channel
from stores.services import store_api_key_create, store_get_or_create

DEMO_STORE = "Demo POS"
DEMO_PHONE = "+8613900000001"


class Command(BaseCommand):
    help = "For `make run`: demo data if the database is empty, an admin account and a demo store API key."

    def add_arguments(self, parser):
        parser.add_argument("--migrate", action="store_true", help="apply migrations first")
        parser.add_argument(
            "--serve", metavar="HOST:PORT", help="then serve the demo there (development server, no reloader)"
        )

    def handle(self, *args, migrate, serve, **options):
        # One process migrates, loads and serves: a restart of the demo pays for one start-up.
        if migrate:
            call_command("migrate", interactive=False, verbosity=options["verbosity"], stdout=self.stdout)
        base = f"http://{serve or '127.0.0.1:8000'}"
        if serve and ":" not in serve:
            raise CommandError(_("--serve takes HOST:PORT, e.g. 127.0.0.1:8000"))
        call_command("seed_demo", "--if-empty", stdout=self.stdout)
        password = secrets.token_urlsafe(12)
        admin, _created = get_user_model().objects.get_or_create(
            username="admin", defaults={"email": "admin@example.com"}
        )
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        store = store_get_or_create(name=DEMO_STORE, channel=Channel.STORE)
        _key, raw_key = store_api_key_create(store=store, label="make run")
        card = Member.objects.filter(phone=DEMO_PHONE).values_list("card_number", flat=True).first() or "-"
        self.stdout.write(
            "\n"
            f"  Admin:        {base}/admin/   user: admin   password: {password}\n"
            f"  API docs:     {base}/api/docs/\n"
            f"  Demo POS key: {raw_key}\n"
            f"  Demo card:    {card}   (the member with phone 13900000001)\n"
            f"  Try:          curl -H 'Authorization: Api-Key {raw_key}' "
            f"'{base}/api/v1/members/lookup/?phone=13900000001'\n"
        )
        if serve:
            self.stdout.flush()
            call_command("runserver", serve, use_reloader=False)
