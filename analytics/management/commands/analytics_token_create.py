from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError

from ...tokens import analytics_token_create


class Command(BaseCommand):
    help = "Create an analytics API token for a staff user and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("label")

    def handle(self, *args, username, label, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            _token, raw = analytics_token_create(user=user, label=label)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(raw)
