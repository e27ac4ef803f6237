"""Data migrations, run on rows written by the schema before them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_membership_positions_are_filled_from_the_records():
    before, after = (
        [("registry", "0007_i8p99_job_finished_at")],
        [("registry", "0008_splitmembership_position")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Dataset, Version = apps.get_model("registry", "Dataset"), apps.get_model("registry", "DatasetVersion")
    Sequence, Record = apps.get_model("registry", "Sequence"), apps.get_model("registry", "Record")
    Split, Part = apps.get_model("registry", "Split"), apps.get_model("registry", "SplitPart")
    Membership = apps.get_model("registry", "SplitMembership")
    try:
        dataset = Dataset.objects.create(name="m", kind="protein")
        version = Version.objects.create(dataset=dataset, version="1", digest="0" * 64, record_count=4)
        records = []
        for position, residues in enumerate(["MKV", "MKW", "MKY", "MKF"]):
            sequence = Sequence.objects.create(sha256=f"{position:064x}", length=3, residues=residues)
            records.append(
                Record.objects.create(
                    version=version, position=position, identifier=f"r{position}", sequence=sequence
                )
            )
        split = Split.objects.create(version=version, name="s")
        test, train = (
            Part.objects.create(split=split, name="test", role="test", record_count=2),
            Part.objects.create(split=split, name="train", role="train", record_count=2),
        )
        for record in (records[3], records[1]):  # inserted out of file order
            Membership.objects.create(part=test, record=record)
        for record in (records[0], records[2]):
            Membership.objects.create(part=train, record=record)

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        Membership = executor.loader.project_state(after).apps.get_model("registry", "SplitMembership")
        got = {(m.part.name, m.record.identifier): m.position for m in Membership.objects.all()}
        assert got == {("test", "r3"): 3, ("test", "r1"): 1, ("train", "r0"): 0, ("train", "r2"): 2}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
