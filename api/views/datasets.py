"""Datasets, versions (uploads, records, downloads), splits and parts, derivations, version lineage."""

import json
import shutil
import tempfile
import uuid as uuid_module
from pathlib import Path

from django.conf import settings
from django.db.models import Count, F, Prefetch
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from registry import version_reads
from registry.errors import refuse_sketch_only
from registry.models import (
    Dataset,
    DatasetVersion,
    Derivation,
    Record,
    RecordSet,
    Split,
    SplitPart,
)
from registry.overlap import selectors as overlap_selectors
from registry.services import dataset_can_write, split_register
from registry.services.ingest import registration_check
from registry.services.jobs import job_create, job_enqueue, jobs_run_inline
from registry.services.warnings import split_notices
from registry.split_selectors import latest_attestations

from .. import citations
from .. import schema_components as components
from ..created import SplitCreatedSerializer, registered_answer
from ..filters import (
    DatasetFilter,
    DerivationFilter,
    RecordFilter,
    SplitFilter,
    SplitPartFilter,
    VersionFilter,
)
from ..parsers import SafeJSONParser
from ..renderers import CITATION_FORMATS, CITATION_RENDERERS, CSVRenderer, FastaRenderer, JSONLDRenderer
from ..serializers import (
    RECORD_COLUMNS,
    DatasetSerializer,
    DerivationSerializer,
    EvaluationSerializer,
    JobSerializer,
    RecordSerializer,
    SketchUploadSerializer,
    SplitCreateSerializer,
    SplitPartSerializer,
    SplitSerializer,
    SplitUploadSerializer,
    VersionSerializer,
    VersionUploadSerializer,
    VersionUploadWithDatasetSerializer,
    derivation_row,
)
from ..uploads import (
    StoredUpload,
    StreamingDiskUploadHandler,
    safe_filename,
    too_large,
    upload_handler_of,
    uploads_dir,
    uploads_removed_on_error,
)
from .base import (
    ApiViewMixin,
    FileNegotiation,
    evaluations_queryset,
    job_answer,
    lookup_version,
    one_or_none,
    parse_uuid,
    readable_version_id,
    server_paths_hidden,
)
from .cite import CITE_ERROR_STATUSES, cite_format_action

VERSION_IMMUTABLE = (
    "Published dataset versions and their records are immutable. To change one, register a new version "
    "(POST /api/v1/datasets/{name}/versions/ with derived_from and transform to record the lineage)."
)
UPLOAD_RESPONSES = {
    201: OpenApiResponse(
        JobSerializer,
        description="Eager mode: registered; Location is the new version. `warnings` says, e.g., that the "
        "content is identical to another dataset's version.",
    ),
    200: OpenApiResponse(
        JobSerializer,
        description="Identical content is already registered: result.created is "
        "false, version_url is the existing version, and `warnings` says so (code already_registered).",
    ),
    202: OpenApiResponse(
        JobSerializer, description="Accepted: poll the job (Location) for state and progress."
    ),
}
UPLOAD_ERRORS = {"POST": ("413",)}


def versions_queryset():
    """Versions with their dataset and creator; their splits, parts and edges in are read by
    ``VersionSerializer`` for a whole page at once (``registry.version_reads``)."""
    return DatasetVersion.objects.select_related("dataset", "created_by")


def splits_queryset():
    """Splits with their version, creator and latest attestation (``SplitSerializer`` reads
    ``latest_attestations``; it reads the parts of a whole page at once): a constant number of queries
    for any number of splits."""
    return Split.objects.select_related("version__dataset", "created_by").prefetch_related(
        Prefetch("attestations", latest_attestations(), to_attr="latest_attestations"),
    )


def records_page(view, records, position: str = "position"):
    """One cursor page of ``records`` after the view's filters, in file order, as rows (no model instances).

    ``position`` names the field (or annotation) the cursor walks, which holds each record's position.
    """
    view.cursor_ordering = (position,)
    columns = RECORD_COLUMNS if position in RECORD_COLUMNS else (*RECORD_COLUMNS, position)
    page = view.paginate_queryset(view.filter_queryset(records).values(*columns))
    return view.get_paginated_response(RecordSerializer(page, many=True).data)


def _walked(edge: version_reads.WalkedEdge, context) -> dict:
    return derivation_row(edge.source_ref, edge.target_ref, edge.transform, edge.created_at, context)


class UploadMixin:
    """Installs the streaming upload handler for the actions that take a file."""

    upload_actions: tuple[str, ...] = ()

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if request.method == "POST" and getattr(self, "action", None) in self.upload_actions:
            request.upload_handlers = [StreamingDiskUploadHandler(request)]
        return drf_request

    def finalize_response(self, request, response, *args, **kwargs):
        # Whatever happened (a CSRF or permission refusal after the body was read, a bad form),
        # no uploaded file outlives the request unless a job took it.
        handler = upload_handler_of(request._request)
        if handler is not None:
            handler.cleanup(keep=getattr(self, "_kept_upload", None))
        return super().finalize_response(request, response, *args, **kwargs)

    def register_upload(self, request, dataset_name: str | None):
        """Validate the form, check what can be checked at once, and start an ingest job."""
        with uploads_removed_on_error(request):
            serializer_class = VersionUploadSerializer if dataset_name else VersionUploadWithDatasetSerializer
            form = serializer_class(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
            name = dataset_name or data["dataset"]
            dataset = Dataset.objects.filter(name=name).first()
            kind = data.get("kind") or (dataset.kind if dataset else None)
            if kind is None:
                raise exceptions.ValidationError({"kind": ["Required when the dataset is new."]})
            registration_check(
                dataset_name=name,
                kind=kind,
                version=data.get("version"),
                role=data.get("role", ""),
                derived_from=data.get("derived_from"),
                transform=data.get("transform", ""),
                user=request.user,
            )
            keep = self._stored_path(data["file"])
            payload = {
                "path": str(keep),
                "dataset_name": name,
                "kind": kind,
                "version": data.get("version"),
                "file_format": data.get("format"),
                "license": data.get("license", ""),
                "description": data.get("description", ""),
                "source": data.get("source", ""),
                "authors": data.get("authors", []),
                "derived_from": data.get("derived_from"),
                "transform": data.get("transform", ""),
                "role": data.get("role", ""),
                "id_column": data["id_column"],
                "sequence_column": data["sequence_column"],
                "skip_identical_duplicates": data["skip_identical_duplicates"],
                "force_kind": data["force_kind"],
                "user_id": request.user.pk,
                "delete_after": True,
            }
            if jobs_run_inline():  # no worker: the job runs inside this request, so bound its work
                payload["inline_max_bytes"] = int(settings.LEAKLEDGER["INLINE_MAX_BYTES"])
            job = job_create(kind="ingest", payload=payload, user=request.user, enqueue=False)
            # From here on the file is the job's (it removes it when it finishes): whatever happens to this
            # request, a pending job never loses its upload. finalize_response keeps it.
            self._kept_upload = keep
        # Without a broker the job runs here; with one that is down, the job stays pending for recover_jobs.
        job_enqueue(job)
        job.refresh_from_db()
        return job_answer(job, request)

    @staticmethod
    def _stored_path(upload) -> Path:
        if isinstance(upload, StoredUpload):
            return upload.path
        # Parsed by another handler (e.g. the session's CSRF check read the form first): copy to disk.
        if upload.size is not None and upload.size > int(settings.LEAKLEDGER["MAX_FILE_BYTES"]):
            raise too_large(upload.size)
        directory = uploads_dir() / uuid_module.uuid4().hex
        directory.mkdir(parents=True)
        path = directory / safe_filename(upload.name)
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return path


# --- datasets -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List datasets", tags=["datasets"]),
    retrieve=extend_schema(summary="A dataset", tags=["datasets"]),
)
class DatasetViewSet(UploadMixin, ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Named collections of versions. A dataset is created by uploading its first version."""

    serializer_class = DatasetSerializer
    filterset_class = DatasetFilter
    search_fields = ["name", "description"]
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    cursor_ordering = ("name",)
    upload_actions = ("versions", "sketches")
    immutable_message = "Datasets are changed by registering new versions; their records cannot be edited."
    extra_error_statuses = UPLOAD_ERRORS

    def get_queryset(self):
        return Dataset.objects.select_related("owner", "group").annotate(version_count=Count("versions"))

    def get_object(self):
        name = self.kwargs["name"]
        found = one_or_none(self.get_queryset().filter(name=name))
        if found is None:
            raise exceptions.NotFound(f"No dataset {name!r}.")
        return found

    def get_parsers(self):
        if (
            getattr(self, "action", None) in ("versions", "sketches")
            and self.request is not None
            and self.request.method == "POST"
        ):
            return [MultiPartParser()]
        return super().get_parsers()

    @extend_schema(
        methods=["GET"],
        summary="List a dataset's versions",
        tags=["versions"],
        responses=VersionSerializer(many=True),
        filters=False,
        parameters=[],
    )
    @extend_schema(
        methods=["POST"],
        summary="Upload a file as a new version",
        description=(
            "multipart/form-data, streamed to disk. Starts an ingest job: 202 and the job (Location). "
            "Without a Celery broker the job runs inside the request: 201 (new version), 200 (identical "
            "content was already registered: the existing version, result.created=false), or the job's "
            "validation error (file, line, record). Over the size limit: 413."
        ),
        tags=["versions"],
        request={"multipart/form-data": VersionUploadSerializer},
        responses=UPLOAD_RESPONSES,
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="versions",
        url_name="versions",
        parser_classes=[MultiPartParser, FormParser],
    )
    def versions(self, request, name=None):
        if request.method == "POST":
            found = Dataset.objects.filter(name=name).first()
            if found is not None and not dataset_can_write(request.user, found):
                raise exceptions.PermissionDenied(
                    f"Only the owner of {name!r} or members of its group may add versions."
                )
            return self.register_upload(request, name)
        dataset = self.get_object()
        queryset = versions_queryset().filter(dataset=dataset)
        self.cursor_ordering = ("created_at",)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            VersionSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(
        summary="Upload a sketch file (.llsk) as a sketch-only version",
        description=(
            "multipart/form-data. The file holds, per record, the sha256 of the normalised sequence, its length "
            "and its MinHash signature (made with `leakledger sketch FILE -o private.llsk`), never the residues. "
            "The version's records have no sequences: overlap checks against it match sha256 (exact) and "
            "signatures (estimated from Jaccard, not aligned), and its records cannot be downloaded (409). A "
            "file sketched with other parameters than this registry's is refused (the job's error says what to "
            "re-run). Answers as POST /datasets/{name}/versions/."
        ),
        tags=["versions"],
        request={"multipart/form-data": SketchUploadSerializer},
        responses=UPLOAD_RESPONSES,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="sketches",
        url_name="sketches",
        parser_classes=[MultiPartParser, FormParser],
    )
    def sketches(self, request, name=None):
        found = Dataset.objects.filter(name=name).first()
        if found is not None and not dataset_can_write(request.user, found):
            raise exceptions.PermissionDenied(
                f"Only the owner of {name!r} or members of its group may add versions."
            )
        with uploads_removed_on_error(request):
            form = SketchUploadSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
            kind = data.get("kind") or (found.kind if found else None)
            if kind is not None:
                registration_check(
                    dataset_name=name,
                    kind=kind,
                    version=data.get("version"),
                    role=data.get("role", ""),
                    user=request.user,
                )
            keep = self._stored_path(data["file"])
            payload = {
                "path": str(keep),
                "dataset_name": name,
                "kind": kind,
                "version": data.get("version"),
                "license": data.get("license", ""),
                "description": data.get("description", ""),
                "source": data.get("source", ""),
                "role": data.get("role", ""),
                "sketch_only": True,
                "user_id": request.user.pk,
                "delete_after": True,
            }
            job = job_create(kind="ingest", payload=payload, user=request.user, enqueue=False)
            self._kept_upload = keep
        job_enqueue(job)
        job.refresh_from_db()
        return job_answer(job, request)


# --- versions -------------------------------------------------------------------------------------


CITE_PARAMETERS = [
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        enum=CITATION_FORMATS,
        required=False,
        description="bibtex (default), cff (CITATION.cff), csl (CSL-JSON) or datacite (DataCite JSON).",
    )
]
CITE_RESPONSES = {
    (200, "application/x-bibtex"): OpenApiTypes.STR,
    (200, "application/x-yaml"): OpenApiTypes.OBJECT,  # CITATION.cff: a YAML mapping
    (200, "application/vnd.citationstyles.csl+json"): {"type": "array", "items": {"type": "object"}},
    (200, "application/vnd.datacite.datacite+json"): OpenApiTypes.OBJECT,
}


VersionLineageSerializer = inline_serializer(
    name="VersionLineage",
    fields={
        "version": serializers.CharField(),
        "ancestors": DerivationSerializer(many=True),
        "descendants": DerivationSerializer(many=True),
        "splits": SplitSerializer(many=True),
        "trained_models": serializers.ListField(
            child=serializers.CharField(),
            help_text="Model versions trained on this version or one of its parts.",
        ),
        "evaluations": EvaluationSerializer(many=True),
    },
)


@extend_schema_view(
    list=extend_schema(summary="List dataset versions", tags=["versions"]),
    retrieve=extend_schema(
        summary="A dataset version",
        tags=["versions"],
        parameters=[
            OpenApiParameter(
                "ref",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="name@version or the version's UUID",
            )
        ],
    ),
)
class VersionViewSet(UploadMixin, ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Immutable snapshots ``name@version`` with a content digest over all their records."""

    serializer_class = VersionSerializer
    filterset_class = VersionFilter
    search_fields = ["dataset__name", "version", "dataset__description"]
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    upload_actions = ("create", "splits", "splits_upload")
    immutable_message = VERSION_IMMUTABLE
    action_error_statuses = CITE_ERROR_STATUSES
    extra_error_statuses = UPLOAD_ERRORS

    def get_queryset(self):
        if getattr(self, "action", None) == "records":  # the records action filters records
            return Record.objects.select_related("sequence")
        return versions_queryset()

    def get_object(self):
        return lookup_version(self.kwargs["ref"], versions_queryset())

    def get_parsers(self):
        if getattr(self, "action", None) == "create":
            return [MultiPartParser()]
        if getattr(self, "action", None) == "splits":
            return [SafeJSONParser(), MultiPartParser()]
        if getattr(self, "action", None) == "splits_upload":
            return [MultiPartParser()]
        return super().get_parsers()

    @extend_schema(
        summary="Upload a file as a new version (dataset named in the form)",
        description="As POST /datasets/{name}/versions/, with the dataset's name in the `dataset` field.",
        tags=["versions"],
        request={"multipart/form-data": VersionUploadWithDatasetSerializer},
        responses=UPLOAD_RESPONSES,
    )
    def create(self, request, *args, **kwargs):
        return self.register_upload(request, None)

    @extend_schema(
        summary="Records of a version, in file order",
        tags=["versions"],
        responses=RecordSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=RecordFilter,
        search_fields=["identifier", "description"],
    )
    def records(self, request, ref=None):
        # The version's id first (a kept statement), then the page by it: PostgreSQL reads the page
        # off the (version, position) index and stops after it (through a join on the version it
        # sorted records for each page: with a registry of 76,000 records, all of them:
        # benchmarks/README.md, "API pages"). An unknown version is a 404 and a sketch-only one (no
        # residues) a 409, before any cursor or filter is read.
        version_id = readable_version_id(ref)
        if version_id is None:
            refuse_sketch_only(lookup_version(ref))  # 404 or 409; a version deleted meanwhile: 404
            raise exceptions.NotFound(f"No dataset version {ref!r}.")
        return records_page(self, Record.objects.filter(version_id=version_id))

    @extend_schema(
        methods=["GET"],
        summary="Splits of a version",
        tags=["splits"],
        filters=False,
        responses=SplitSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Register a split of a version into parts",
        tags=["splits"],
        description="Only the dataset's owner or its group. Every id must be a record of the version; an id in "
        "two parts is rejected unless allow_shared_ids.",
        # One body type per operation for generated clients: multipart is documented at splits/upload/.
        request={"application/json": SplitCreateSerializer},
        responses={201: SplitCreatedSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def splits(self, request, ref=None):
        version = lookup_version(ref)
        if request.method == "GET":
            splits = splits_queryset().filter(version=version).order_by("name")
            return Response(SplitSerializer(splits, many=True, context=self.get_serializer_context()).data)
        if not dataset_can_write(request.user, version.dataset):
            raise exceptions.PermissionDenied(
                f"Only the owner of {version.dataset.name!r} or members of its group may add splits."
            )
        multipart = request.content_type.startswith("multipart/")
        form = (SplitUploadSerializer if multipart else SplitCreateSerializer)(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        mapping_path = None
        if "mapping_file" in data:  # streamed to disk; removed with the request (finalize_response)
            mapping_path = self._stored_path(data["mapping_file"])
        try:
            if "mapping" in data:
                tmp = Path(settings.DATA_DIR) / "tmp"
                tmp.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(
                    "w", suffix=".json", dir=tmp, delete=False, encoding="utf-8"
                ) as f:
                    json.dump(data["mapping"], f)
                    mapping_path = Path(f.name)
            upload = data.get("mapping_file")
            with server_paths_hidden({mapping_path: upload.name if upload is not None else "mapping"}):
                split = split_register(
                    version_ref=version.ref,
                    name=data["name"],
                    mapping_path=mapping_path,
                    from_header=data.get("from_header"),
                    roles=data.get("roles"),
                    allow_shared_ids=data["allow_shared_ids"],
                    claimed_max_identity=data.get("claims_max_identity"),
                    claimed_coverage=data.get("claims_coverage"),
                    user=request.user,
                )
        finally:
            if mapping_path is not None and "mapping" in data:
                mapping_path.unlink(missing_ok=True)
            elif mapping_path is not None:
                shutil.rmtree(mapping_path.parent, ignore_errors=True)  # its own uploads/<random>/ folder
        split = splits_queryset().get(pk=split.pk)
        return registered_answer(
            SplitCreatedSerializer, split, context=self.get_serializer_context(), notices=split_notices(split)
        )

    @extend_schema(
        summary="Register a split of a version, the mapping as a file",
        tags=["splits"],
        description="As POST /versions/{ref}/splits/, as multipart/form-data with the mapping in `mapping_file`.",
        request={"multipart/form-data": SplitUploadSerializer},
        responses={201: SplitCreatedSerializer},
    )
    @action(
        detail=True, methods=["post"], url_path="splits/upload", pagination_class=None, filter_backends=[]
    )
    def splits_upload(self, request, ref=None):
        return self.splits(request, ref)

    @extend_schema(
        summary="Lineage of a version: derivations both ways, splits, models, evaluations",
        tags=["lineage"],
        filters=False,
        responses=VersionLineageSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def lineage(self, request, ref=None):
        version = lookup_version(ref)
        context = self.get_serializer_context()
        splits = splits_queryset().filter(version=version).order_by("name")
        evaluations = (
            evaluations_queryset()
            .filter(record_set__in=RecordSet.objects.filter(version=version))
            .order_by("created_at", "uuid")
        )
        ancestors, descendants = version_reads.walk_derivations(version.pk)
        return Response(
            {
                "version": version.ref,
                "ancestors": [_walked(e, context) for e in ancestors],
                "descendants": [_walked(e, context) for e in descendants],
                "splits": SplitSerializer(splits, many=True, context=context).data,
                "trained_models": version_reads.models_trained_on(version.pk),
                "evaluations": EvaluationSerializer(evaluations, many=True, context=context).data,
            }
        )

    @extend_schema(
        summary="Standing overlap reports of a version (as test set and as training set)",
        description="Reports where the whole version is the query (test side) or the reference (training "
        "side), without hits (see /overlap-reports/{uuid}/hits/), and the overlap jobs still running for it.",
        tags=["overlap"],
        filters=False,
        responses=components.VersionOverlapSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def overlap(self, request, ref=None):
        version = lookup_version(ref)
        record_set = RecordSet.objects.select_related("version__dataset").get(
            version=version, part__isnull=True
        )
        return Response(overlap_selectors.reports_for_record_set(record_set, hits=False))

    @extend_schema(
        summary="Cite a version (BibTeX, CITATION.cff, CSL-JSON, DataCite JSON)",
        tags=["citations"],
        filters=False,
        parameters=CITE_PARAMETERS,
        responses=CITE_RESPONSES,
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=CITATION_RENDERERS,
        pagination_class=None,
        filter_backends=[],
    )
    def cite(self, request, ref=None):
        version = lookup_version(ref)
        return Response(citations.version_citation(version, request.accepted_renderer.format, request))

    def citation(self, fmt: str, request):
        return citations.version_citation(lookup_version(self.kwargs["ref"]), fmt, request)

    cite_bibtex = cite_format_action("bibtex", "a version")
    cite_cff = cite_format_action("cff", "a version")
    cite_csl = cite_format_action("csl", "a version")
    cite_datacite = cite_format_action("datacite", "a version")

    @extend_schema(
        summary="Croissant 1.1 JSON-LD metadata of a version",
        tags=["citations"],
        filters=False,
        responses={(200, "application/ld+json"): components.CROISSANT_SCHEMA},
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONLDRenderer],
        pagination_class=None,
        filter_backends=[],
    )
    def croissant(self, request, ref=None):
        return Response(citations.croissant(lookup_version(ref, versions_queryset()), request))


# --- record downloads -----------------------------------------------------------------------------


class RecordsDownloadView(ApiViewMixin, GenericAPIView):
    """The records of a version as a file, streamed; its sha256 is in ``X-Content-SHA256``."""

    fmt = "fasta"
    pagination_class = None
    filter_backends = []
    immutable_message = VERSION_IMMUTABLE
    content_negotiation_class = FileNegotiation

    def get(self, request, ref: str):
        version = lookup_version(ref)
        refuse_sketch_only(version)  # 409 before the stream starts: a sketch-only version has no residues
        response = StreamingHttpResponse(
            citations.records_stream(version, self.fmt), content_type=citations.MEDIA[self.fmt]
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{citations.download_name(version, self.fmt)}"'
        )
        response["X-Content-SHA256"] = citations.records_sha256(version, self.fmt)
        return response


REF_PATH = OpenApiParameter(
    "ref", OpenApiTypes.STR, OpenApiParameter.PATH, description="name@version or the version's UUID"
)


@extend_schema_view(
    get=extend_schema(
        summary="Download the records as FASTA",
        description="`>identifier description` and the sequence on one line, in file order. Its sha256 is in the "
        "X-Content-SHA256 header and in the Croissant metadata.",
        tags=["versions"],
        parameters=[REF_PATH],
        responses={(200, "text/x-fasta"): OpenApiTypes.STR},
    )
)
class FastaDownloadView(RecordsDownloadView):
    fmt = "fasta"
    renderer_classes = [FastaRenderer]


@extend_schema_view(
    get=extend_schema(
        summary="Download the records as CSV",
        description="Columns identifier, description, sequence, and split:NAME (the record's part) per split.",
        tags=["versions"],
        parameters=[REF_PATH],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
)
class CsvDownloadView(RecordsDownloadView):
    fmt = "csv"
    renderer_classes = [CSVRenderer]


# --- splits, parts, derivations -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List splits", tags=["splits"]),
    retrieve=extend_schema(summary="A split with its parts", tags=["splits"]),
)
class SplitViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SplitSerializer
    filterset_class = SplitFilter
    search_fields = ["name", "version__dataset__name"]
    lookup_field = "uuid"
    lookup_value_regex = r"[^/]+"  # anything the URL can hold, so that a bad UUID is a JSON 404
    immutable_message = "Splits are immutable: register a new split under another name."

    def get_queryset(self):
        return splits_queryset()

    def get_object(self):
        found = one_or_none(self.get_queryset().filter(uuid=parse_uuid(self.kwargs["uuid"], "split")))
        if found is None:
            raise exceptions.NotFound(f"No split {self.kwargs['uuid']}.")
        return found


@extend_schema_view(
    list=extend_schema(summary="List split parts", tags=["splits"]),
    retrieve=extend_schema(summary="A split part", tags=["splits"]),
)
class SplitPartViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SplitPartSerializer
    filterset_class = SplitPartFilter
    search_fields = ["name", "split__name"]
    cursor_ordering = ("uuid",)  # parts have no timestamp; the UUID is unique and never changes
    lookup_field = "uuid"
    lookup_value_regex = r"[^/]+"  # anything the URL can hold, so that a bad UUID is a JSON 404
    immutable_message = "Split parts are immutable: register a new split under another name."

    def get_queryset(self):
        if getattr(self, "action", None) == "records":  # the records action filters records
            return Record.objects.select_related("sequence")
        return SplitPart.objects.select_related("split__version__dataset")

    def get_object(self):
        found = (
            SplitPart.objects.select_related("split__version__dataset")
            .filter(uuid=parse_uuid(self.kwargs["uuid"], "part"))
            .first()
        )
        if found is None:
            raise exceptions.NotFound(f"No split part {self.kwargs['uuid']}.")
        return found

    @extend_schema(
        parameters=[OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        summary="Records of a split part, in file order",
        tags=["splits"],
        responses=RecordSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=RecordFilter,
        search_fields=["identifier", "description"],
    )
    def records(self, request, uuid=None):
        part = self.get_object()
        refuse_sketch_only(part.split.version)
        # In file order off the memberships' (part, position) index, a page at a time: ordered by the
        # record's own position, PostgreSQL sorted the part's records for each page. The
        # annotation reuses the filter's join (a cursor filter on splitmembership__position would add
        # a second, unrestricted one).
        records = Record.objects.filter(splitmembership__part=part).annotate(
            member_position=F("splitmembership__position")
        )
        return records_page(self, records, position="member_position")


@extend_schema_view(list=extend_schema(summary="List derivations (lineage edges)", tags=["lineage"]))
class DerivationViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = DerivationSerializer
    filterset_class = DerivationFilter
    search_fields = ["transform"]

    def get_queryset(self):
        return Derivation.objects.select_related("source__dataset", "target__dataset")


__all__ = [
    "CsvDownloadView",
    "DatasetViewSet",
    "FastaDownloadView",
    "DerivationViewSet",
    "SplitPartViewSet",
    "SplitViewSet",
    "VersionViewSet",
]
