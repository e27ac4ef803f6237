"""What every API view shares: the schema class, pagination, errors as JSON, lookups by public keys."""

import uuid as uuid_module

from django.db.models import Q
from rest_framework import exceptions
from rest_framework.filters import SearchFilter
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from registry.db.statements import Statement
from registry.errors import RegistryError
from registry.models import DatasetVersion, Evaluation, Job, ModelVersion
from registry.refs import parse_ref

from ..filters import StrictFilterBackend
from ..pagination import StableCursorPagination
from ..parsers import SafeJSONParser
from ..schema import LeakLedgerSchema
from ..serializers import JobSerializer


class StrictFormatNegotiation(DefaultContentNegotiation):
    """An unknown ``?format=`` is a 400 that lists the formats, not DRF's bare 404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        requested = request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if requested is not None and not format_suffix:
            formats = [r.format for r in renderers]
            if requested not in formats:
                raise exceptions.ValidationError(
                    {"format": [f"{requested!r} is not one of: {', '.join(formats)}."]}, code="invalid_format"
                )
            # An explicit ?format= is what the client asked for, whatever its Accept header says
            # (generated clients send the first documented media type of an operation as Accept).
            renderer = next(r for r in renderers if r.format == requested)
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)


class FileNegotiation(StrictFormatNegotiation):
    """A file download answers with its one format whatever the Accept header (``*/*``, JSON, none)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) is not None:
            return super().select_renderer(request, renderers, format_suffix)
        return renderers[0], renderers[0].media_type


class ApiViewMixin:
    """Mixed into every view: documented errors, cursor pagination, filters, JSON errors."""

    schema = LeakLedgerSchema()
    pagination_class = StableCursorPagination
    filter_backends = [StrictFilterBackend, SearchFilter]
    content_negotiation_class = StrictFormatNegotiation
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]
    # Shown when PUT, PATCH or DELETE is attempted on a published (immutable) object.
    immutable_message: str | None = None

    def initial(self, request, *args, **kwargs):
        # A method the view does not serve is a 405 before anything about the request is judged
        # (DRF would negotiate ?format= first, answering TRACE ...?format=x with a 400).
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            self.http_method_not_allowed(request, *args, **kwargs)
        nul_refused(request)
        super().initial(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        if self.immutable_message and request.method in ("PUT", "PATCH", "DELETE"):
            raise exceptions.MethodNotAllowed(request.method, detail=self.immutable_message)
        return super().http_method_not_allowed(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are always JSON ({"detail","code","fields"}), whatever format the success would have.
        if response.status_code >= 400 and isinstance(response, Response):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def nul_refused(request) -> None:
    """A NUL character in the path or the query string is a 400 on every database.

    PostgreSQL cannot hold NUL in text (a lookup would fail with DataError); SQLite would look for it.
    """
    where = None
    if "\x00" in request._request.path:
        where = "the URL path"
    else:
        for key, values in request.query_params.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                where = f"query parameter {key!r}"
                break
    if where is not None:
        raise exceptions.ValidationError(
            {
                "non_field_errors": [
                    f"{where} holds a NUL character (%00), which no name or value here contains."
                ]
            },
            code="nul_character",
        )


def one_or_none(queryset):
    """The one object of a lookup by a unique key, or ``None``.

    ``get()``, not ``first()``: ``first()`` orders by the model's ordering (for versions a join on the
    dataset) to pick one of rows that a unique key makes at most one; that ORDER BY was a good part of
    the cost of compiling and running every detail lookup (benchmarks/README.md, API load).
    """
    try:
        return queryset.get()
    except queryset.model.DoesNotExist:
        return None


def _ref_key(ref: str, *, what: str) -> uuid_module.UUID | tuple[str, str]:
    """The UUID, or the (name, version), that ``ref`` names; 404 for a reference that is neither."""
    try:
        return uuid_module.UUID(ref)
    except ValueError:
        try:
            parsed = parse_ref(ref, allow_part=False)
        except RegistryError:
            raise exceptions.NotFound(
                f"{ref!r} is not a {what} reference: use name@version or a UUID."
            ) from None
        return parsed.name, parsed.version


def _ref_q(ref: str, *, name_field: str, what: str) -> Q:
    """A filter on the object ``ref`` names (``name@version``, ``name_field`` holding the name, or a UUID);
    404 for a reference that is neither."""
    key = _ref_key(ref, what=what)
    if isinstance(key, tuple):
        return Q(**{name_field: key[0], "version": key[1]})
    return Q(uuid=key)


_READABLE_BY_NAME = Statement(
    lambda name, version: DatasetVersion.objects.filter(
        dataset__name=name, version=version, sketch_only=False
    ).values_list("id")
)
_READABLE_BY_UUID = Statement(
    lambda key: DatasetVersion.objects.filter(uuid=key, sketch_only=False).values_list("id")
)


def readable_version_id(ref: str) -> int | None:
    """The id of the version ``ref`` names if its records can be read (it is not sketch-only), else
    ``None``; 404 for a reference that names no version. A kept statement: a records page asks it first."""
    key = _ref_key(ref, what="dataset version")
    if isinstance(key, tuple):
        rows = _READABLE_BY_NAME.run(name=key[0], version=key[1])
    else:
        rows = _READABLE_BY_UUID.run(key=key)
    return rows[0][0] if rows else None


def _lookup_by_ref(ref: str, queryset, *, name_field: str, what: str):
    """An object by ``name@version`` (``name_field`` holds the name) or by UUID; 404 for anything else."""
    found = one_or_none(queryset.filter(_ref_q(ref, name_field=name_field, what=what)))
    if found is None:
        raise exceptions.NotFound(f"No {what} {ref!r}.")
    return found


def lookup_version(ref: str, queryset=None) -> DatasetVersion:
    """A dataset version by ``name@version`` or UUID (from ``queryset``, if given); 404 for anything else."""
    qs = queryset if queryset is not None else DatasetVersion.objects.select_related("dataset", "created_by")
    return _lookup_by_ref(ref, qs, name_field="dataset__name", what="dataset version")


def lookup_model_version(ref: str, queryset=None) -> ModelVersion:
    """A model version by ``name@version`` or UUID (from ``queryset``, if given); 404 for anything else."""
    qs = (
        queryset
        if queryset is not None
        else ModelVersion.objects.select_related("model", "base__model", "created_by")
    )
    return _lookup_by_ref(ref, qs, name_field="model__name", what="model version")


def evaluations_queryset():
    """Evaluations with what their rows show; their contamination summaries are read by
    ``EvaluationSerializer`` for a whole page at once (``api.overlap_bridge.contamination_summaries``)."""
    return Evaluation.objects.select_related(
        "model_version__model", "record_set__version__dataset", "record_set__part__split", "created_by"
    )


def parse_uuid(value: str, what: str) -> uuid_module.UUID:
    try:
        return uuid_module.UUID(str(value))
    except ValueError:
        article = "an" if what[:1] in "aeiou" else "a"
        raise exceptions.NotFound(f"{value!r} is not {article} {what} UUID.") from None


# Which HTTP status a failed job's error code answers with, when the job ran inside the request.
_STATUS_BY_CODE = {
    "not_found": 404,
    "conflict": 409,
    "immutable": 409,
    "permission_denied": 403,
    "internal_error": 500,
}


def job_answer(job: Job, request) -> Response:
    """The answer to a request that started a job.

    With a worker the job is still pending: 202 and its URL. In eager mode (no broker) it has
    already run: 201 for a new version, 200 when identical content was already registered (the
    body's ``result.created`` is false and ``version_url`` names the existing version), or the
    job's error in the one error shape, with the job's URL in ``fields.job``.
    """
    body = JobSerializer(job, context={"request": request}).data
    job_url = body["url"]
    if job.state == Job.State.SUCCEEDED:
        created = bool((job.result or {}).get("created", True))
        location = body.get("version_url") or job_url
        return Response(body, status=201 if created else 200, headers={"Location": location})
    if job.state == Job.State.FAILED:
        error = dict(job.error or {})
        code = error.get("code", "invalid")
        detail = body["error"].get("detail") or body["error"].get("message") or "The job failed."
        # job.error holds the error's fields flattened beside detail/code (and again under "fields").
        fields = {k: v for k, v in body["error"].items() if k not in ("detail", "code", "fields", "message")}
        fields["job"] = job_url
        return Response(
            {"detail": detail, "code": code, "fields": fields}, status=_STATUS_BY_CODE.get(code, 400)
        )
    return Response(body, status=202, headers={"Location": job_url})


class server_paths_hidden:  # noqa: N801 (used as a context manager, reads as a phrase)
    """Re-raise registry errors with server file paths replaced by what the client called the file.

    Services name the file they read in their messages; for a file the API wrote (a temporary copy
    of an upload, a mapping written from JSON) that is a server path the client never saw.
    """

    def __init__(self, replacements: dict):
        self.replacements = {str(k): v for k, v in replacements.items() if k is not None}

    def __enter__(self):
        return self

    def _clean(self, value):
        if isinstance(value, str):
            for path, name in self.replacements.items():
                value = value.replace(path, name)
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(v) for v in value]
        return value

    def __exit__(self, exc_type, exc, tb):
        if isinstance(exc, RegistryError) and self.replacements:
            exc.detail = self._clean(exc.detail)
            exc.fields = self._clean(exc.fields)
        return False


def absolute(request, name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs, request=request)
