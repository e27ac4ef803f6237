"""The overlap service's tables: the persistent LSH index and the overlap and contamination reports.

The index holds, per sketch settings, one MinHash signature per sequence (``SequenceSketch``)
and its LSH band keys (``BandKey``). Both belong to sequences, not records, so a sequence is
sketched once however many datasets contain it. A candidate search is one join on
``(settings, band_key)``.

Reports are immutable results: ``OverlapReport`` is one query record set against one reference
record set under one detection method (``method_key``), with the best hit of every query record
that has one (``OverlapHit``); ``ContaminationReport`` joins the reports of an evaluation's
record set against everything its model was trained on. A report row is written together with
its hits in one transaction, at the end of the job: it is either complete or absent.
"""

import uuid

from django.db import models
from django.db.models import Q

from .datasets import Record, RecordSet, Sequence
from .ml import Evaluation


class SketchSettings(models.Model):
    """Sketch parameters (``dedup.params.SketchParams``) with the LSH banding used for the index."""

    id = models.SmallAutoField(primary_key=True)  # two bytes in every BandKey row
    key = models.CharField(max_length=200, unique=True, help_text="params key + ':b<bands>r<rows>'")
    kind = models.CharField(max_length=16)
    params_key = models.CharField(max_length=200, help_text="dedup.params.SketchParams.key()")
    num_perm = models.PositiveSmallIntegerField()
    bands = models.PositiveSmallIntegerField()
    rows = models.PositiveSmallIntegerField()
    threshold = models.FloatField(help_text="Target Jaccard similarity the banding was derived from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "sketch settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(bands__gte=1) & Q(rows__gte=1),
                name="sketchsettings_banding_positive",
                violation_error_message="bands and rows must be at least 1.",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class SequenceSketch(models.Model):
    """The MinHash signature of one sequence under one sketch settings (little-endian uint32)."""

    # The primary key makes "a sequence is sketched once per settings" an invariant of the table.
    pk = models.CompositePrimaryKey("settings", "sequence")
    settings = models.ForeignKey(SketchSettings, on_delete=models.PROTECT, related_name="+", db_index=False)
    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="+", db_index=False)
    signature = models.BinaryField()


class BandKey(models.Model):
    """One LSH band key of one sequence: the rows a candidate search joins on.

    The composite primary key ``(settings, band_key, sequence)`` is the only index: it makes
    re-indexing idempotent and serves the ``(settings, band_key)`` lookup as its prefix. The
    foreign keys carry no database constraint on purpose: this table holds ``bands`` rows per
    sequence (tens of millions for a large registry) and a per-row constraint trigger would
    dominate bulk loading; every row is written in the same transaction as the sequence's
    ``SequenceSketch``, which does carry the constraints.
    """

    pk = models.CompositePrimaryKey("settings", "band_key", "sequence")
    settings = models.ForeignKey(
        SketchSettings, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    band_key = models.BigIntegerField()
    sequence = models.ForeignKey(
        Sequence, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )


class OverlapReport(models.Model):
    """A query record set against a reference record set under one detection method; immutable."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    query_set = models.ForeignKey(RecordSet, on_delete=models.PROTECT, related_name="overlap_reports")
    reference_set = models.ForeignKey(RecordSet, on_delete=models.PROTECT, related_name="+")
    method_key = models.CharField(max_length=64, help_text="sha256 of the detection method's settings.")
    settings = models.ForeignKey(SketchSettings, null=True, on_delete=models.PROTECT, related_name="+")
    tiers = models.JSONField(help_text='Tiers that ran, e.g. ["exact", "minhash"].')
    thresholds = models.JSONField(help_text="Identity thresholds (fractions), highest first.")
    coverage = models.FloatField(help_text="Minimal coverage of the query record (fraction).")
    query_digest = models.CharField(max_length=64)
    reference_digest = models.CharField(max_length=64)
    query_records = models.PositiveIntegerField()
    reference_records = models.PositiveIntegerField()
    summary = models.JSONField(help_text="Per threshold: query records with a hit and the fraction.")
    method = models.JSONField(help_text="Tiers, settings, tool versions and the calibration table.")
    duration_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["query_set", "reference_set", "method_key"],
                name="overlapreport_unique",
                violation_error_message="This pair of record sets already has a report for this method.",
            ),
        ]

    def __str__(self) -> str:
        return f"overlap {self.query_set_id} x {self.reference_set_id} ({self.uuid})"


def hit_order(identity: float, query_coverage: float | None, query_record_id: int) -> tuple:
    """The sort key of a report's hits, best first: :attr:`OverlapHit.rank` is the place in this order."""
    return (-identity, query_coverage is None, -(query_coverage or 0.0), query_record_id)


class OverlapHit(models.Model):
    """The best hit of one query record in a report (highest identity, then coverage)."""

    class Tier(models.TextChoices):
        EXACT = "exact", "exact"
        MINHASH = "minhash", "MinHash + alignment"
        MMSEQS = "mmseqs", "MMseqs2"
        ESTIMATED = "estimated", "estimated from Jaccard (sketch-only reference, not aligned)"

    report = models.ForeignKey(OverlapReport, on_delete=models.PROTECT, related_name="hits", db_index=False)
    query_record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="+")
    reference_record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="+")
    identity = models.FloatField()
    # NULL for estimated hits: nothing was aligned, so no coverage was measured.
    query_coverage = models.FloatField(null=True)
    reference_coverage = models.FloatField(null=True)
    jaccard = models.FloatField(null=True)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    rank = models.PositiveIntegerField(
        help_text="The hit's place in its report, best first from 0 (hit_order: identity, then query "
        "coverage with none last, then the query record): the order and the cursor of the hits pages."
    )

    class Meta:
        ordering = ["report", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "query_record"],
                name="overlaphit_one_best_per_query",
                violation_error_message="A report keeps one best hit per query record.",
            ),
            # a report's hits pages read off it a page at a time, by a cursor without ties
            models.UniqueConstraint(
                fields=["report", "rank"],
                name="overlaphit_unique_rank",
                violation_error_message="A rank appears once in a report.",
            ),
            models.CheckConstraint(
                condition=Q(identity__gte=0, identity__lte=1)
                & Q(query_coverage__gte=0, query_coverage__lte=1)
                & Q(reference_coverage__gte=0, reference_coverage__lte=1),
                name="overlaphit_fractions",
                violation_error_message="identity and coverages are fractions from 0 to 1.",
            ),
        ]


class ContaminationReport(models.Model):
    """An evaluation's record set against its model's training ancestry, with clean-subset metrics."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="contamination_reports")
    method_key = models.CharField(max_length=64)
    overlap_reports = models.ManyToManyField(OverlapReport, related_name="contamination_reports")
    summary = models.JSONField(
        help_text="Per threshold: contaminated records, fraction, clean-subset metrics."
    )
    method = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "method_key"],
                name="contaminationreport_unique",
                violation_error_message="This evaluation already has a contamination report for this method.",
            ),
        ]

    def __str__(self) -> str:
        return f"contamination of {self.evaluation_id} ({self.uuid})"


class RecordSetIndex(models.Model):
    """Marks a record set whose every sequence is in the index under ``settings``.

    Inputs are immutable, so once written the mark stays true; checking it is one lookup instead
    of an anti-join over the record set at every query.
    """

    record_set = models.ForeignKey(RecordSet, on_delete=models.PROTECT, related_name="+")
    settings = models.ForeignKey(SketchSettings, on_delete=models.PROTECT, related_name="+")
    sequences = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_set", "settings"],
                name="recordsetindex_unique",
                violation_error_message="This record set is already marked indexed for these settings.",
            ),
        ]
