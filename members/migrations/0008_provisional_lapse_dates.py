"""A purchase now sets a provisional lapse date (last purchase + the policy's minimum) instead of
clearing it, so the nightly job finds the members due through the lapse-date index alone."""

from datetime import timedelta

from django.db import migrations
from django.db.models import F


def set_provisional_dates(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    StagePolicy = apps.get_model("members", "StagePolicy")
    policy = StagePolicy.objects.filter(pk=1).first()
    minimum = timedelta(days=policy.lapse_min_days if policy else 180)
    Member.objects.filter(lapse_due_at__isnull=True, last_purchase_at__isnull=False).exclude(
        lapse_state="lapsed"
    ).update(lapse_due_at=F("last_purchase_at") + minimum, lapse_basis_at=None)


class Migration(migrations.Migration):
    dependencies = [("members", "0007_recorded_at_indexes")]

    operations = [migrations.RunPython(set_provisional_dates, migrations.RunPython.noop)]
