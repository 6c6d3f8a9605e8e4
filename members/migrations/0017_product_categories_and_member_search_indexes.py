import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# The categories tills have sent so far become the list staff pick from, each named by its code
# until someone names it.
SEED_CATEGORIES = """
    INSERT INTO members_category (code, name)
    SELECT DISTINCT category, category FROM members_purchaseline WHERE category <> ''
    ON CONFLICT (code) DO NOTHING
"""


class Migration(migrations.Migration):
    # The indexes are built CONCURRENTLY: a live member table of millions keeps taking purchases.
    atomic = False

    dependencies = [
        ("members", "0016_privacy_and_token_labels"),
    ]

    operations = [
        migrations.CreateModel(
            name="Category",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "code",
                    models.CharField(help_text="As the tills send it on purchase lines.", max_length=64, unique=True),
                ),
                ("name", models.CharField(max_length=100)),
            ],
            options={
                "verbose_name_plural": "categories",
                "ordering": ["name"],
            },
        ),
        migrations.RunSQL(SEED_CATEGORIES, migrations.RunSQL.noop),
        # Django writes this expression index as ((UPPER("name") text_pattern_ops)), which
        # PostgreSQL refuses; the SQL is spelled out, the model state is Django's.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "member_name_prefix" '
                    'ON "members_member" ((UPPER("name")) text_pattern_ops)',
                    'DROP INDEX CONCURRENTLY IF EXISTS "member_name_prefix"',
                )
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="member",
                    index=models.Index(
                        django.contrib.postgres.indexes.OpClass(
                            django.db.models.functions.text.Upper("name"), name="text_pattern_ops"
                        ),
                        name="member_name_prefix",
                    ),
                )
            ],
        ),
        AddIndexConcurrently(
            model_name="member",
            index=models.Index(django.db.models.functions.text.Upper("email"), name="member_email_upper"),
        ),
    ]
