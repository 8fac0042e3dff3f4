"""Seed the systems, hierarchy types and default ownership rules (see mdm/seed.py)."""

from django.db import migrations

from mdm.seed import seed


class Migration(migrations.Migration):
    dependencies = [("mdm", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
