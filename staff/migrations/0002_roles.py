"""Ships the back office's roles as groups (staff/roles.py says what each holds)."""

from django.db import migrations


def roles_install(apps, schema_editor):
    # The current roles, through the current models: the roles are data about today's models,
    # and a later migration that changes them calls roles_sync again.
    from staff.roles import roles_sync

    roles_sync(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_staff_roles_approvals_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_install, migrations.RunPython.noop)]
