from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = pgettext_lazy("app", "Members")
