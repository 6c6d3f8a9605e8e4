"""The nightly schedule of the daily sales refresh (editable afterwards in the admin), at 03:15:
after the nightly jobs that record returns' effects and before the customer value run."""

import json

from django.conf import settings
from django.db import migrations

NAME = "Nightly: daily sales aggregate"


def create(apps, schema_editor):
    crontab, _ = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME, defaults={"task": "jobs.start", "args": json.dumps(["refresh_daily_sales"]), "crontab": crontab}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_daily_sales"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
