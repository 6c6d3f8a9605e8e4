from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores and POS access"

    def ready(self):
        from . import schema  # noqa: F401  registers the OpenAPI description of API keys
