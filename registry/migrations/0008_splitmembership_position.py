"""A copy of each member record's position in its split membership, filled from the records."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_positions(apps, schema_editor):
    SplitMembership = apps.get_model("registry", "SplitMembership")
    Record = apps.get_model("registry", "Record")
    position = Record.objects.filter(pk=OuterRef("record_id")).values("position")[:1]
    SplitMembership.objects.using(schema_editor.connection.alias).update(position=Subquery(position))


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_i8p99_job_finished_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="splitmembership",
            name="position",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(fill_positions, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="splitmembership",
            name="position",
            field=models.PositiveIntegerField(
                help_text="The record's position in its version (a copy: a part's records are read in file "
                "order off the (part, position) index, a page at a time)."
            ),
        ),
        migrations.AddConstraint(
            model_name="splitmembership",
            constraint=models.UniqueConstraint(
                fields=("part", "position"),
                name="splitmembership_unique_position",
                violation_error_message="A position appears once in a part.",
            ),
        ),
    ]
