"""The hub's roles as groups: viewer, steward (both domains or one), approver, hub admin."""

from django.db import migrations

VIEW = {
    "mdm": [
        "goldenrecord",
        "customer",
        "product",
        "sourcerecord",
        "crossreference",
        "hierarchytype",
        "hierarchyedge",
        "ownershiprule",
        "goldenmerge",
        "outboxevent",
        "system",
    ],
    "matching": ["matchcandidate", "matchdecision", "matchsettings", "matchmodel"],
    "governance": ["assignment"],
}
STEWARD_EXTRA = [("governance", "view_unmasked"), ("matching", "change_matchcandidate"), ("governance", "add_assignment")]
ROLES = {
    "Viewers": [],
    "Stewards": [*STEWARD_EXTRA, ("governance", "steward_customer"), ("governance", "steward_product")],
    "Customer stewards": [*STEWARD_EXTRA, ("governance", "steward_customer")],
    "Product stewards": [*STEWARD_EXTRA, ("governance", "steward_product")],
    "Approvers": [
        *STEWARD_EXTRA,
        ("governance", "steward_customer"),
        ("governance", "steward_product"),
        ("governance", "approve_changes"),
    ],
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions are otherwise made only after all migrations
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permission(app_label, codename):
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    viewing = [permission(app, f"view_{model}") for app, models in VIEW.items() for model in models]
    for name, extra in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([*viewing, *(permission(app, code) for app, code in extra)])
    admins, _ = Group.objects.get_or_create(name="Hub admins")
    admins.permissions.set(Permission.objects.filter(content_type__app_label__in=["mdm", "matching", "governance"]))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[*ROLES, "Hub admins"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0001_stewardship"),
        ("mdm", "0006_merge_edges_and_undo"),
        ("matching", "0004_deferred_outcome"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
