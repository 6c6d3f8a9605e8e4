from django.db import migrations, models
from django.db.models import Count


def refuse_duplicate_receipts(apps, schema_editor):
    """The constraint cannot be added over duplicates; say which ones rather than fail on an
    IntegrityError. Which of two redemptions on one receipt was meant is for a person to decide."""
    Redemption = apps.get_model("rewards", "Redemption")
    duplicates = list(
        Redemption.objects.values("store_id", "receipt_id").annotate(n=Count("id")).filter(n__gt=1).order_by()[:20]
    )
    if duplicates:
        listed = ", ".join(f"store {d['store_id']} receipt {d['receipt_id']!r} ({d['n']}x)" for d in duplicates)
        raise RuntimeError(
            "Redemptions share a receipt_id within a store; give the later ones a distinct receipt_id "
            f"(e.g. a '-2' suffix) and migrate again: {listed}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0011_lighter_member_and_habit_indexes"),
        ("rewards", "0006_discount_has_value"),
        ("stores", "0002_api_key_scopes"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicate_receipts, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(model_name="redemption", name="rewards_red_store_i_a50d33_idx"),
        migrations.AddConstraint(
            model_name="redemption",
            constraint=models.UniqueConstraint(fields=("store", "receipt_id"), name="redemption_receipt_unique_per_store"),
        ),
    ]
