from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo's data and `make run`'s start-up: above every app, imported by none."""

    name = "demo"
