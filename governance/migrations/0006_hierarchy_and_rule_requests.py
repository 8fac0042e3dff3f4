"""Change requests for hierarchy edges and ownership rules, and who must approve them.

The approval policy gains two settings (defaults: hierarchy edits applied by the steward directly, ownership-
rule changes always approved); a change request gains the domain it belongs to (filled in from its golden
record for the requests made so far), the hierarchy edge or ownership rule it is about, and a golden record
and base version that only edits and merges need.
"""

import django.db.models.deletion
from django.db import migrations, models


def fill_entity_type(apps, schema_editor):
    GoldenRecord = apps.get_model("mdm", "GoldenRecord")
    for name in ("ChangeRequest", "HistoricalChangeRequest"):
        model = apps.get_model("governance", name)
        for entity_type in ("customer", "product"):
            goldens = GoldenRecord.objects.filter(entity_type=entity_type).values("pk")
            model.objects.filter(golden_id__in=goldens).update(entity_type=entity_type)


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0005_merge_requests'),
        ('mdm', '0009_override_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='approvalpolicy',
            name='hierarchy_edits',
            field=models.CharField(choices=[('never', 'Never: stewards add and end hierarchy edges directly'), ('always', 'Always')], default='never', help_text='Adding or ending a parent→child edge in a hierarchy of this entity type.', max_length=12),
        ),
        migrations.AddField(
            model_name='approvalpolicy',
            name='ownership_rules',
            field=models.CharField(choices=[('never', 'Never: stewards change ownership rules directly'), ('always', 'Always')], default='always', help_text='A new order of owning systems or fallback for an attribute: every golden record is recomputed.', max_length=12),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='attribute',
            field=models.CharField(blank=True, default='', help_text="The ownership rule's attribute.", max_length=60),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='edge',
            field=models.ForeignKey(blank=True, help_text='The edge to end; once applied, also the edge added.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='mdm.hierarchyedge'),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='entity_type',
            field=models.CharField(choices=[('customer', 'Customer'), ('product', 'Product')], default='customer', help_text='The domain it belongs to.', max_length=20),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='changerequest',
            name='hierarchy',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='mdm.hierarchytype'),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='parent',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='parent_requests', to='mdm.goldenrecord'),
        ),
        migrations.AddField(
            model_name='historicalapprovalpolicy',
            name='hierarchy_edits',
            field=models.CharField(choices=[('never', 'Never: stewards add and end hierarchy edges directly'), ('always', 'Always')], default='never', help_text='Adding or ending a parent→child edge in a hierarchy of this entity type.', max_length=12),
        ),
        migrations.AddField(
            model_name='historicalapprovalpolicy',
            name='ownership_rules',
            field=models.CharField(choices=[('never', 'Never: stewards change ownership rules directly'), ('always', 'Always')], default='always', help_text='A new order of owning systems or fallback for an attribute: every golden record is recomputed.', max_length=12),
        ),
        migrations.AddField(
            model_name='historicalchangerequest',
            name='attribute',
            field=models.CharField(blank=True, default='', help_text="The ownership rule's attribute.", max_length=60),
        ),
        migrations.AddField(
            model_name='historicalchangerequest',
            name='edge',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The edge to end; once applied, also the edge added.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='mdm.hierarchyedge'),
        ),
        migrations.AddField(
            model_name='historicalchangerequest',
            name='entity_type',
            field=models.CharField(choices=[('customer', 'Customer'), ('product', 'Product')], default='customer', help_text='The domain it belongs to.', max_length=20),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='historicalchangerequest',
            name='hierarchy',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='mdm.hierarchytype'),
        ),
        migrations.AddField(
            model_name='historicalchangerequest',
            name='parent',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='mdm.goldenrecord'),
        ),
        migrations.AlterField(
            model_name='changerequest',
            name='base_version',
            field=models.PositiveIntegerField(blank=True, help_text="Edits and merges: the golden record's version the diff was made against.", null=True),
        ),
        migrations.AlterField(
            model_name='changerequest',
            name='changes',
            field=models.JSONField(help_text="{name: {'before': …, 'after': …}}: standardised attribute values, the edge, or the rule's systems and fallback."),
        ),
        migrations.AlterField(
            model_name='changerequest',
            name='golden',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='change_requests', to='mdm.goldenrecord'),
        ),
        migrations.AlterField(
            model_name='changerequest',
            name='kind',
            field=models.CharField(choices=[('edit', 'Edit of golden attributes'), ('merge', 'Merge of two golden records'), ('hierarchy', 'Hierarchy edge added or ended'), ('ownership_rule', 'Ownership rule changed')], default='edit', max_length=16),
        ),
        migrations.AlterField(
            model_name='historicalchangerequest',
            name='base_version',
            field=models.PositiveIntegerField(blank=True, help_text="Edits and merges: the golden record's version the diff was made against.", null=True),
        ),
        migrations.AlterField(
            model_name='historicalchangerequest',
            name='changes',
            field=models.JSONField(help_text="{name: {'before': …, 'after': …}}: standardised attribute values, the edge, or the rule's systems and fallback."),
        ),
        migrations.AlterField(
            model_name='historicalchangerequest',
            name='kind',
            field=models.CharField(choices=[('edit', 'Edit of golden attributes'), ('merge', 'Merge of two golden records'), ('hierarchy', 'Hierarchy edge added or ended'), ('ownership_rule', 'Ownership rule changed')], default='edit', max_length=16),
        ),
        migrations.RunPython(fill_entity_type, migrations.RunPython.noop),
    ]
