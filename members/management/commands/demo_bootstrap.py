import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from stores.models import Channel
from stores.services import store_api_key_create, store_get_or_create

DEMO_STORE = "Demo POS"


class Command(BaseCommand):
    help = "For `make run`: demo data if the database is empty, an admin account and a demo store API key."

    def handle(self, *args, **options):
        call_command("seed_demo", "--if-empty", stdout=self.stdout)
        password = secrets.token_urlsafe(12)
        admin, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        store = store_get_or_create(name=DEMO_STORE, channel=Channel.STORE)
        _, raw_key = store_api_key_create(store=store, label="make run")
        self.stdout.write(
            "\n"
            "  Admin:        http://127.0.0.1:8000/admin/   user: admin   password: " + password + "\n"
            "  API docs:     http://127.0.0.1:8000/api/docs/\n"
            "  Demo POS key: " + raw_key + "\n"
            "  Try:          curl -H 'Authorization: Api-Key " + raw_key + "' "
            "'http://127.0.0.1:8000/api/v1/members/lookup/?phone=13900000001'\n"
        )
