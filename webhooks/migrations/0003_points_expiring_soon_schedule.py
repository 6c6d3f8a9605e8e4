"""Record `points.expiring_soon` events daily at 09:00 (editable in the admin, django-celery-beat).
Kept with the webhooks app's migrations so the rewards app's migration history is untouched."""

from django.db import migrations

NAME = "Daily 09:00: points expiring soon"


def create(apps, schema_editor):
    crontab, _ = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(
        minute="0", hour="9", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME, defaults={"task": "rewards.points_expiring_soon", "crontab": crontab}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_pump_schedule")]

    operations = [migrations.RunPython(create, remove)]
