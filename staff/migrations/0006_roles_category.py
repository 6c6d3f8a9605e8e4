"""The marketing manager edits the product categories (members.Category, Settings > Categories):
the roles' groups are synced again with staff/roles.py."""

from django.db import migrations


def roles_install(apps, schema_editor):
    from staff.roles import roles_sync

    roles_sync(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0005_category_audit"),
        ("members", "0017_product_categories_and_member_search_indexes"),
    ]

    operations = [migrations.RunPython(roles_install, migrations.RunPython.noop)]
