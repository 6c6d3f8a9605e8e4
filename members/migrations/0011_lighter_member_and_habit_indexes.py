"""A member row is updated on every purchase: drop the b-tree indexes on name and email (staff
search them by substring, which they cannot serve), and leave 15% of each page free
so that updates of unindexed columns (balance, spend, counts, last purchase) stay on the page
(heap-only tuples) instead of adding an entry to every index; rows written from now on get the
room, VACUUM FULL gives it to existing ones. Habits get an index the stage rules count recent
categories and channels from alone, and lose the member's own index (both others lead with it)."""

import django.db.models.deletion
from django.db import migrations, models


def leave_room_on_pages(apps, schema_editor):
    schema_editor.execute("ALTER TABLE members_member SET (fillfactor = 85)")


def fill_pages(apps, schema_editor):
    schema_editor.execute("ALTER TABLE members_member RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0010_purchase_window_index_with_points'),
    ]

    operations = [
        migrations.RunPython(leave_room_on_pages, fill_pages),
        migrations.RemoveIndex(
            model_name='member',
            name='members_mem_name_8eb2d0_idx',
        ),
        migrations.RemoveIndex(
            model_name='member',
            name='members_mem_email_afed21_idx',
        ),
        migrations.AlterField(
            model_name='memberhabit',
            name='member',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='habits', to='members.member'),
        ),
        migrations.AddIndex(
            model_name='memberhabit',
            index=models.Index(fields=['member', 'dimension', 'last_at'], name='member_habit_recent'),
        ),
    ]
