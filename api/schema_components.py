"""Typed OpenAPI components for the API's computed answers (documentation only, never used to validate).

The overlap service returns plain dicts (``registry.overlap.selectors``); these serializers name their
shape so that a generated client gets classes (``ContaminationReport``, ``OverlapSummary``,
``DetectionMethod``...) instead of untyped ``{}``. Keys a given answer may leave out are not required;
values the server can send as ``null`` are nullable. Unknown keys stay allowed (the components are
open), so a new key on the server never breaks an older client.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def json_as(component):
    """A read-only ``JSONField`` that passes the stored value through unchanged, documented as ``component``."""

    @extend_schema_field(component)
    class DocumentedJSONField(serializers.JSONField):
        pass

    return DocumentedJSONField


class ThresholdRowSerializer(serializers.Serializer):
    identity = serializers.FloatField(help_text="Identity threshold (1.0 for the exact row).")
    label = serializers.CharField(help_text='"exact", ">=95%", ...')
    records = serializers.IntegerField(help_text="Query records whose best hit reaches the threshold.")
    fraction = serializers.FloatField(help_text="records / query records.")
    by_tier = serializers.DictField(child=serializers.IntegerField(), help_text="records per detection tier.")
    recall = serializers.FloatField(
        allow_null=True,
        help_text="Measured recall of exactly this method at this identity; null: not measured.",
    )
    clean_records = serializers.IntegerField(required=False, help_text="Contamination reports: records left.")
    clean_metrics = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text="Contamination reports: metrics recomputed on the clean subset (needs per-record scores).",
    )


class OverlapSummarySerializer(serializers.Serializer):
    """Per identity threshold: how many query records overlap the reference, found by which tier."""

    query_records = serializers.IntegerField()
    coverage = serializers.FloatField(help_text="Minimum query coverage of a hit.")
    thresholds = ThresholdRowSerializer(many=True)


class ContaminationSummarySerializer(OverlapSummarySerializer):
    """An overlap summary against a model's whole training ancestry, with clean-subset metrics."""

    full_metrics = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text="Metrics recomputed from the per-record scores on every record.",
    )
    reported_metrics = serializers.DictField(
        child=serializers.FloatField(allow_null=True), required=False, help_text="As the evaluation reported."
    )
    training_ancestry = serializers.ListField(child=serializers.CharField(), required=False)
    model_version = serializers.CharField(required=False)


class TierRunSerializer(serializers.Serializer):
    ran = serializers.BooleanField()
    # an object since the one pipeline (dedup.pipeline TierReport.settings); a settings key in older reports
    settings = json_as({"oneOf": [{"type": "object", "additionalProperties": True}, {"type": "string"}]})(
        required=False, help_text="The settings the tier ran with."
    )
    version = serializers.CharField(required=False, allow_null=True, help_text="The tool's version, if any.")
    reason = serializers.CharField(required=False, help_text="Why the tier did not run.")


class SketchParamsSerializer(serializers.Serializer):
    kind = serializers.CharField()
    k = serializers.IntegerField()
    num_perm = serializers.IntegerField()
    seed = serializers.IntegerField()
    scheme = serializers.CharField()
    hash_name = serializers.CharField()


class SketchSettingsSerializer(serializers.Serializer):
    settings = serializers.CharField()
    params = SketchParamsSerializer()
    bands = serializers.IntegerField()
    rows = serializers.IntegerField()
    lsh_threshold = serializers.FloatField()


class DetectionMethodSerializer(serializers.Serializer):
    """Tiers, thresholds, settings, tool versions and the recall calibration of a detection method."""

    kind = serializers.CharField()
    tiers = serializers.ListField(child=serializers.CharField(), help_text="Tiers asked for.")
    thresholds = serializers.ListField(child=serializers.FloatField(), help_text="Identity thresholds.")
    coverage = serializers.FloatField()
    identity = serializers.FloatField(required=False, help_text="The loosest identity threshold.")
    reference_coverage = serializers.FloatField(required=False)
    trim = serializers.BooleanField(required=False)
    minhash = serializers.DictField(required=False, help_text="The minhash tier's settings (when it ran).")
    containment = serializers.DictField(required=False, help_text="The containment tier's settings.")
    mmseqs = serializers.DictField(required=False, help_text="The mmseqs tier's settings and version.")
    # reports stored before the one pipeline (dedup.pipeline) carry these at the top level
    settings_key = serializers.CharField(required=False)
    min_jaccard = serializers.FloatField(required=False)
    max_candidates = serializers.IntegerField(required=False)
    key = serializers.CharField(help_text="sha256 of the method's settings (the method_key).")
    tiers_run = serializers.DictField(child=TierRunSerializer(), help_text="Per tier: whether it ran.")
    sketch = SketchSettingsSerializer(required=False)
    tool_versions = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)
    calibration = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="The measured recall table this method's recall comes from.",
    )
    notes = serializers.ListField(child=serializers.CharField(), required=False)


class HitSerializer(serializers.Serializer):
    """A query record's best hit in a reference set."""

    query = serializers.CharField()
    reference_set = serializers.CharField()
    reference = serializers.CharField()
    identity = serializers.FloatField(
        help_text="Measured identity; for tier estimated, the median identity estimated from Jaccard."
    )
    coverage = serializers.FloatField(allow_null=True, help_text="null: not measured (tier estimated).")
    reference_coverage = serializers.FloatField(
        allow_null=True, help_text="null: not measured (tier estimated)."
    )
    jaccard = serializers.FloatField(allow_null=True)
    tier = serializers.CharField(
        help_text="exact, minhash, containment, mmseqs, or estimated (against a sketch-only training set: "
        "unverified, estimated from Jaccard)."
    )
    identity_interval = serializers.ListField(
        child=serializers.FloatField(),
        required=False,
        allow_null=True,
        help_text="Tier estimated: [5%, median, 95%] of the identity measured at that Jaccard on real pairs.",
    )


class OverlapReportDataSerializer(serializers.Serializer):
    """A standing overlap report as plain data (``hits`` only where the operation says so)."""

    uuid = serializers.UUIDField()
    query_set = serializers.CharField()
    reference_set = serializers.CharField()
    query_digest = serializers.CharField()
    reference_digest = serializers.CharField()
    query_records = serializers.IntegerField()
    reference_records = serializers.IntegerField()
    summary = OverlapSummarySerializer()
    method = DetectionMethodSerializer()
    method_key = serializers.CharField()
    created_at = serializers.DateTimeField()
    duration_seconds = serializers.FloatField(allow_null=True)
    hits = HitSerializer(many=True, required=False)


class JobProgressSerializer(serializers.Serializer):
    # Not required: a job made outside job_create (the model's default) has empty progress.
    stage = serializers.CharField(required=False, help_text="queued, parse, write, sketch, index, done, ...")
    done = serializers.IntegerField(required=False)
    total = serializers.IntegerField(required=False, allow_null=True)


class PendingJobSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    kind = serializers.CharField()
    state = serializers.CharField()
    progress = JobProgressSerializer()


class VersionOverlapSerializer(serializers.Serializer):
    """Standing reports of a version as test set and as training set, and overlap jobs still running."""

    record_set = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    as_test_set = OverlapReportDataSerializer(many=True)
    as_training_set = OverlapReportDataSerializer(many=True)
    pending_jobs = PendingJobSerializer(many=True)


class ContaminationReportSerializer(serializers.Serializer):
    """An evaluation's contamination report against its model's training ancestry."""

    uuid = serializers.UUIDField()
    evaluation = serializers.UUIDField()
    model_version = serializers.CharField()
    record_set = serializers.CharField()
    training_ancestry = serializers.ListField(child=serializers.CharField())
    summary = ContaminationSummarySerializer()
    method = DetectionMethodSerializer()
    overlap_reports = serializers.ListField(child=serializers.UUIDField())
    created_at = serializers.DateTimeField()
    contaminated = HitSerializer(many=True, help_text="Each contaminated test record with its best hit.")


class EvaluationContaminationSerializer(serializers.Serializer):
    """The contamination summary embedded in an evaluation (hits: its contamination/ operation)."""

    uuid = serializers.UUIDField()
    training_ancestry = serializers.ListField(child=serializers.CharField())
    summary = ContaminationSummarySerializer()
    method_key = serializers.CharField(required=False)
    method = DetectionMethodSerializer(required=False)
    overlap_reports = serializers.ListField(child=serializers.UUIDField())
    created_at = serializers.DateTimeField()


class ReferenceSetSerializer(serializers.Serializer):
    ref = serializers.CharField()
    digest = serializers.CharField()
    records = serializers.IntegerField()


WARNING_CODES = (
    "trained_on_benchmark, trained_on_test_part (model versions); trained_on_evaluated_set, scores_coverage, "
    "metric_far_from_mean, contamination, contamination_pending (evaluations); split_coverage (splits); "
    "already_registered, role_applied, identical_to_other_dataset (dataset versions)"
)


class RegistrationWarningSerializer(serializers.Serializer):
    """Something a registration accepted but its reader must know (the CLI prints the same sentence)."""

    code = serializers.CharField(help_text=f"Stable machine-readable code: {WARNING_CODES}.")
    message = serializers.CharField(help_text="The sentence, as the command line prints it.")


class AuthorSerializer(serializers.Serializer):
    """An author as citations name them: a person (family, given) or an organisation (name)."""

    family = serializers.CharField(required=False, help_text="A person's family name.")
    given = serializers.CharField(required=False, help_text="A person's given name(s).")
    name = serializers.CharField(required=False, help_text="An organisation's name.")


class JobResultSerializer(serializers.Serializer):
    """What a job produced: an ingest job's version (ref, uuid, digest, records...), a query job's
    overlap answer (query, references, summary, pairs, method...). Empty until the job succeeds."""

    # ingest
    ref = serializers.CharField(required=False)
    uuid = serializers.UUIDField(required=False)
    digest = serializers.CharField(required=False)
    records = serializers.IntegerField(required=False)
    residues = serializers.IntegerField(required=False)
    created = serializers.BooleanField(required=False, help_text="False: identical content was registered.")
    skipped_duplicates = serializers.IntegerField(required=False)
    messages = serializers.ListField(child=serializers.CharField(), required=False)
    warnings = RegistrationWarningSerializer(many=True, required=False, help_text="The messages, with codes.")
    # query
    query = serializers.CharField(required=False)
    query_digest = serializers.CharField(required=False)
    query_records = serializers.IntegerField(required=False)
    references = ReferenceSetSerializer(many=True, required=False)
    summary = OverlapSummarySerializer(required=False)
    pairs = HitSerializer(many=True, required=False, help_text="Best hit of each overlapping query record.")
    method = DetectionMethodSerializer(required=False)
    timings = serializers.DictField(child=serializers.FloatField(), required=False)
    counters = serializers.DictField(child=serializers.IntegerField(), required=False)


def _strings(**extra):
    return {"type": "array", "items": {"type": "string"}, **extra}


# Croissant keys start with "@", which no serializer field can be named: a plain schema.
CROISSANT_SCHEMA = {
    "type": "object",
    "description": "Croissant 1.1 JSON-LD (mlcommons.org/croissant): its main keys typed; the rest is JSON-LD.",
    "properties": {
        "@context": {"type": "object", "additionalProperties": True},
        "@type": {"type": "string"},
        "conformsTo": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "version": {"type": "string"},
        "datePublished": {"type": "string"},
        "citeAs": {"type": "string", "description": "BibTeX."},
        "license": {"type": "string", "nullable": True},
        "identifier": _strings(),
        "keywords": _strings(),
        "distribution": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "recordSet": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
    "required": ["@context", "@type", "conformsTo", "name", "url", "version", "distribution", "recordSet"],
    "additionalProperties": True,
}
