"""Band keys are derived data: on PostgreSQL their table is UNLOGGED (no write-ahead log).

Loading Swiss-Prot's 17 million band keys took 42 s logged and 26 s unlogged on the benchmark
machine. The cost: PostgreSQL empties an unlogged table after a server crash (and does not
replicate it to standbys). ``registry.overlap.index.band_keys_ensure`` notices an empty band-key
table next to stored signatures and rebuilds the keys from the signatures (no re-sketching).
"""

from django.db import migrations


def set_unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE registry_bandkey SET UNLOGGED")


def set_logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE registry_bandkey SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_overlap_index_and_reports")]

    operations = [migrations.RunPython(set_unlogged, set_logged)]
