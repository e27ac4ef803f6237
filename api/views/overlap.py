"""Overlap reports (standing checks) and the ad-hoc overlap query."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from registry.models import Job, OverlapHit, OverlapReport
from registry.overlap.screen import overlap_screen
from registry.services.jobs import job_create, job_enqueue

from ..filters import OverlapReportFilter
from ..parsers import SafeJSONParser
from ..serializers import (
    JobSerializer,
    OverlapHitSerializer,
    OverlapQueryFileSerializer,
    OverlapQueryRecordSetSerializer,
    OverlapQuerySerializer,
    OverlapReportDetailSerializer,
    OverlapReportSerializer,
    OverlapScreenResultSerializer,
    OverlapScreenSerializer,
)
from ..uploads import StreamingDiskUploadHandler, uploads_removed_on_error
from .base import ApiViewMixin, job_answer, parse_uuid
from .datasets import UploadMixin

REPORT_RELATED = (
    "query_set__version__dataset",
    "query_set__part__split",
    "reference_set__version__dataset",
    "reference_set__part__split",
)


@extend_schema_view(
    list=extend_schema(summary="List overlap reports (standing checks, test x training)", tags=["overlap"]),
    retrieve=extend_schema(summary="An overlap report: summary per threshold and method", tags=["overlap"]),
)
class OverlapReportViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = OverlapReportSerializer
    filterset_class = OverlapReportFilter

    def get_serializer_class(self):
        return OverlapReportDetailSerializer if self.action == "retrieve" else OverlapReportSerializer

    lookup_field = "uuid"
    lookup_value_regex = r"[^/]+"  # anything the URL can hold, so that a bad UUID is a JSON 404
    immutable_message = "Overlap reports are immutable results."

    def get_queryset(self):
        if getattr(self, "action", None) == "hits":
            return OverlapHit.objects.select_related("query_record", "reference_record")
        return OverlapReport.objects.select_related(*REPORT_RELATED).defer("method")

    def get_object(self):
        found = (
            OverlapReport.objects.select_related(*REPORT_RELATED)
            .filter(uuid=parse_uuid(self.kwargs["uuid"], "overlap report"))
            .first()
        )
        if found is None:
            raise exceptions.NotFound(f"No overlap report {self.kwargs['uuid']}.")
        return found

    @extend_schema(
        summary="Best hit of each query record, highest identity first",
        tags=["overlap"],
        parameters=[OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        filters=False,
        responses=OverlapHitSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def hits(self, request, uuid=None):
        report = self.get_object()
        queryset = OverlapHit.objects.filter(report=report).select_related("query_record", "reference_record")
        # The rank has no ties: on identity alone the cursor reached a page inside tied hits by an offset,
        # which DRF caps at 1,000, so past 1,000 hits of one identity the same pages came back forever.
        self.cursor_ordering = ("rank",)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(OverlapHitSerializer(page, many=True).data)


QUERY_RESPONSES = {
    200: OpenApiResponse(JobSerializer, description="Eager mode: done; the report is the job's result."),
    202: OpenApiResponse(JobSerializer, description="Accepted: poll the job (Location) for the report."),
}


class _FileQueryView(UploadMixin, ApiViewMixin, GenericAPIView):
    """A question about a file streamed to disk (or a record set named in JSON): query and screen."""

    parser_classes = [MultiPartParser, SafeJSONParser]
    pagination_class = None
    filter_backends = []
    extra_error_statuses = {"POST": ("413",)}

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            request.upload_handlers = [StreamingDiskUploadHandler(request)]
        return super(UploadMixin, self).initialize_request(request, *args, **kwargs)


@extend_schema_view(
    post=extend_schema(
        summary="Ask: does this file (or record set) overlap registered data?",
        description=(
            "Send a file (multipart/form-data, streamed to disk, never registered) or a registered record set "
            "(JSON). Against every training set of the kind (default), named record sets (`against`), or a "
            "model version's training ancestry (`against_model`). Starts a `query` job: 202 and its URL; "
            "the report is the job's `result` when it has succeeded. Without a Celery broker the job runs "
            "inside the request and the answer is 200 with the finished job."
        ),
        tags=["overlap"],
        # One body type per operation (generated clients type a body per operation): the record-set
        # query is documented at overlap/query/record-set/; this path still accepts it as JSON too.
        request={"multipart/form-data": OverlapQueryFileSerializer},
        responses=QUERY_RESPONSES,
    )
)
class OverlapQueryView(_FileQueryView):
    serializer_class = OverlapQuerySerializer

    def post(self, request):
        keep = None
        with uploads_removed_on_error(request):
            form = OverlapQuerySerializer(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
            if "file" in data:
                keep = self._stored_path(data["file"])
            payload = {
                "source": str(keep) if keep is not None else data["record_set"],
                "kind": data.get("kind"),
                "file_format": data.get("format"),
                "against": data.get("against") or None,
                "against_model": data.get("against_model"),
                "identity": data["identity"],
                "coverage": data["coverage"],
                "tiers": data.get("tiers") or ["exact", "minhash"],
                "user_id": request.user.pk,
                "delete_after": keep is not None,
            }
            job = job_create(kind=Job.Kind.QUERY, payload=payload, user=request.user, enqueue=False)
            self._kept_upload = (
                keep  # the job's from here on (it removes it when done): finalize_response keeps it
            )
        job_enqueue(job)  # as for uploads (datasets.py): a broker outage leaves it pending, with its file
        job.refresh_from_db()
        answer = job_answer(job, request)
        if answer.status_code == 201:
            answer.status_code = 200  # a query creates nothing but the job
        return answer


@extend_schema_view(
    post=extend_schema(
        summary="Screen: how much of this file (or record set) is in each training set, as a whole?",
        description=(
            "The first answer before the per-record report (`overlap/query/`): one FracMinHash sketch per set, "
            "the containment of the query's distinct k-mers in each reference set (every training set of the "
            "kind by default, named sets in `against`, or a model version's training ancestry), highest "
            "first, with a 95% interval. Runs within the request: a set's sketch is computed once and kept."
        ),
        tags=["overlap"],
        request={"multipart/form-data": OverlapScreenSerializer},
        responses={200: OverlapScreenResultSerializer},
    )
)
class OverlapScreenView(_FileQueryView):
    serializer_class = OverlapScreenSerializer

    def post(self, request):
        with uploads_removed_on_error(request):
            form = OverlapScreenSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
            source = str(self._stored_path(data["file"])) if "file" in data else data["record_set"]
            result = overlap_screen(
                source=source,
                kind=data.get("kind"),
                file_format=data.get("format"),
                against=data.get("against") or None,
                against_model=data.get("against_model"),
                k=data.get("k"),
                scaled=data["scaled"],
            )
        if "file" in data:
            result["query"] = data["file"].name  # not the server's temporary path
        return Response(result)


@extend_schema_view(
    post=extend_schema(
        summary="Ask: does this registered record set overlap registered data?",
        description="As POST /overlap/query/, with a registered record set (`record_set`) in a JSON body.",
        tags=["overlap"],
        request={"application/json": OverlapQueryRecordSetSerializer},
        responses=QUERY_RESPONSES,
    )
)
class OverlapQueryRecordSetView(OverlapQueryView):
    parser_classes = [SafeJSONParser]
