"""Publishing in the roles: every role sees targets, deliveries (the exception queue) and runs; stewards and
approvers may replay rejected and dead-lettered deliveries; hub admins configure targets and mappings."""

from django.db import migrations

VIEW = ["target", "fieldmapping", "delivery", "deliveryrun", "pullwatermark"]
REPLAYERS = ["Stewards", "Customer stewards", "Product stewards", "Approvers"]
ALL_ROLES = ["Viewers", *REPLAYERS]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions are otherwise made only after all migrations
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    viewing = list(Permission.objects.filter(content_type__app_label="mdm", codename__in=[f"view_{m}" for m in VIEW]))
    replay = Permission.objects.get(content_type__app_label="mdm", codename="replay_delivery")
    for group in Group.objects.filter(name__in=ALL_ROLES):
        group.permissions.add(*viewing)
        if group.name in REPLAYERS:
            group.permissions.add(replay)
    admins = Group.objects.filter(name="Hub admins").first()
    if admins is not None:
        admins.permissions.add(*Permission.objects.filter(content_type__app_label="mdm"))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    publishing = Permission.objects.filter(content_type__app_label="mdm", content_type__model__in=VIEW)
    for group in Group.objects.filter(name__in=ALL_ROLES):
        group.permissions.remove(*publishing)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0006_hierarchy_and_rule_requests"),
        ("mdm", "0010_publishing"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
