"""Each hit's place in its report (best first), filled for the stored reports: the hits pages' cursor."""

from django.db import migrations, models

# registry.models.overlap.hit_order, in SQL: identity, then query coverage (none last), then the query
# record. UPDATE ... FROM is PostgreSQL's and SQLite's (3.33 and later).
FILL = """
UPDATE registry_overlaphit SET "rank" = ranked.place
FROM (
    SELECT id, ROW_NUMBER() OVER (
        PARTITION BY report_id
        ORDER BY identity DESC, query_coverage IS NULL, query_coverage DESC, query_record_id
    ) - 1 AS place
    FROM registry_overlaphit
) AS ranked
WHERE ranked.id = registry_overlaphit.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_splitmembership_position"),
    ]

    operations = [
        migrations.AddField(
            model_name="overlaphit",
            name="rank",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop, elidable=False),
        migrations.AlterField(
            model_name="overlaphit",
            name="rank",
            field=models.PositiveIntegerField(
                help_text="The hit's place in its report, best first from 0 (hit_order: identity, then query "
                "coverage with none last, then the query record): the order and the cursor of the hits pages."
            ),
        ),
        migrations.AlterModelOptions(
            name="overlaphit",
            options={"ordering": ["report", "rank"]},
        ),
        migrations.AddConstraint(
            model_name="overlaphit",
            constraint=models.UniqueConstraint(
                fields=("report", "rank"),
                name="overlaphit_unique_rank",
                violation_error_message="A rank appears once in a report.",
            ),
        ),
    ]
