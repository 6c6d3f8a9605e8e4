"""Default VIP tiers for a fresh install, so that the first buyer gets a tier: Member, Silver,
Gold and Black on rolling 12-month spend in CNY. They are only a starting point, edited in the
admin; a database that already has tiers (an upgrade, the demo) is left as it is."""

from decimal import Decimal

from django.db import migrations

DEFAULT_TIERS = [
    ("member", "Member", Decimal(0), Decimal("1.00"), "Points on every purchase."),
    ("silver", "Silver", Decimal(2000), Decimal("1.25"), "1.25x points on every purchase."),
    ("gold", "Gold", Decimal(8000), Decimal("1.50"), "1.5x points on every purchase."),
    ("black", "Black", Decimal(20000), Decimal("2.00"), "2x points on every purchase."),
]


def create_default_tiers(apps, schema_editor):
    tier_model = apps.get_model("tiers", "Tier")
    if tier_model.objects.exists():
        return
    tier_model.objects.bulk_create(
        tier_model(code=code, name=name, rank=rank, threshold=threshold, earn_multiplier=multiplier, benefits=benefits)
        for rank, (code, name, threshold, multiplier, benefits) in enumerate(DEFAULT_TIERS, start=1)
    )


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial")]

    operations = [migrations.RunPython(create_default_tiers, migrations.RunPython.noop)]
