"""The covering purchase index also carries the points, so the loyalty grid reads a member's
window from the index alone. Built before the narrower one goes."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0009_purchase_covering_index'),
        ('stores', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(fields=['member', 'occurred_at'], include=('total', 'returned_amount', 'points_earned', 'base_points'), name='purchase_member_window'),
        ),
        migrations.RemoveIndex(
            model_name='purchase',
            name='purchase_member_time',
        ),
    ]
