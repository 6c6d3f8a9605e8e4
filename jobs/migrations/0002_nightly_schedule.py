"""Default schedules for the nightly jobs, editable afterwards in the admin (django-celery-beat)."""

import json

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    # (name, task, args, hour, minute)
    ("Nightly: expire points", "jobs.start", ["expire_points"], 1, 0),
    ("Nightly: requalify tiers", "jobs.start", ["requalify_tiers"], 1, 30),
    ("Nightly: detect lapse", "jobs.start", ["detect_lapse"], 2, 0),
    ("Nightly: promote stages", "jobs.start", ["promote_stages"], 2, 30),
    ("Daily: purge POS idempotency records", "stores.purge_idempotency_records", [], 3, 30),
]


def create_schedules(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, args, hour, minute in SCHEDULES:
        crontab, _ = crontab_model.objects.get_or_create(
            minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        task_model.objects.get_or_create(name=name, defaults={"task": task, "args": json.dumps(args), "crontab": crontab})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
