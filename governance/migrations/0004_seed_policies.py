"""The default approval policy per entity type: ERP-owned edits and merges of two ERP-backed records need approval."""

from django.db import migrations


def seed(apps, schema_editor):
    ApprovalPolicy = apps.get_model("governance", "ApprovalPolicy")
    for entity_type in ("customer", "product"):
        ApprovalPolicy.objects.get_or_create(entity_type=entity_type)


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_change_requests")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
