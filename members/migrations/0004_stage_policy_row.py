from django.db import migrations


def create_policy(apps, schema_editor):
    apps.get_model("members", "StagePolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("members", "0003_member_tier")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
