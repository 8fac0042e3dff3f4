"""Seed each entity type's match thresholds, so they can be found and edited in the admin from the start."""

from django.db import migrations


def seed(apps, schema_editor):
    MatchSettings = apps.get_model("matching", "MatchSettings")
    for entity_type in ("customer", "product"):
        MatchSettings.objects.get_or_create(entity_type=entity_type)


class Migration(migrations.Migration):
    dependencies = [("matching", "0002_matcher")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
