"""The (member, occurred_at) index of purchases covers total and returned amount: the window
counts of the stage and grid rules and the 12-month spend of tiers read the index alone. The new
index is built before the old one goes, so queries always have one."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0008_provisional_lapse_dates'),
        ('stores', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(fields=['member', 'occurred_at'], include=('total', 'returned_amount'), name='purchase_member_time'),
        ),
        migrations.RemoveIndex(
            model_name='purchase',
            name='members_pur_member__abb8f9_idx',
        ),
    ]
