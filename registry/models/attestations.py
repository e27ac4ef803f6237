"""Split attestations: what a split was checked to guarantee, by which method, with every violation.

An attestation is immutable: a split verified again (other settings, newer tools) gets a new one.
It is bound to the split's digest (its parts and their records), so a reader can tell that it
attests exactly the split they have. Its violations are the cross-part pairs that the tiers found
at or above the attested identity and coverage: for every record of the later part (train before
validation before test) with a hit in the earlier one, the closest such hit.
"""

import uuid

from django.db import models
from django.db.models import Q

from .datasets import Record, Split, SplitPart
from .jobs import Job


class SplitAttestation(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    split = models.ForeignKey(Split, on_delete=models.PROTECT, related_name="attestations")
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="split_attestation"
    )
    split_digest = models.CharField(max_length=64, help_text="sha256 of the split (README: split digest).")
    identity = models.FloatField(
        help_text="Attested identity threshold: pairs at or above it are violations."
    )
    coverage = models.FloatField(help_text="Minimal coverage of the later part's record by the alignment.")
    tiers = models.JSONField(help_text="Tiers requested, e.g. ['exact', 'minhash', 'mmseqs'].")
    method = models.JSONField(help_text="Detection method per pair of parts, as dedup reports it.")
    versions = models.JSONField(help_text="Versions of dedup and the tools that ran.")
    calibration = models.JSONField(help_text="Measured recall of the tiers that ran, per identity.")
    pairs = models.JSONField(help_text="Per pair of parts: counts per threshold, max identity, violations.")
    shared_ids = models.JSONField(default=list, help_text="[{identifier, parts}] for ids in several parts.")
    max_identity = models.FloatField(
        null=True, blank=True, help_text="Highest cross-part identity found (None: no pair at the threshold)."
    )
    violation_count = models.PositiveIntegerField()
    claim_holds = models.BooleanField(
        null=True,
        blank=True,
        help_text="Whether the split's claimed guarantee holds (None: no claim, or untested).",
    )
    claim_note = models.TextField(blank=True)
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(split_digest__regex=r"^[0-9a-f]{64}$"),
                name="splitattestation_digest_sha256",
                violation_error_message="split_digest must be 64 lowercase hex characters (sha256).",
            ),
            models.CheckConstraint(
                condition=Q(identity__gt=0) & Q(identity__lte=1) & Q(coverage__gte=0) & Q(coverage__lte=1),
                name="splitattestation_thresholds_fractions",
                violation_error_message="identity and coverage are fractions (identity above 0).",
            ),
        ]

    def __str__(self) -> str:
        return f"attestation {self.uuid} of {self.split}"


class SplitViolation(models.Model):
    """A record of the later part with a hit in the earlier part at or above the attested thresholds."""

    attestation = models.ForeignKey(SplitAttestation, on_delete=models.CASCADE, related_name="violations")
    earlier_part = models.ForeignKey(SplitPart, on_delete=models.PROTECT, related_name="+")
    later_part = models.ForeignKey(SplitPart, on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(
        Record, on_delete=models.PROTECT, related_name="+", help_text="In the later part."
    )
    reference = models.ForeignKey(
        Record, on_delete=models.PROTECT, related_name="+", help_text="In the earlier."
    )
    identity = models.FloatField()
    coverage = models.FloatField()
    reference_coverage = models.FloatField(null=True, blank=True)
    tier = models.CharField(max_length=16)

    class Meta:
        ordering = ["attestation", "-identity", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["attestation", "earlier_part", "later_part", "record"],
                name="splitviolation_unique_record",
                violation_error_message="A record has one (closest) violation per pair of parts.",
            ),
        ]
