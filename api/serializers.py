"""Serializers: explicit fields, names and UUIDs only (never integer keys), links as absolute URLs.

Output serializers are read-only views of registry rows. Input serializers validate the shape
of a request and nothing more: the registry's services own every rule.
"""

import math
import re
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db.models.manager import BaseManager
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.http import RFC3986_SUBDELIMS
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dedup.parsing import FORMATS as FILE_FORMATS
from registry import version_reads
from registry.errors import RegistryError
from registry.models import (
    Dataset,
    DatasetVersion,
    Derivation,
    Evaluation,
    Job,
    Kind,
    MLModel,
    ModelVersion,
    Record,
    RecordSet,
    Split,
    SplitPart,
    VersionRole,
)
from registry.models.names import NAME_PATTERN, VERSION_PATTERN
from registry.services.ingest import parse_authors

from . import schema_components as components

REF_PATTERN = NAME_PATTERN[:-1] + "@" + VERSION_PATTERN[1:]
RECORD_SET_REF_PATTERN = REF_PATTERN[:-1] + r"(/" + NAME_PATTERN[1:-1] + ":" + NAME_PATTERN[1:-1] + ")?$"


class ErrorSerializer(serializers.Serializer):
    """Every 4xx answer: a message for people, a code for programs, and per-field details."""

    detail = serializers.CharField(help_text="What went wrong and what to do about it.")
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. not_found, immutable.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Per-field messages, or where in an uploaded file the problem is (file, line, record).",
    )


class FiniteFloatField(serializers.FloatField):
    """A float that is a real number: NaN and infinities cannot be stored as JSON."""

    default_error_messages = {"not_finite": "Must be a finite number."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value


def choice_field(choices, *, as_pattern: bool = False, **options) -> serializers.ChoiceField:
    """A ChoiceField with one schema wherever it is used (so enum components do not collide).

    ``as_pattern`` documents the choices as a regular expression instead of an enum: for a second
    choice set under a field name that another set already uses (``role`` of versions and of parts).
    """
    values = [value for value, _ in choices]
    if as_pattern:
        schema = {"type": "string", "pattern": "^(" + "|".join(re.escape(v) for v in values) + ")$"}
    else:
        schema = {"type": "string", "enum": values}

    @extend_schema_field(schema)
    class InlineChoiceField(serializers.ChoiceField):
        pass

    return InlineChoiceField(choices=choices, **options)


@extend_schema_field({"type": "string", "format": "binary"})
class BinaryFileField(serializers.FileField):
    """A file part of a multipart request."""


def _absolute(context, url: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


_PLACEHOLDER = "__leakledger_key__"
_PATTERNS: dict[tuple[str, str, str], tuple[str, str] | None] = {}


def _path(view_name: str, key: str, value) -> str:
    """``reverse(view_name, kwargs={key: value})`` for a route with one keyword matching ``[^/]+``.

    A page of versions has ten links a row, and ``reverse`` (which tries the route's patterns and
    matches the result against its regex) was a sixth of a list's time (benchmarks/README.md, API load).
    The route is reversed once per view name and script prefix with a placeholder, and the value,
    quoted as ``reverse`` quotes it, is put in its place. A value that such a route could not hold (one
    with ``/``, or empty) goes through ``reverse``, which refuses it as before.
    """
    text = str(value)
    pattern_key = (view_name, key, get_script_prefix())
    parts = _PATTERNS.get(pattern_key, False)
    if parts is False:
        try:
            before, *rest = reverse(view_name, kwargs={key: _PLACEHOLDER}).split(_PLACEHOLDER)
            parts = (before, rest[0]) if len(rest) == 1 else None
        except NoReverseMatch:
            parts = None
        _PATTERNS[pattern_key] = parts
    if parts is None or not text or "/" in text:
        return reverse(view_name, kwargs={key: value})
    return parts[0] + quote(text, safe=RFC3986_SUBDELIMS + "/~:@") + parts[1]


def _link(context, view_name: str, **kwargs) -> str:
    """What ``LinkField(view_name, ...)`` gives for this one URL keyword."""
    ((key, value),) = kwargs.items()
    return _absolute(context, _path(view_name, key, value))


_DATETIME = serializers.DateTimeField(read_only=True)


def _datetime(value) -> str | None:
    """A datetime as DRF's ``DateTimeField`` gives it (ISO 8601, ``Z`` for UTC)."""
    return _DATETIME.to_representation(value)


def _optional(convert, value):
    """DRF's rule for a value that may be null: ``None`` stays ``None``, anything else is converted."""
    return None if value is None else convert(value)


class BuiltRows:
    """Output serializers of the hot read endpoints build their rows directly, in ``row(obj, context)``.

    DRF's walk copies every declared field for each serializer instance and calls each field's
    ``get_attribute`` and ``to_representation``: it was the largest part of a list's or lineage's Python
    time (benchmarks/README.md, API load). ``row`` gives the same keys in the same order with the same
    types; the declared fields stay, for the OpenAPI schema and for validation of the comparison that
    ``tests/api/test_serializer_rows.py`` makes of ``row`` with DRF's own walk on a real registry.
    """

    def to_representation(self, instance):
        return self.row(instance, self.context)

    @staticmethod
    def row(obj, context) -> dict:
        raise NotImplementedError


class PageRows(serializers.ListSerializer):
    """The list of a :class:`BatchedRows` serializer: its rows built by ``rows`` for the whole page."""

    def to_representation(self, data):
        items = data.all() if isinstance(data, BaseManager) else data
        return self.child.rows(list(items), self.context)


class BatchedRows(BuiltRows):
    """``BuiltRows`` whose rows show more than the object holds (a version's splits, an evaluation's
    contamination): ``rows(objects, context)`` reads that for all the objects of a page at once, by
    the kept statements of ``registry.version_reads`` and ``registry.overlap.selectors``, instead of a
    prefetch or a query per row. One object is a page of one; ``Meta.list_serializer_class`` is
    :class:`PageRows`."""

    def to_representation(self, instance):
        return self.rows([instance], self.context)[0]

    @classmethod
    def rows(cls, objects: list, context) -> list[dict]:
        raise NotImplementedError


@extend_schema_field(OpenApiTypes.URI)
class LinkField(serializers.Field):
    """An absolute link to another API resource, built from the object's public keys."""

    def __init__(self, view_name: str, kwargs, **options):
        self.view_name = view_name
        self.kwargs_of = kwargs
        options.update(read_only=True, source="*")
        super().__init__(**options)

    def to_representation(self, obj):
        return _absolute(self.context, reverse(self.view_name, kwargs=self.kwargs_of(obj)))


def _user_name(user) -> str | None:
    return user.get_username() if user is not None else None


# --- datasets and versions ------------------------------------------------------------------------


class DatasetSerializer(BuiltRows, serializers.ModelSerializer):
    url = LinkField("api:dataset-detail", lambda d: {"name": d.name})
    versions_url = LinkField("api:dataset-versions", lambda d: {"name": d.name})
    kind = choice_field(Kind.choices, read_only=True)
    owner = serializers.SerializerMethodField()
    group = serializers.SerializerMethodField()
    version_count = serializers.IntegerField(read_only=True)
    authors = components.json_as(components.AuthorSerializer(many=True))(
        read_only=True, help_text="Who made the data, in order, as citations name them."
    )

    class Meta:
        model = Dataset
        fields = [
            "name",
            "uuid",
            "url",
            "kind",
            "owner",
            "group",
            "license",
            "source",
            "authors",
            "description",
            "created_at",
            "version_count",
            "versions_url",
        ]
        read_only_fields = fields

    def get_owner(self, obj) -> str | None:
        return _user_name(obj.owner)

    def get_group(self, obj) -> str | None:
        return obj.group.name if obj.group is not None else None

    @staticmethod
    def row(obj, context) -> dict:
        return {
            "name": str(obj.name),
            "uuid": str(obj.uuid),
            "url": _link(context, "api:dataset-detail", name=obj.name),
            "kind": _optional(str, obj.kind),
            "owner": _user_name(obj.owner),
            "group": obj.group.name if obj.group is not None else None,
            "license": str(obj.license),
            "source": str(obj.source),
            "authors": obj.authors,
            "description": str(obj.description),
            "created_at": _datetime(obj.created_at),
            "version_count": int(obj.version_count),
            "versions_url": _link(context, "api:dataset-versions", name=obj.name),
        }


class SplitPartSummarySerializer(BuiltRows, serializers.ModelSerializer):
    ref = serializers.SerializerMethodField(
        help_text="name@version/split:part, usable wherever a record set is."
    )
    url = LinkField("api:part-detail", lambda p: {"uuid": p.uuid})
    role = choice_field(SplitPart.Role.choices, read_only=True)
    records_url = LinkField("api:part-records", lambda p: {"uuid": p.uuid})

    class Meta:
        model = SplitPart
        fields = ["name", "uuid", "ref", "role", "record_count", "url", "records_url"]
        read_only_fields = fields

    def get_ref(self, obj) -> str:
        return f"{obj.split.version.ref}/{obj.split.name}:{obj.name}"

    @staticmethod
    def row(obj, context) -> dict:
        return _part_row(obj, obj.split.version.ref, obj.split.name, context)


class SplitSummarySerializer(BuiltRows, serializers.ModelSerializer):
    url = LinkField("api:split-detail", lambda s: {"uuid": s.uuid})
    parts = SplitPartSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Split
        fields = ["name", "uuid", "url", "shared_ids_allowed", "parts"]
        read_only_fields = fields

    @staticmethod
    def row(obj, context) -> dict:
        return {
            "name": str(obj.name),
            "uuid": str(obj.uuid),
            "url": _link(context, "api:split-detail", uuid=obj.uuid),
            "shared_ids_allowed": bool(obj.shared_ids_allowed),
            "parts": [SplitPartSummarySerializer.row(p, context) for p in obj.parts.all()],
        }


class DerivationSerializer(BuiltRows, serializers.ModelSerializer):
    source = serializers.CharField(source="source.ref", read_only=True, help_text="The version derived from.")
    target = serializers.CharField(source="target.ref", read_only=True, help_text="The derived version.")
    source_url = LinkField("api:version-detail", lambda e: {"ref": e.source.ref})
    target_url = LinkField("api:version-detail", lambda e: {"ref": e.target.ref})

    class Meta:
        model = Derivation
        fields = ["source", "target", "transform", "created_at", "source_url", "target_url"]
        read_only_fields = fields

    @staticmethod
    def row(obj, context) -> dict:
        return derivation_row(obj.source.ref, obj.target.ref, obj.transform, obj.created_at, context)


def derivation_row(source: str, target: str, transform, created_at, context) -> dict:
    """``DerivationSerializer``'s row of the edge ``source`` -> ``target`` (refs)."""
    return {
        "source": source,
        "target": target,
        "transform": str(transform),
        "created_at": _datetime(created_at),
        "source_url": _link(context, "api:version-detail", ref=source),
        "target_url": _link(context, "api:version-detail", ref=target),
    }


class VersionSerializer(BatchedRows, serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True, help_text="name@version")
    url = LinkField("api:version-detail", lambda v: {"ref": v.ref})
    dataset = serializers.CharField(source="dataset.name", read_only=True)
    dataset_url = LinkField("api:dataset-detail", lambda v: {"name": v.dataset.name})
    kind = choice_field(Kind.choices, source="dataset.kind", read_only=True)
    role = choice_field(
        VersionRole.choices, as_pattern=True, read_only=True, help_text="training, benchmark or empty."
    )
    created_by = serializers.SerializerMethodField()
    derived_from = DerivationSerializer(
        many=True, read_only=True, help_text="Lineage edges into this version."
    )
    splits = SplitSummarySerializer(many=True, read_only=True)
    records_url = LinkField("api:version-records", lambda v: {"ref": v.ref})
    fasta_url = LinkField("api:version-fasta", lambda v: {"ref": v.ref})
    csv_url = LinkField("api:version-csv", lambda v: {"ref": v.ref})
    lineage_url = LinkField("api:version-lineage", lambda v: {"ref": v.ref})
    cite_url = LinkField("api:version-cite", lambda v: {"ref": v.ref})
    croissant_url = LinkField("api:version-croissant", lambda v: {"ref": v.ref})

    class Meta:
        model = DatasetVersion
        fields = [
            "ref",
            "uuid",
            "url",
            "dataset",
            "dataset_url",
            "version",
            "kind",
            "digest",
            "record_count",
            "residue_count",
            "role",
            "source_filename",
            "format",
            "sketch_only",
            "created_by",
            "created_at",
            "derived_from",
            "splits",
            "records_url",
            "fasta_url",
            "csv_url",
            "lineage_url",
            "cite_url",
            "croissant_url",
        ]
        read_only_fields = fields
        list_serializer_class = PageRows

    def get_created_by(self, obj) -> str | None:
        return _user_name(obj.created_by)

    @classmethod
    def rows(cls, versions, context) -> list[dict]:
        ids = [v.pk for v in versions]
        splits, edges = version_reads.splits_of(ids), version_reads.edges_into(ids)
        return [cls.row(v, context, edges=edges.get(v.pk, ()), splits=splits.get(v.pk, ())) for v in versions]

    @staticmethod
    def row(obj, context, *, edges, splits) -> dict:
        """``obj``'s row, with the edges into it and its splits from :mod:`registry.version_reads`."""
        ref = obj.ref
        return {
            "ref": ref,
            "uuid": str(obj.uuid),
            "url": _link(context, "api:version-detail", ref=ref),
            "dataset": str(obj.dataset.name),
            "dataset_url": _link(context, "api:dataset-detail", name=obj.dataset.name),
            "version": str(obj.version),
            "kind": _optional(str, obj.dataset.kind),
            "digest": str(obj.digest),
            "record_count": int(obj.record_count),
            "residue_count": int(obj.residue_count),
            "role": _optional(str, obj.role),
            "source_filename": str(obj.source_filename),
            "format": str(obj.format),
            "sketch_only": bool(obj.sketch_only),
            "created_by": _user_name(obj.created_by),
            "created_at": _datetime(obj.created_at),
            "derived_from": [
                derivation_row(e.source_ref, ref, e.transform, e.created_at, context) for e in edges
            ],
            "splits": [_split_summary_row(split, ref, context) for split in splits],
            "records_url": _link(context, "api:version-records", ref=ref),
            "fasta_url": _link(context, "api:version-fasta", ref=ref),
            "csv_url": _link(context, "api:version-csv", ref=ref),
            "lineage_url": _link(context, "api:version-lineage", ref=ref),
            "cite_url": _link(context, "api:version-cite", ref=ref),
            "croissant_url": _link(context, "api:version-croissant", ref=ref),
        }


def _split_summary_row(split: version_reads.SplitRow, version_ref: str, context) -> dict:
    """``SplitSummarySerializer.row`` of a split of the version ``version_ref``."""
    return {
        "name": str(split.name),
        "uuid": str(split.uuid),
        "url": _link(context, "api:split-detail", uuid=split.uuid),
        "shared_ids_allowed": bool(split.shared_ids_allowed),
        "parts": [_part_row(p, version_ref, split.name, context) for p in split.parts],
    }


def _part_row(part, version_ref: str, split_name: str, context) -> dict:
    """``SplitPartSummarySerializer.row`` of a part (a ``SplitPart`` or a ``version_reads.PartRow``) of
    the split ``split_name`` of ``version_ref``."""
    return {
        "name": str(part.name),
        "uuid": str(part.uuid),
        "ref": f"{version_ref}/{split_name}:{part.name}",
        "role": _optional(str, part.role),
        "record_count": int(part.record_count),
        "url": _link(context, "api:part-detail", uuid=part.uuid),
        "records_url": _link(context, "api:part-records", uuid=part.uuid),
    }


class RecordSerializer(serializers.ModelSerializer):
    """A record of a records page, from a row of :data:`RECORD_COLUMNS` (``QuerySet.values``), not a model.

    A page is 50-1000 rows, built without a ``Record`` and a ``Sequence`` instance for each
    (benchmarks/README.md, "API pages of large versions, parts and reports"). The fields below are
    the schema; the keys, order and types of :meth:`to_representation` are the same.
    """

    sha256 = serializers.CharField(
        source="sequence.sha256", read_only=True, help_text="sha256 of the sequence."
    )
    length = serializers.IntegerField(source="sequence.length", read_only=True)
    sequence = serializers.CharField(
        source="sequence.residues", read_only=True, help_text="Normalised residues."
    )

    class Meta:
        model = Record
        fields = ["position", "identifier", "description", "sha256", "length", "sequence"]
        read_only_fields = fields

    def to_representation(self, row):
        return {
            "position": int(row["position"]),
            "identifier": str(row["identifier"]),
            "description": str(row["description"]),
            "sha256": str(row["sequence__sha256"]),
            "length": int(row["sequence__length"]),
            "sequence": str(row["sequence__residues"]),
        }


#: The columns of a records page row, for ``QuerySet.values`` (what :class:`RecordSerializer` reads).
RECORD_COLUMNS = (
    "position",
    "identifier",
    "description",
    "sequence__sha256",
    "sequence__length",
    "sequence__residues",
)


class SplitSerializer(BatchedRows, SplitSummarySerializer):
    version = serializers.CharField(source="version.ref", read_only=True)
    attestation = serializers.SerializerMethodField(
        help_text="The latest attestation (verify_split): max cross-part identity, violations, claim; or null."
    )
    version_url = LinkField("api:version-detail", lambda s: {"ref": s.version.ref})
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Split
        fields = [
            "name",
            "uuid",
            "url",
            "version",
            "version_url",
            "shared_ids_allowed",
            "created_by",
            "created_at",
            "parts",
            "claimed_max_identity",
            "claimed_coverage",
            "provenance",
            "attestation",
        ]
        read_only_fields = fields
        list_serializer_class = PageRows

    def get_created_by(self, obj) -> str | None:
        return _user_name(obj.created_by)

    @classmethod
    def rows(cls, splits, context) -> list[dict]:
        parts = version_reads.parts_of([s.pk for s in splits])
        return [cls.row(s, context, parts=parts.get(s.pk, ())) for s in splits]

    def get_attestation(self, obj) -> dict | None:
        return self._attestation(obj)

    @staticmethod
    def _attestation(obj) -> dict | None:
        from registry.split_selectors import attestation_to_dict, split_attestation

        if hasattr(obj, "latest_attestations"):  # prefetched by api.views.datasets.splits_queryset
            latest = obj.latest_attestations
            return attestation_to_dict(latest[0], violations=False) if latest else None
        return split_attestation(obj)

    @staticmethod
    def row(obj, context, *, parts) -> dict:
        """``obj``'s row, with its parts from :func:`registry.version_reads.parts_of`."""
        ref = obj.version.ref
        return {
            "name": str(obj.name),
            "uuid": str(obj.uuid),
            "url": _link(context, "api:split-detail", uuid=obj.uuid),
            "version": ref,
            "version_url": _link(context, "api:version-detail", ref=ref),
            "shared_ids_allowed": bool(obj.shared_ids_allowed),
            "created_by": _user_name(obj.created_by),
            "created_at": _datetime(obj.created_at),
            "parts": [_part_row(p, ref, obj.name, context) for p in parts],
            "claimed_max_identity": _optional(float, obj.claimed_max_identity),
            "claimed_coverage": _optional(float, obj.claimed_coverage),
            "provenance": obj.provenance,
            "attestation": SplitSerializer._attestation(obj),
        }


class SplitPartSerializer(SplitPartSummarySerializer):
    split = serializers.CharField(source="split.name", read_only=True)
    split_url = LinkField("api:split-detail", lambda p: {"uuid": p.split.uuid})
    version = serializers.CharField(source="split.version.ref", read_only=True)
    version_url = LinkField("api:version-detail", lambda p: {"ref": p.split.version.ref})

    class Meta:
        model = SplitPart
        fields = [
            "name",
            "uuid",
            "ref",
            "role",
            "record_count",
            "split",
            "split_url",
            "version",
            "version_url",
            "url",
            "records_url",
        ]
        read_only_fields = fields

    @staticmethod
    def row(obj, context) -> dict:
        split = obj.split
        ref = split.version.ref
        return {
            "name": str(obj.name),
            "uuid": str(obj.uuid),
            "ref": f"{ref}/{split.name}:{obj.name}",
            "role": _optional(str, obj.role),
            "record_count": int(obj.record_count),
            "split": str(split.name),
            "split_url": _link(context, "api:split-detail", uuid=split.uuid),
            "version": ref,
            "version_url": _link(context, "api:version-detail", ref=ref),
            "url": _link(context, "api:part-detail", uuid=obj.uuid),
            "records_url": _link(context, "api:part-records", uuid=obj.uuid),
        }


# --- models and evaluations -----------------------------------------------------------------------


def record_set_ref(record_set: RecordSet) -> str:
    if record_set.part_id is None:
        return record_set.version.ref
    return f"{record_set.version.ref}/{record_set.part.split.name}:{record_set.part.name}"


class RecordSetSerializer(serializers.Serializer):
    ref = serializers.SerializerMethodField(help_text="name@version or name@version/split:part")
    uuid = serializers.UUIDField(read_only=True)
    version = serializers.CharField(source="version.ref", read_only=True)
    version_url = LinkField("api:version-detail", lambda rs: {"ref": rs.version.ref})
    part_url = serializers.SerializerMethodField()

    def get_ref(self, obj) -> str:
        return record_set_ref(obj)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_part_url(self, obj) -> str | None:
        if obj.part_id is None:
            return None
        return _absolute(self.context, reverse("api:part-detail", kwargs={"uuid": obj.part.uuid}))


class MLModelSerializer(serializers.ModelSerializer):
    url = LinkField("api:model-detail", lambda m: {"name": m.name})
    versions_url = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    version_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MLModel
        fields = [
            "name",
            "uuid",
            "url",
            "owner",
            "description",
            "created_at",
            "version_count",
            "versions_url",
        ]
        read_only_fields = fields

    def get_owner(self, obj) -> str | None:
        return _user_name(obj.owner)

    @extend_schema_field(OpenApiTypes.URI)
    def get_versions_url(self, obj) -> str:
        return _absolute(self.context, reverse("api:model-version-list") + f"?model={obj.name}")


class ModelVersionSerializer(BatchedRows, serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True, help_text="name@version")
    url = LinkField("api:model-version-detail", lambda m: {"ref": m.ref})
    model = serializers.CharField(source="model.name", read_only=True)
    base = serializers.SerializerMethodField(help_text="The model version this one was fine-tuned from.")
    trained_on = serializers.SerializerMethodField(
        help_text="Record sets this version itself was trained on."
    )
    created_by = serializers.SerializerMethodField()
    code_url = serializers.CharField(
        read_only=True, help_text="Where the training code is (a URL), or empty."
    )
    lineage_url = LinkField("api:model-version-lineage", lambda m: {"ref": m.ref})
    evaluations_url = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "ref",
            "uuid",
            "url",
            "model",
            "version",
            "base",
            "trained_on",
            "code_url",
            "parameters",
            "created_by",
            "created_at",
            "lineage_url",
            "evaluations_url",
        ]
        read_only_fields = fields
        list_serializer_class = PageRows

    @classmethod
    def rows(cls, versions, context) -> list[dict]:
        trained = version_reads.training_sets_of([v.pk for v in versions])
        return [cls.row(v, context, trained_on=trained.get(v.pk, [])) for v in versions]

    def get_base(self, obj) -> str | None:
        return obj.base.ref if obj.base_id is not None else None

    def get_trained_on(self, obj) -> list[str]:
        return sorted(record_set_ref(rs) for rs in obj.trained_on.all())

    def get_created_by(self, obj) -> str | None:
        return _user_name(obj.created_by)

    @extend_schema_field(OpenApiTypes.URI)
    def get_evaluations_url(self, obj) -> str:
        return _absolute(self.context, reverse("api:evaluation-list") + f"?model_version={obj.ref}")

    @staticmethod
    def row(obj, context, *, trained_on) -> dict:
        """``obj``'s row; ``trained_on`` as :func:`registry.version_reads.training_sets_of` gives it."""
        ref = obj.ref
        return {
            "ref": ref,
            "uuid": str(obj.uuid),
            "url": _link(context, "api:model-version-detail", ref=ref),
            "model": str(obj.model.name),
            "version": str(obj.version),
            "base": obj.base.ref if obj.base_id is not None else None,
            "trained_on": trained_on,
            "code_url": str(obj.code_url),
            "parameters": obj.parameters,
            "created_by": _user_name(obj.created_by),
            "created_at": _datetime(obj.created_at),
            "lineage_url": _link(context, "api:model-version-lineage", ref=ref),
            "evaluations_url": _absolute(context, reverse("api:evaluation-list") + f"?model_version={ref}"),
        }


class EvaluationSerializer(BatchedRows, serializers.ModelSerializer):
    url = LinkField("api:evaluation-detail", lambda e: {"uuid": e.uuid})
    model_version = serializers.CharField(source="model_version.ref", read_only=True)
    model_version_url = LinkField("api:model-version-detail", lambda e: {"ref": e.model_version.ref})
    record_set = serializers.SerializerMethodField(
        help_text="What was evaluated on (a version or a split part)."
    )
    metrics = serializers.DictField(child=serializers.FloatField(), read_only=True)
    scores_metric_names = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_by = serializers.SerializerMethodField()
    contamination = serializers.SerializerMethodField(
        help_text="Summary of the contamination report against the model's training ancestry; null until "
        "the overlap service has produced it."
    )
    cite_url = LinkField("api:evaluation-cite", lambda e: {"uuid": e.uuid})
    lineage_url = LinkField("api:evaluation-lineage", lambda e: {"uuid": e.uuid})

    class Meta:
        model = Evaluation
        fields = [
            "uuid",
            "url",
            "model_version",
            "model_version_url",
            "record_set",
            "metrics",
            "code_ref",
            "scores_metric_names",
            "created_by",
            "created_at",
            "contamination",
            "cite_url",
            "lineage_url",
        ]
        read_only_fields = fields
        list_serializer_class = PageRows

    def get_record_set(self, obj) -> str:
        return record_set_ref(obj.record_set)

    def get_created_by(self, obj) -> str | None:
        return _user_name(obj.created_by)

    @extend_schema_field(components.EvaluationContaminationSerializer(allow_null=True))
    def get_contamination(self, obj) -> dict | None:
        from . import overlap_bridge

        return overlap_bridge.contamination_summary(obj, self.context)

    @classmethod
    def rows(cls, evaluations, context) -> list[dict]:
        from . import overlap_bridge

        summaries = overlap_bridge.contamination_summaries(evaluations)
        return [cls.row(e, context, contamination=summaries.get(e.pk)) for e in evaluations]

    @staticmethod
    def row(obj, context, *, contamination) -> dict:
        """``obj``'s row; ``contamination`` as ``overlap_bridge.contamination_summaries`` gives it."""
        model_ref = obj.model_version.ref
        metrics, names = obj.metrics, obj.scores_metric_names
        return {
            "uuid": str(obj.uuid),
            "url": _link(context, "api:evaluation-detail", uuid=obj.uuid),
            "model_version": model_ref,
            "model_version_url": _link(context, "api:model-version-detail", ref=model_ref),
            "record_set": record_set_ref(obj.record_set),
            "metrics": None if metrics is None else {str(k): _optional(float, v) for k, v in metrics.items()},
            "code_ref": str(obj.code_ref),
            "scores_metric_names": None if names is None else [_optional(str, n) for n in names],
            "created_by": _user_name(obj.created_by),
            "created_at": _datetime(obj.created_at),
            "contamination": contamination,
            "cite_url": _link(context, "api:evaluation-cite", uuid=obj.uuid),
            "lineage_url": _link(context, "api:evaluation-lineage", uuid=obj.uuid),
        }


# --- jobs -----------------------------------------------------------------------------------------


def _public_path_text(value, uploads_root: str):
    """Replace server paths under the uploads directory by the file name the client sent."""
    if isinstance(value, str):
        return re.sub(re.escape(uploads_root) + r"/[0-9a-f]{32}/", "", value)
    if isinstance(value, dict):
        return {k: _public_path_text(v, uploads_root) for k, v in value.items()}
    if isinstance(value, list):
        return [_public_path_text(v, uploads_root) for v in value]
    return value


class JobSerializer(serializers.ModelSerializer):
    url = LinkField("api:job-detail", lambda j: {"uuid": j.uuid})
    kind = choice_field(
        Job.Kind.choices, as_pattern=True, read_only=True, help_text="ingest, sketch, overlap or query."
    )
    state = choice_field(Job.State.choices, read_only=True)
    progress = serializers.SerializerMethodField(
        help_text='{"stage": parse|write|sketch|index|done|queued, "done": int, "total": int|null}'
    )
    result = serializers.SerializerMethodField(help_text="What the job produced (for ingest: the version).")
    error = serializers.SerializerMethodField(
        help_text="Why it failed: detail, code, and for rejected files: file, line, record, reason, hint."
    )
    version_url = serializers.SerializerMethodField(help_text="For ingest jobs that succeeded: the version.")
    warnings = serializers.SerializerMethodField(
        help_text="What the registration accepted but a reader must know (an ingest job's result.warnings); "
        "empty until the job succeeds."
    )
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "uuid",
            "url",
            "kind",
            "state",
            "progress",
            "result",
            "error",
            "version_url",
            "warnings",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _clean(self, value):
        return _public_path_text(value, str(Path(settings.DATA_DIR) / "uploads"))

    @extend_schema_field(components.JobProgressSerializer)
    def get_progress(self, obj) -> dict:
        return self._clean(obj.progress or {})

    @extend_schema_field(components.JobResultSerializer)
    def get_result(self, obj) -> dict:
        return self._clean(obj.result or {})

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_error(self, obj):
        return self._clean(obj.error) if obj.error else None

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_version_url(self, obj):
        ref = (obj.result or {}).get("ref") if obj.kind == Job.Kind.INGEST else None
        if not ref:
            return None
        return _absolute(self.context, reverse("api:version-detail", kwargs={"ref": ref}))

    @extend_schema_field(components.RegistrationWarningSerializer(many=True))
    def get_warnings(self, obj) -> list:
        return self._clean(list((obj.result or {}).get("warnings") or []))

    def get_created_by(self, obj) -> str | None:
        return _user_name(obj.created_by)


# --- input ----------------------------------------------------------------------------------------


class VersionUploadSerializer(serializers.Serializer):
    """A file to register as a new version (multipart/form-data)."""

    file = BinaryFileField(
        allow_empty_file=True,
        help_text="FASTA, CSV/TSV (id and sequence columns), JSON lines, PDB or mmCIF; gzip is read directly.",
    )
    kind = choice_field(
        Kind.choices,
        required=False,
        help_text="Required for a new dataset; must match an existing one.",
    )
    version = serializers.RegexField(
        VERSION_PATTERN, required=False, max_length=64, help_text="Version name; default: the next integer."
    )
    format = choice_field(
        [(f, f) for f in FILE_FORMATS],
        required=False,
        help_text="File format; default: guessed from the file name and content.",
    )
    license = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    source = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    authors = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=100,
        help_text="Authors of the data, in order, as the CLI's --author: 'Family, Given' (a person) or a name "
        "(an organisation); repeat the form field for several. Set by the dataset's first version.",
    )
    derived_from = serializers.RegexField(
        REF_PATTERN, required=False, help_text="name@version it derives from."
    )
    transform = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10000,
        help_text="How it was derived (required with derived_from).",
    )
    role = choice_field(
        VersionRole.choices,
        as_pattern=True,
        required=False,
        allow_blank=True,
        help_text="training, benchmark or empty.",
    )
    id_column = serializers.CharField(required=False, max_length=200, default="id")
    sequence_column = serializers.CharField(required=False, max_length=200, default="sequence")
    skip_identical_duplicates = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Skip records repeated verbatim (same id, description, sequence).",
    )
    force_kind = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Register as `kind` even when the content looks like another kind (DNA or labels as protein).",
    )

    def validate_authors(self, value):
        """Parsed as the command line parses --author (one parser); the stored shape is what is returned."""
        errors = []
        for item in value:
            try:
                parse_authors([item])
            except RegistryError:
                errors.append(f"{item!r} is not 'Family, Given' (a person) or a name (an organisation).")
        if errors:
            raise serializers.ValidationError(errors)
        return value


class VersionUploadWithDatasetSerializer(VersionUploadSerializer):
    dataset = serializers.RegexField(NAME_PATTERN, max_length=200, help_text="Dataset name (created if new).")


class SketchUploadSerializer(serializers.Serializer):
    """A sketch file (``leakledger sketch FILE -o private.llsk``) to register as a sketch-only version."""

    file = BinaryFileField(
        allow_empty_file=True,
        help_text="A .llsk file: per record the sha256 of the normalised sequence, its length and its MinHash "
        "signature, never the residues (README: Private, sketch-only training sets).",
    )
    kind = choice_field(
        Kind.choices, required=False, help_text="Default: the file's; must match an existing dataset."
    )
    version = serializers.RegexField(
        VERSION_PATTERN, required=False, max_length=64, help_text="Version name; default: the next integer."
    )
    license = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    source = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    role = choice_field(
        VersionRole.choices,
        as_pattern=True,
        required=False,
        allow_blank=True,
        help_text="training (the usual role of a private set), benchmark or empty.",
    )


class SplitCreateSerializer(serializers.Serializer):
    name = serializers.RegexField(NAME_PATTERN, max_length=200)
    mapping = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(max_length=1000, allow_blank=True)),
        required=False,
        help_text='{"part": ["record id", ...], ...}; give this or from_header.',
    )
    from_header = serializers.RegexField(
        r"^\S{1,100}$", required=False, help_text="Take each record's part from KEY=part in its header."
    )
    roles = serializers.DictField(
        child=choice_field(SplitPart.Role.choices),
        required=False,
        help_text='Roles by part name, e.g. {"holdout": "test"}; default: guessed from the name.',
    )
    allow_shared_ids = serializers.BooleanField(required=False, default=False)
    # The guarantee the split claims (verify_split tests it): no cross-part pair at or above this identity.
    claims_max_identity = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    claims_coverage = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)

    def validate(self, attrs):
        if ("mapping" in attrs) == ("from_header" in attrs):
            raise serializers.ValidationError("Give exactly one of mapping or from_header.")
        return attrs


class SplitUploadSerializer(serializers.Serializer):
    """A split with its mapping as a file (multipart/form-data): for mappings too large for a JSON body."""

    name = serializers.RegexField(NAME_PATTERN, max_length=200)
    mapping_file = BinaryFileField(
        required=False,
        help_text='The mapping as the CLI reads it: JSON {"part": [ids]} or TSV lines "id<TAB>part".',
    )
    from_header = serializers.RegexField(
        r"^\S{1,100}$", required=False, help_text="Take each record's part from KEY=part in its header."
    )
    roles = serializers.JSONField(
        required=False, help_text='JSON object of roles by part name, e.g. {"holdout": "test"}.'
    )
    allow_shared_ids = serializers.BooleanField(required=False, default=False)
    # The guarantee the split claims (verify_split tests it): no cross-part pair at or above this identity.
    claims_max_identity = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    claims_coverage = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)

    def validate_roles(self, value):
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and v in SplitPart.Role.values for k, v in value.items()
        ):
            raise serializers.ValidationError(
                f"A JSON object mapping part names to one of {', '.join(SplitPart.Role.values)}."
            )
        return value

    def validate(self, attrs):
        if ("mapping_file" in attrs) == ("from_header" in attrs):
            raise serializers.ValidationError("Give exactly one of mapping_file or from_header.")
        return attrs


class ModelVersionCreateSerializer(serializers.Serializer):
    ref = serializers.RegexField(REF_PATTERN, help_text="name@version of the new model version.")
    trained_on = serializers.ListField(
        child=serializers.RegexField(RECORD_SET_REF_PATTERN),
        required=False,
        default=list,
        max_length=1000,
        help_text="Record sets it was trained on: name@version or name@version/split:part.",
    )
    base = serializers.RegexField(
        REF_PATTERN, required=False, help_text="Model version it was fine-tuned from."
    )
    code_url = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    parameters = serializers.DictField(required=False, default=dict)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)


class EvaluationCreateSerializer(serializers.Serializer):
    model_version = serializers.RegexField(REF_PATTERN, help_text="name@version of the model version.")
    on = serializers.RegexField(RECORD_SET_REF_PATTERN, help_text="Record set evaluated on.")
    metrics = serializers.DictField(child=FiniteFloatField(), help_text='{"auc": 0.91, ...}')
    scores = serializers.DictField(
        child=serializers.DictField(child=FiniteFloatField()),
        required=False,
        help_text='Per-record scores: {"record id": {"metric": value, ...}, ...}; every record names the '
        "same metrics. Lets the contamination report recompute metrics on the clean subset.",
    )
    code_ref = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate_metrics(self, value):
        if not value:
            raise serializers.ValidationError("Give at least one metric.")
        return value


class EvaluationUploadSerializer(serializers.Serializer):
    """An evaluation with per-record scores as a file (multipart/form-data), as the CLI's --scores reads it."""

    model_version = serializers.RegexField(REF_PATTERN, help_text="name@version of the model version.")
    on = serializers.RegexField(RECORD_SET_REF_PATTERN, help_text="Record set evaluated on.")
    metrics = serializers.JSONField(help_text='JSON object of metrics, e.g. {"auc": 0.91}.')
    scores_file = BinaryFileField(
        required=False, help_text="CSV or TSV with an 'id' column and one numeric column per metric."
    )
    code_ref = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate_metrics(self, value):
        field = serializers.DictField(child=FiniteFloatField())
        metrics = field.run_validation(value)
        if not metrics:
            raise serializers.ValidationError("Give at least one metric.")
        return metrics


class OkSerializer(serializers.Serializer):
    """Placeholder for documentation of non-JSON bodies."""

    detail = serializers.CharField()


# --- overlap --------------------------------------------------------------------------------------


class OverlapReportSerializer(BuiltRows, serializers.Serializer):
    """A standing overlap report: a query record set against a reference record set, one method."""

    uuid = serializers.UUIDField(read_only=True)
    url = LinkField("api:overlap-report-detail", lambda r: {"uuid": r.uuid})
    hits_url = LinkField("api:overlap-report-hits", lambda r: {"uuid": r.uuid})
    query_set = serializers.SerializerMethodField(help_text="The test side (name@version[/split:part]).")
    reference_set = serializers.SerializerMethodField(help_text="The training side.")
    query_digest = serializers.CharField(read_only=True)
    reference_digest = serializers.CharField(read_only=True)
    query_records = serializers.IntegerField(read_only=True)
    reference_records = serializers.IntegerField(read_only=True)
    tiers = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Detection tiers that ran."
    )
    thresholds = serializers.ListField(
        child=serializers.FloatField(), read_only=True, help_text="Identity thresholds, highest first."
    )
    coverage = serializers.FloatField(read_only=True)
    summary = components.json_as(components.OverlapSummarySerializer)(
        read_only=True, help_text="Per threshold: query records with a hit, fraction."
    )
    method_key = serializers.CharField(
        read_only=True, help_text="Identifies the detection method's settings."
    )
    duration_seconds = serializers.FloatField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_query_set(self, obj) -> str:
        return record_set_ref(obj.query_set)

    def get_reference_set(self, obj) -> str:
        return record_set_ref(obj.reference_set)

    @staticmethod
    def row(obj, context) -> dict:
        return {
            "uuid": str(obj.uuid),
            "url": _link(context, "api:overlap-report-detail", uuid=obj.uuid),
            "hits_url": _link(context, "api:overlap-report-hits", uuid=obj.uuid),
            "query_set": record_set_ref(obj.query_set),
            "reference_set": record_set_ref(obj.reference_set),
            "query_digest": str(obj.query_digest),
            "reference_digest": str(obj.reference_digest),
            "query_records": int(obj.query_records),
            "reference_records": int(obj.reference_records),
            "tiers": _optional(lambda tiers: [_optional(str, t) for t in tiers], obj.tiers),
            "thresholds": _optional(lambda values: [_optional(float, v) for v in values], obj.thresholds),
            "coverage": float(obj.coverage),
            "summary": obj.summary,
            "method_key": str(obj.method_key),
            "duration_seconds": float(obj.duration_seconds),
            "created_at": _datetime(obj.created_at),
        }


class OverlapReportDetailSerializer(OverlapReportSerializer):
    """A report with its method: tiers, settings, tool versions and the recall calibration table."""

    method = components.json_as(components.DetectionMethodSerializer)(
        read_only=True, help_text="Tiers, settings, tool versions, calibration."
    )

    @staticmethod
    def row(obj, context) -> dict:
        return {**OverlapReportSerializer.row(obj, context), "method": obj.method}


class OverlapHitSerializer(serializers.Serializer):
    """The best hit of one query record."""

    query = serializers.CharField(source="query_record.identifier", read_only=True)
    reference = serializers.CharField(source="reference_record.identifier", read_only=True)
    identity = serializers.FloatField(read_only=True)
    coverage = serializers.FloatField(
        source="query_coverage",
        read_only=True,
        allow_null=True,
        help_text="null: not measured (tier estimated).",
    )
    reference_coverage = serializers.FloatField(read_only=True, allow_null=True)
    jaccard = serializers.FloatField(read_only=True, allow_null=True)
    tier = serializers.CharField(read_only=True, help_text="exact, minhash or mmseqs: which tier found it.")


class OverlapQuerySerializer(serializers.Serializer):
    """An ad-hoc question: does this file (or registered record set) overlap registered data?"""

    file = BinaryFileField(required=False, help_text="A sequence file that need not be registered.")
    record_set = serializers.RegexField(
        RECORD_SET_REF_PATTERN,
        required=False,
        help_text="Or a registered record set: name@version[/split:part].",
    )
    kind = choice_field(
        Kind.choices, required=False, help_text="Kind of the file's sequences (default protein)."
    )
    format = choice_field(
        [(f, f) for f in FILE_FORMATS],
        required=False,
        help_text="File format; default: guessed.",
    )
    against = serializers.ListField(
        child=serializers.RegexField(RECORD_SET_REF_PATTERN),
        required=False,
        max_length=200,
        help_text="Reference record sets; default: every training set of the kind.",
    )
    against_model = serializers.RegexField(
        REF_PATTERN, required=False, help_text="Or a model version: its whole training ancestry."
    )
    identity = serializers.FloatField(min_value=0.3, max_value=1.0, required=False, default=0.9)
    coverage = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.8)
    tiers = serializers.ListField(
        child=choice_field([(t, t) for t in ["exact", "minhash", "mmseqs"]]),
        required=False,
        max_length=3,
        help_text="Detection tiers (default exact and minhash).",
    )

    def validate(self, attrs):
        if ("file" in attrs) == ("record_set" in attrs):
            raise serializers.ValidationError("Give exactly one of file or record_set.")
        if attrs.get("against") and attrs.get("against_model"):
            raise serializers.ValidationError({"against": ["Give against or against_model, not both."]})
        return attrs


class OverlapScreenSerializer(OverlapQuerySerializer):
    """A whole-set screen: the containment of a file's (or record set's) k-mers in each reference set."""

    identity = None
    coverage = None
    tiers = None
    k = serializers.IntegerField(
        min_value=1,
        max_value=64,
        required=False,
        help_text="k-mer length (default: protein 10, dna/rna 21, text 5).",
    )
    scaled = serializers.IntegerField(
        min_value=1, max_value=1_000_000, required=False, default=100, help_text="Keep about 1 k-mer in N."
    )


class ScreenRowSerializer(serializers.Serializer):
    test = serializers.CharField()
    train = serializers.CharField()
    digest = serializers.CharField()
    containment = serializers.FloatField()
    interval_95 = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    shared_hashes = serializers.IntegerField()
    test_hashes = serializers.IntegerField()
    test_kmers_estimate = serializers.IntegerField()
    train_kmers_estimate = serializers.IntegerField()


class OverlapScreenResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    query_digest = serializers.CharField()
    query_records = serializers.IntegerField()
    method = serializers.DictField()
    screen = ScreenRowSerializer(many=True)
    timings = serializers.DictField()


class OverlapQueryFileSerializer(OverlapQuerySerializer):
    """The ad-hoc query with a file (multipart/form-data): its own component, so that generated clients
    send a file query as multipart and a record-set query as JSON."""

    file = BinaryFileField(help_text="A sequence file that need not be registered.")
    record_set = None


class OverlapQueryRecordSetSerializer(OverlapQuerySerializer):
    """The ad-hoc query on a registered record set (application/json)."""

    file = None
    record_set = serializers.RegexField(
        RECORD_SET_REF_PATTERN, help_text="A registered record set: name@version[/split:part]."
    )
