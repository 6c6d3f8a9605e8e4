"""Complaint escalation every five minutes and survey invitations every hour (editable in the admin)."""

import json

from django.db import migrations

SCHEDULES = [
    ("Every 5 minutes: escalate overdue complaints", "feedback.escalate_complaints", [], 300),
    ("Hourly: invite recent buyers to the survey", "jobs.start", ["invite_to_surveys"], 3600),
]


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, args, seconds in SCHEDULES:
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.get_or_create(name=name, defaults={"task": task, "args": json.dumps(args), "interval": interval})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_default_survey_and_targets"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
