"""Datasets, their immutable versions, the sequences and records inside them, lineage and splits."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .names import validate_name, validate_version


class Kind(models.TextChoices):
    PROTEIN = "protein", "protein"
    DNA = "dna", "DNA"
    RNA = "rna", "RNA"
    TEXT = "text", "text"


class VersionRole(models.TextChoices):
    """What a version was registered as, besides what its use implies (see ``selectors``)."""

    NONE = "", "none"
    TRAINING = "training", "training set"
    BENCHMARK = "benchmark", "benchmark (test set)"


class Dataset(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True, validators=[validate_name])
    kind = models.CharField(max_length=16, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="datasets"
    )
    group = models.ForeignKey(
        "auth.Group",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="datasets",
        help_text="Members of this group may add versions and splits, as the owner may.",
    )
    license = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=1000, blank=True, help_text="Where the data comes from (URL, DOI).")
    description = models.TextField(blank=True)
    authors = models.JSONField(
        default=list, blank=True, help_text='Who made the data, as cited: [{"family", "given"} or {"name"}].'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["protein", "dna", "rna", "text"]),
                name="dataset_kind_valid",
                violation_error_message="kind must be protein, dna, rna or text.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DatasetVersion(models.Model):
    """An immutable snapshot ``name@version`` with an order-free sha256 digest over all its records."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=64, validators=[validate_version])
    digest = models.CharField(max_length=64, help_text="sha256, order-free, over every record (README).")
    record_count = models.PositiveIntegerField()
    residue_count = models.PositiveBigIntegerField(default=0)
    role = models.CharField(max_length=16, choices=VersionRole.choices, blank=True, default="")
    source_filename = models.CharField(max_length=500, blank=True)
    format = models.CharField(max_length=16, blank=True)
    sketch_only = models.BooleanField(
        default=False,
        help_text="Registered from a sketch file (.llsk): sha256, length and MinHash signature per record, "
        "no residues. Its records cannot be downloaded and its hits are estimated from Jaccard.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset__name", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "version"],
                name="datasetversion_unique_version",
                violation_error_message="This dataset already has a version with that name.",
            ),
            models.UniqueConstraint(
                fields=["dataset", "digest"],
                name="datasetversion_unique_digest",
                violation_error_message="This dataset already has a version with identical content.",
            ),
            models.CheckConstraint(
                condition=Q(digest__regex=r"^[0-9a-f]{64}$"),
                name="datasetversion_digest_sha256",
                violation_error_message="digest must be 64 lowercase hex characters (sha256).",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return f"{self.dataset.name}@{self.version}"


class Sequence(models.Model):
    """One normalised residue string, stored once registry-wide, keyed by its sha256."""

    sha256 = models.CharField(max_length=64, unique=True)
    # NULL: known only by its sha256, length and signature (records of sketch-only versions); the
    # residues are filled in when a full version with the same sequence is registered.
    residues = models.TextField(null=True)  # noqa: DJ001 - NULL (unknown) is not "" (an empty sequence)
    length = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="sequence_sha256_hex",
                violation_error_message="sha256 must be 64 lowercase hex characters.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.length})"


class Record(models.Model):
    """A sequence inside a dataset version, under the identifier and description its file gave."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="records")
    position = models.PositiveIntegerField(help_text="0-based order in the registered file.")
    identifier = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="records")

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "identifier"],
                name="record_unique_identifier",
                violation_error_message="Identifiers are unique within a version.",
            ),
            models.UniqueConstraint(
                fields=["version", "position"],
                name="record_unique_position",
                violation_error_message="Positions are unique within a version.",
            ),
        ]

    def __str__(self) -> str:
        return self.identifier


class Derivation(models.Model):
    """A lineage edge between dataset versions, with the transform that made the target."""

    source = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="derivations")
    target = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="derived_from")
    transform = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target"],
                name="derivation_unique_edge",
                violation_error_message="This derivation is already recorded.",
            ),
            models.CheckConstraint(
                condition=~Q(source=F("target")),
                name="derivation_not_self",
                violation_error_message="A version cannot be derived from itself.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


class Split(models.Model):
    """A named partition of a dataset version into parts."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="splits")
    name = models.CharField(max_length=200, validators=[validate_name])
    shared_ids_allowed = models.BooleanField(default=False)
    # The guarantee the split claims: no two records in different parts at or above this identity
    # (at this coverage of the later part's record); checked by its attestations.
    claimed_max_identity = models.FloatField(null=True, blank=True)
    claimed_coverage = models.FloatField(null=True, blank=True)
    # How the split was made when the registry generated it (make_split): method, settings, seed.
    provenance = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "name"],
                name="split_unique_name",
                violation_error_message="This version already has a split with that name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version.ref}/{self.name}"


class SplitPart(models.Model):
    class Role(models.TextChoices):
        TRAIN = "train", "train"
        VALIDATION = "validation", "validation"
        TEST = "test", "test"
        OTHER = "other", "other"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    split = models.ForeignKey(Split, on_delete=models.PROTECT, related_name="parts")
    name = models.CharField(max_length=200, validators=[validate_name])
    role = models.CharField(max_length=16, choices=Role.choices)
    record_count = models.PositiveIntegerField()
    records = models.ManyToManyField(Record, through="SplitMembership", related_name="parts")

    class Meta:
        ordering = ["split", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["split", "name"],
                name="splitpart_unique_name",
                violation_error_message="This split already has a part with that name.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["train", "validation", "test", "other"]),
                name="splitpart_role_valid",
                violation_error_message="role must be train, validation, test or other.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.split}:{self.name}"


class SplitMembership(models.Model):
    part = models.ForeignKey(SplitPart, on_delete=models.PROTECT)
    record = models.ForeignKey(Record, on_delete=models.PROTECT)
    position = models.PositiveIntegerField(
        help_text="The record's position in its version (a copy: a part's records are read in file order "
        "off the (part, position) index, a page at a time)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["part", "record"],
                name="splitmembership_unique",
                violation_error_message="A record appears once in a part.",
            ),
            models.UniqueConstraint(
                fields=["part", "position"],
                name="splitmembership_unique_position",
                violation_error_message="A position appears once in a part.",
            ),
        ]


class RecordSet(models.Model):
    """What overlap is computed over: a whole dataset version, or one part of a split.

    One row per version and one per part, made when they are registered, so that models,
    evaluations and overlap reports can point at either with one foreign key.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="record_sets")
    part = models.OneToOneField(
        SplitPart, null=True, blank=True, on_delete=models.PROTECT, related_name="record_set"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version"],
                condition=Q(part__isnull=True),
                name="recordset_one_whole_version",
                violation_error_message="A version has one whole-version record set.",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        if self.part_id is None:
            return self.version.ref
        return f"{self.version.ref}/{self.part.split.name}:{self.part.name}"
