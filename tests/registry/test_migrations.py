"""Data migrations, run on rows written by the schema before them."""

import contextlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def schema_at(before: str, after: str):
    """Migrate back to ``before``; yield (historical apps, a function migrating to ``after`` and giving its
    apps); migrate to the latest schema at the end, whatever happened."""

    def forward():
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("registry", after)])
        return executor.loader.project_state([("registry", after)]).apps

    executor = MigrationExecutor(connection)
    executor.migrate([("registry", before)])
    try:
        yield executor.loader.project_state([("registry", before)]).apps, forward
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def _records(apps, name: str, n: int) -> list:
    Dataset, Version = apps.get_model("registry", "Dataset"), apps.get_model("registry", "DatasetVersion")
    Sequence, Record = apps.get_model("registry", "Sequence"), apps.get_model("registry", "Record")
    dataset = Dataset.objects.create(name=name, kind="protein")
    version = Version.objects.create(dataset=dataset, version="1", digest="0" * 64, record_count=n)
    records = []
    for position in range(n):
        sha = f"{name}{position}".encode().hex().rjust(64, "0")
        sequence = Sequence.objects.create(sha256=sha, length=3, residues="MK" + "ACDEFGHIKL"[position])
        records.append(
            Record.objects.create(
                version=version, position=position, identifier=f"r{position}", sequence=sequence
            )
        )
    return records


def test_membership_positions_are_filled_from_the_records():
    with schema_at("0007_i8p99_job_finished_at", "0008_splitmembership_position") as (apps, forward):
        records = _records(apps, "m", 4)
        Split, Part = apps.get_model("registry", "Split"), apps.get_model("registry", "SplitPart")
        Membership = apps.get_model("registry", "SplitMembership")
        split = Split.objects.create(version=records[0].version, name="s")
        test = Part.objects.create(split=split, name="test", role="test", record_count=2)
        train = Part.objects.create(split=split, name="train", role="train", record_count=2)
        for record in (records[3], records[1]):  # inserted out of file order
            Membership.objects.create(part=test, record=record)
        for record in (records[0], records[2]):
            Membership.objects.create(part=train, record=record)

        Membership = forward().get_model("registry", "SplitMembership")
        got = {(m.part.name, m.record.identifier): m.position for m in Membership.objects.all()}
        assert got == {("test", "r3"): 3, ("test", "r1"): 1, ("train", "r0"): 0, ("train", "r2"): 2}


def test_hit_ranks_are_filled_best_first_with_ties_broken_by_query_record():
    with schema_at("0008_splitmembership_position", "0009_overlaphit_rank") as (apps, forward):
        query, reference = _records(apps, "q", 6), _records(apps, "r", 1)
        RecordSet = apps.get_model("registry", "RecordSet")
        Report, Hit = apps.get_model("registry", "OverlapReport"), apps.get_model("registry", "OverlapHit")
        query_set = RecordSet.objects.create(version=query[0].version)
        reference_set = RecordSet.objects.create(version=reference[0].version)
        reports = []
        for name in ("a", "b"):  # two reports: ranks start again at 0 in each
            reports.append(
                Report.objects.create(
                    query_set=query_set,
                    reference_set=reference_set,
                    method_key=name * 64,
                    tiers=["exact"],
                    thresholds=[0.9],
                    coverage=0.8,
                    query_digest="0" * 64,
                    reference_digest="0" * 64,
                    query_records=6,
                    reference_records=1,
                    summary={},
                    method={},
                )
            )
        # (query record, identity, query coverage), inserted in no particular order
        rows = [(4, 0.9, 0.85), (0, 1.0, 1.0), (5, 0.95, None), (2, 1.0, 1.0), (1, 0.95, 0.9), (3, 0.95, 0.9)]
        for report in reports:
            for q, identity, qcov in rows:
                Hit.objects.create(
                    report=report,
                    query_record=query[q],
                    reference_record=reference[0],
                    identity=identity,
                    query_coverage=qcov,
                    reference_coverage=None if qcov is None else 1.0,
                    tier="minhash",
                )

        Hit = forward().get_model("registry", "OverlapHit")
        for report in reports:
            ranked = [
                h.query_record.identifier for h in Hit.objects.filter(report_id=report.pk).order_by("rank")
            ]
            assert ranked == ["r0", "r2", "r1", "r3", "r5", "r4"]  # coverage None after 0.9 at 0.95
            assert sorted(Hit.objects.filter(report_id=report.pk).values_list("rank", flat=True)) == list(
                range(6)
            )
