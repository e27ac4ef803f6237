"""Models, model versions, evaluations (with their lineage and citations), and jobs."""

import csv
import tempfile
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from registry import selectors
from registry.models import (
    Job,
    MLModel,
    ModelVersion,
)
from registry.overlap import selectors as overlap_selectors
from registry.services import evaluation_record, model_version_register
from registry.services.ml import model_can_write
from registry.services.warnings import contamination_notice, evaluation_notices, model_notices

from .. import citations
from .. import schema_components as components
from ..created import EvaluationCreatedSerializer, ModelVersionCreatedSerializer, registered_answer
from ..filters import EvaluationFilter, JobFilter, MLModelFilter, ModelVersionFilter
from ..parsers import SafeJSONParser
from ..renderers import CITATION_RENDERERS
from ..serializers import (
    DerivationSerializer,
    EvaluationCreateSerializer,
    EvaluationSerializer,
    EvaluationUploadSerializer,
    JobSerializer,
    MLModelSerializer,
    ModelVersionCreateSerializer,
    ModelVersionSerializer,
    RecordSetSerializer,
)
from .base import (
    ApiViewMixin,
    evaluations_queryset,
    lookup_model_version,
    one_or_none,
    parse_uuid,
    server_paths_hidden,
)
from .cite import CITE_ERROR_STATUSES, cite_format_action
from .datasets import CITE_PARAMETERS, CITE_RESPONSES


def model_versions_queryset():
    """Model versions with their model, base and creator; what they were trained on is read by
    ``ModelVersionSerializer`` for a whole page at once (``registry.version_reads.training_sets_of``)."""
    return ModelVersion.objects.select_related("model", "base__model", "created_by")


@extend_schema_view(
    list=extend_schema(summary="List models", tags=["models"]),
    retrieve=extend_schema(summary="A model", tags=["models"]),
)
class MLModelViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Named models; what they were trained on belongs to each version."""

    serializer_class = MLModelSerializer
    filterset_class = MLModelFilter
    search_fields = ["name", "description"]
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    cursor_ordering = ("name",)
    immutable_message = "Models change by registering new model versions (POST /api/v1/model-versions/)."

    def get_queryset(self):
        return MLModel.objects.select_related("owner").annotate(version_count=Count("versions"))

    def get_object(self):
        found = one_or_none(self.get_queryset().filter(name=self.kwargs["name"]))
        if found is None:
            raise exceptions.NotFound(f"No model {self.kwargs['name']!r}.")
        return found


ModelVersionLineageSerializer = inline_serializer(
    name="ModelVersionLineage",
    fields={
        "model_version": serializers.CharField(),
        "bases": serializers.ListField(
            child=serializers.CharField(), help_text="Fine-tuning chain, nearest first."
        ),
        "fine_tuned": serializers.ListField(
            child=serializers.CharField(),
            help_text="Versions fine-tuned from it, transitively, nearest first.",
        ),
        "training_ancestry": RecordSetSerializer(many=True),
        "dataset_ancestors": DerivationSerializer(many=True),
        "evaluations": EvaluationSerializer(many=True),
    },
)


def _training_lineage(model_version: ModelVersion, context) -> dict:
    chain = selectors.model_version_chain(model_version)
    ancestry = selectors.training_ancestry(model_version)
    edges, seen = [], set()
    for record_set in ancestry:
        for edge in selectors.version_ancestors(record_set.version):
            if edge.pk not in seen:
                seen.add(edge.pk)
                edges.append(edge)
    return {
        "bases": [m.ref for m in chain[1:]],
        "training_ancestry": RecordSetSerializer(ancestry, many=True, context=context).data,
        "dataset_ancestors": DerivationSerializer(edges, many=True, context=context).data,
    }


@extend_schema_view(
    list=extend_schema(summary="List model versions", tags=["models"]),
    retrieve=extend_schema(summary="A model version", tags=["models"]),
)
class ModelVersionViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """``name@version``, trained on record sets, optionally fine-tuned from a base."""

    serializer_class = ModelVersionSerializer
    filterset_class = ModelVersionFilter
    search_fields = ["model__name", "version"]
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    parser_classes = [SafeJSONParser]
    immutable_message = "Model versions are immutable: register a new version."

    def get_queryset(self):
        return model_versions_queryset()

    def get_object(self):
        return lookup_model_version(self.kwargs["ref"], model_versions_queryset())

    @extend_schema(
        summary="Register a model version",
        description="Idempotent, as on the command line: the same arguments again answer 200 with the existing "
        "version and `created: false`; other arguments for a registered name@version are a 409 whose `fields` "
        "name each argument that differs. `warnings` says, for example, that it is trained on a benchmark.",
        tags=["models"],
        request=ModelVersionCreateSerializer,
        responses={
            201: OpenApiResponse(ModelVersionCreatedSerializer, description="Registered now."),
            200: OpenApiResponse(
                ModelVersionCreatedSerializer,
                description="Already registered with identical arguments: the existing version, created=false.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        form = ModelVersionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        version = model_version_register(
            ref=data["ref"],
            trained_on=data["trained_on"],
            base=data.get("base"),
            code_url=data.get("code_url", ""),
            parameters=data["parameters"],
            description=data.get("description", ""),
            user=request.user,
            idempotent=True,
        )
        return registered_answer(
            ModelVersionCreatedSerializer,
            model_versions_queryset().get(pk=version.pk),
            context=self.get_serializer_context(),
            notices=model_notices(version),
            created=version.created,
        )

    @extend_schema(
        summary="Lineage of a model version: bases, training ancestry, evaluations",
        tags=["lineage"],
        filters=False,
        responses=ModelVersionLineageSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def lineage(self, request, ref=None):
        model_version = lookup_model_version(ref)
        context = self.get_serializer_context()
        # Everything fine-tuned from it, transitively (as the CLI's lineage reports it), nearest first.
        fine_tuned, frontier = [], [model_version.pk]
        while frontier:
            batch = list(
                ModelVersion.objects.filter(base_id__in=frontier)
                .select_related("model")
                .order_by("created_at")
            )
            fine_tuned.extend(batch)
            frontier = [m.pk for m in batch]
        evaluations = (
            evaluations_queryset().filter(model_version=model_version).order_by("created_at", "uuid")
        )
        return Response(
            {
                "model_version": model_version.ref,
                **_training_lineage(model_version, context),
                "fine_tuned": [m.ref for m in fine_tuned],
                "evaluations": EvaluationSerializer(evaluations, many=True, context=context).data,
            }
        )


EvaluationLineageSerializer = inline_serializer(
    name="EvaluationLineage",
    fields={
        "evaluation": serializers.UUIDField(),
        "model_version": serializers.CharField(),
        "bases": serializers.ListField(child=serializers.CharField()),
        "training_ancestry": RecordSetSerializer(many=True),
        "dataset_ancestors": DerivationSerializer(many=True),
        "evaluated_on": RecordSetSerializer(),
        "evaluated_on_ancestors": DerivationSerializer(many=True),
    },
)


@extend_schema_view(
    list=extend_schema(summary="List evaluations", tags=["evaluations"]),
    retrieve=extend_schema(summary="An evaluation, with its contamination summary", tags=["evaluations"]),
)
class EvaluationViewSet(ApiViewMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """A model version scored on a record set: immutable, citable by UUID."""

    serializer_class = EvaluationSerializer
    filterset_class = EvaluationFilter
    search_fields = ["model_version__model__name", "record_set__version__dataset__name", "code_ref"]
    lookup_field = "uuid"
    lookup_value_regex = r"[^/]+"  # anything the URL can hold, so that a bad UUID is a JSON 404
    parser_classes = [SafeJSONParser, MultiPartParser]
    immutable_message = "Evaluations are immutable: record a new evaluation."
    action_error_statuses = CITE_ERROR_STATUSES

    def get_queryset(self):
        return evaluations_queryset()

    def get_object(self):
        found = one_or_none(self.get_queryset().filter(uuid=parse_uuid(self.kwargs["uuid"], "evaluation")))
        if found is None:
            raise exceptions.NotFound(f"No evaluation {self.kwargs['uuid']}.")
        return found

    @extend_schema(
        summary="Record an evaluation",
        tags=["evaluations"],
        # One body type per operation for generated clients: multipart is documented at evaluations/upload/.
        request={"application/json": EvaluationCreateSerializer},
        responses={201: EvaluationCreatedSerializer},
        description="Only the model's owner or staff (a model registered from the command line has no owner: "
        "only staff). The contamination "
        "report against the model's training ancestry is computed in the background. Per-record scores go "
        "inline (JSON `scores`) or, for many records, as a file (multipart `scores_file`). `warnings` holds "
        "the contamination headline (code contamination, or contamination_pending until the report exists) "
        "and what else a reader must know (scores covering few records, a metric far from its per-record mean).",
    )
    def create(self, request, *args, **kwargs):
        multipart = request.content_type.startswith("multipart/")
        form = (EvaluationUploadSerializer if multipart else EvaluationCreateSerializer)(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        model_version = lookup_model_version(data["model_version"])
        if not model_can_write(request.user, model_version.model):
            raise exceptions.PermissionDenied(
                f"Only the owner of model {model_version.model.name!r} (or staff, for a model registered from the "
                "command line) may record its evaluations."
            )
        scores_path = None
        try:
            if data.get("scores"):
                scores_path = self._scores_file(data["scores"])
            elif data.get("scores_file") is not None:
                scores_path = self._stored_scores(data["scores_file"])
            upload = data.get("scores_file")
            with server_paths_hidden({scores_path: upload.name if upload is not None else "scores"}):
                evaluation = evaluation_record(
                    model_ref=model_version.ref,
                    on_ref=data["on"],
                    metrics=data["metrics"],
                    scores_path=scores_path,
                    code_ref=data.get("code_ref", ""),
                    user=request.user,
                )
        finally:
            if scores_path is not None:
                scores_path.unlink(missing_ok=True)
        return registered_answer(
            EvaluationCreatedSerializer,
            evaluations_queryset().get(pk=evaluation.pk),
            context=self.get_serializer_context(),
            notices=[*evaluation_notices(evaluation), contamination_notice(evaluation)],
        )

    @extend_schema(
        summary="Record an evaluation, per-record scores as a file",
        tags=["evaluations"],
        request={"multipart/form-data": EvaluationUploadSerializer},
        responses={201: EvaluationCreatedSerializer},
        description="As POST /evaluations/, as multipart/form-data with the scores in `scores_file`.",
    )
    @action(detail=False, methods=["post"], url_path="upload", parser_classes=[MultiPartParser])
    def upload(self, request):
        return self.create(request)

    @staticmethod
    def _stored_scores(upload) -> Path:
        """The uploaded scores file on disk (a private copy in DATA_DIR/tmp, removed after use)."""
        tmp = Path(settings.DATA_DIR) / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", suffix=".scores", dir=tmp, delete=False) as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        return Path(handle.name)

    @staticmethod
    def _scores_file(scores: dict) -> Path:
        metric_names = sorted({m for values in scores.values() for m in values})
        for identifier, values in scores.items():
            if sorted(values) != metric_names:
                raise exceptions.ValidationError(
                    {
                        "scores": [
                            f"record {identifier!r} scores {sorted(values)}, not every metric {metric_names}."
                        ]
                    }
                )
        if not metric_names or "id" in metric_names:
            raise exceptions.ValidationError(
                {"scores": ["Give at least one metric per record; 'id' is reserved."]}
            )
        tmp = Path(settings.DATA_DIR) / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", suffix=".tsv", dir=tmp, delete=False, newline="", encoding="utf-8"
        ) as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["id", *metric_names])
            for identifier, values in scores.items():
                writer.writerow([identifier, *(repr(values[m]) for m in metric_names)])
        return Path(handle.name)

    @extend_schema(
        summary="Lineage of an evaluation: model chain, training ancestry, evaluated set",
        tags=["lineage"],
        filters=False,
        responses=EvaluationLineageSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def lineage(self, request, uuid=None):
        evaluation = self.get_object()
        context = self.get_serializer_context()
        return Response(
            {
                "evaluation": str(evaluation.uuid),
                "model_version": evaluation.model_version.ref,
                **_training_lineage(evaluation.model_version, context),
                "evaluated_on": RecordSetSerializer(evaluation.record_set, context=context).data,
                "evaluated_on_ancestors": DerivationSerializer(
                    selectors.version_ancestors(evaluation.record_set.version), many=True, context=context
                ).data,
            }
        )

    @extend_schema(
        summary="The evaluation's contamination report, with each contaminated test record's best hit",
        description="Against the model version's whole training ancestry (its own training sets and its "
        "bases'), with metrics recomputed on the clean subset when per-record scores were given. 404 with "
        "code not_ready while the report is being computed.",
        tags=["evaluations", "overlap"],
        filters=False,
        responses=components.ContaminationReportSerializer,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def contamination(self, request, uuid=None):
        evaluation = self.get_object()
        report = overlap_selectors.contamination_report_for_evaluation(evaluation, hits=True)
        if report is None:
            raise exceptions.NotFound(
                f"The contamination report of evaluation {evaluation.uuid} is not ready: it is computed in the "
                "background after the evaluation is recorded (see GET /api/v1/jobs/).",
                code="not_ready",
            )
        return Response(report)

    @extend_schema(
        summary="Cite an evaluation (BibTeX, CITATION.cff, CSL-JSON, DataCite JSON)",
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
    def cite(self, request, uuid=None):
        evaluation = self.get_object()
        return Response(citations.evaluation_citation(evaluation, request.accepted_renderer.format, request))

    def citation(self, fmt: str, request):
        return citations.evaluation_citation(self.get_object(), fmt, request)

    cite_bibtex = cite_format_action("bibtex", "an evaluation")
    cite_cff = cite_format_action("cff", "an evaluation")
    cite_csl = cite_format_action("csl", "an evaluation")
    cite_datacite = cite_format_action("datacite", "an evaluation")


@extend_schema_view(
    list=extend_schema(
        summary="Your jobs, newest first",
        tags=["jobs"],
        description="Authenticated users see the jobs they started (staff see all); anonymous "
        "clients see none. Anyone holding a job's UUID may read it.",
    ),
    retrieve=extend_schema(summary="A job: state, progress, result or error", tags=["jobs"]),
)
class JobViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    lookup_field = "uuid"
    lookup_value_regex = r"[^/]+"  # anything the URL can hold, so that a bad UUID is a JSON 404
    immutable_message = "Jobs cannot be changed or cancelled through the API."

    def get_queryset(self):
        jobs = Job.objects.select_related("created_by")
        if self.action != "list":
            return jobs
        user = self.request.user
        if not user.is_authenticated:
            return jobs.none()
        return jobs if user.is_staff else jobs.filter(created_by=user)

    def get_object(self):
        found = self.get_queryset().filter(uuid=parse_uuid(self.kwargs["uuid"], "job")).first()
        if found is None:
            raise exceptions.NotFound(f"No job {self.kwargs['uuid']}.")
        return found


__all__ = ["EvaluationViewSet", "JobViewSet", "MLModelViewSet", "ModelVersionViewSet"]
