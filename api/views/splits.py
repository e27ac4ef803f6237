"""Split attestations over the API: verify a split, generate one, read what was attested.

- ``POST /api/v1/splits/{uuid}/verify/`` starts a ``split_verify`` job (the attestation is its result).
- ``GET  /api/v1/splits/{uuid}/attestations/`` lists a split's attestations, newest first.
- ``GET  /api/v1/attestations/{uuid}/`` is one attestation with every violation.
- ``POST /api/v1/versions/{ref}/make-split/`` starts a ``split_make`` job: generate, register, verify.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from dedup.splitting import OVERSIZE_CHOICES
from registry.models import Split, SplitAttestation
from registry.services import split_make_enqueue, split_verify_enqueue
from registry.services.attestations import SPLIT_TIERS
from registry.split_selectors import attestation_to_dict, split_attestations

from ..parsers import SafeJSONParser
from ..serializers import JobSerializer
from .base import ApiViewMixin, job_answer, lookup_version, parse_uuid

JOB_RESPONSES = {
    200: OpenApiResponse(
        JobSerializer, description="Eager mode: done; the attestation is in the job's result."
    ),
    202: OpenApiResponse(JobSerializer, description="Accepted: poll the job (Location)."),
}
UUID_PARAM = OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)


class SplitVerifySerializer(serializers.Serializer):
    identity = serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text="Default: the split's claim, else 0.3."
    )
    coverage = serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text="Default: the claim's, else 0.5."
    )
    tiers = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SPLIT_TIERS)),
        required=False,
        allow_empty=False,
        help_text="Default: exact, minhash and mmseqs (when installed).",
    )


class SplitMakeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="Name of the new split.")
    fractions = serializers.DictField(
        child=serializers.FloatField(min_value=0.0, max_value=1.0),
        help_text='Part name -> fraction, summing to 1: {"train": 0.8, "validation": 0.1, "test": 0.1}.',
    )
    identity = serializers.FloatField(default=0.3, min_value=0.0, max_value=1.0)
    coverage = serializers.FloatField(default=0.5, min_value=0.0, max_value=1.0)
    seed = serializers.IntegerField(default=0)
    tolerance = serializers.FloatField(default=0.02, min_value=0.0, max_value=0.5)
    tiers = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SPLIT_TIERS)), required=False, allow_empty=False
    )
    oversize = serializers.ChoiceField(choices=list(OVERSIZE_CHOICES), default="fail")
    graph_sensitivity = serializers.FloatField(
        required=False,
        min_value=1.0,
        max_value=7.5,
        help_text="MMseqs2 -s of the graph search (default 7.5).",
    )
    labels = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Record identifier -> label, to stratify by (every record needs one).",
    )
    stratify_by = serializers.CharField(required=False, help_text="Name of the label, for the provenance.")
    exclude_overlap_with = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Record sets (name@version[/split:part]) or 'all-training': records overlapping them "
        "at the threshold stay out of the test part.",
    )


def _split(uuid) -> Split:
    found = Split.objects.select_related("version__dataset").filter(uuid=parse_uuid(uuid, "split")).first()
    if found is None:
        raise exceptions.NotFound(f"No split {uuid}.")
    return found


def _job_response(job, request) -> Response:
    job.refresh_from_db()
    answer = job_answer(job, request)
    if answer.status_code == 201:
        answer.status_code = 200
    return answer


class SplitVerifyView(ApiViewMixin, GenericAPIView):
    serializer_class = SplitVerifySerializer
    parser_classes = [SafeJSONParser]
    permission_classes = [IsAuthenticated]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Verify a split: cross-part overlap of every pair of parts, stored as an attestation",
        description="Starts a `split_verify` job; its result is the attestation (counts per threshold per "
        "pair of parts, max cross-part identity, ids in several parts, whether the claim holds).",
        tags=["splits"],
        parameters=[UUID_PARAM],
        request=SplitVerifySerializer,
        responses=JOB_RESPONSES,
    )
    def post(self, request, uuid=None):
        split = _split(uuid)
        form = SplitVerifySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        job = split_verify_enqueue(
            split=split,
            identity=data.get("identity"),
            coverage=data.get("coverage"),
            tiers=data.get("tiers"),
            user=request.user,
        )
        return _job_response(job, request)


class SplitAttestationListView(ApiViewMixin, GenericAPIView):
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Attestations of a split, newest first (without the violations)",
        tags=["splits"],
        parameters=[UUID_PARAM],
        responses={200: {"type": "array", "items": {"type": "object", "additionalProperties": True}}},
    )
    def get(self, request, uuid=None):
        return Response(split_attestations(_split(uuid)))


class AttestationDetailView(ApiViewMixin, GenericAPIView):
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="One attestation with every violating pair",
        tags=["splits"],
        parameters=[UUID_PARAM],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, uuid=None):
        found = (
            SplitAttestation.objects.select_related("split__version__dataset")
            .filter(uuid=parse_uuid(uuid, "attestation"))
            .first()
        )
        if found is None:
            raise exceptions.NotFound(f"No attestation {uuid}.")
        return Response(attestation_to_dict(found))


class SplitMakeView(ApiViewMixin, GenericAPIView):
    serializer_class = SplitMakeSerializer
    parser_classes = [SafeJSONParser]
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Generate a split whose parts share no similar pair, then verify it",
        description="Only the dataset's owner or its group. Starts a `split_make` job: the similarity graph "
        "of the version's records, its components packed whole into parts, the split registered with its "
        "provenance, then verified; the job's result names the split and its attestation.",
        tags=["splits"],
        parameters=[OpenApiParameter("ref", OpenApiTypes.STR, OpenApiParameter.PATH)],
        request=SplitMakeSerializer,
        responses=JOB_RESPONSES,
    )
    def post(self, request, ref=None):
        version = lookup_version(ref)
        form = SplitMakeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        name = data.pop("name")
        job = split_make_enqueue(version_ref=version.ref, name=name, options=data, user=request.user)
        return _job_response(job, request)


__all__ = ["AttestationDetailView", "SplitAttestationListView", "SplitMakeView", "SplitVerifyView"]
