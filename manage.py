#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # Read the settings first: Django's command runner swallows a settings error (a missing
    # SECRET_KEY with DEBUG off, a malformed value) and most commands then fail with an unrelated
    # "Models aren't loaded yet". This way the real message is what the operator sees.
    settings.INSTALLED_APPS  # noqa: B018
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
