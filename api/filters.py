"""django-filter filtersets: every filter takes public keys (names, ``name@version`` references)."""

import uuid as uuid_module

import django_filters as filters
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

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
    OverlapReport,
    Record,
    Split,
    SplitPart,
    VersionRole,
)
from registry.refs import parse_ref

NO_MATCH = Q(pk__in=[])


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, except that an empty value for a choice or date filter is an error, not "no filter".

    The schema documents those parameters as enums and date-times, which the empty string is not;
    answering 400 keeps the API and its schema in agreement.
    """

    strict_types = (filters.ChoiceFilter, filters.IsoDateTimeFilter, filters.NumberFilter)

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            empty = {
                name: ["May not be empty: leave the parameter out to not filter."]
                for name, field in filterset_class.base_filters.items()
                if isinstance(field, self.strict_types) and request.query_params.get(name, None) == ""
            }
            if empty:
                raise ValidationError(empty)
            if not any(
                param.startswith(tuple(filterset_class.base_filters)) for param in request.query_params
            ):
                # No parameter of this filterset (a plain list, a records page with only cursor, page_size
                # or search): every filter would let the queryset through, so skip building and validating
                # the filterset's form, a good part of a plain list's time (benchmarks/README.md, API load).
                # A prefix, so that a filter whose widget takes suffixed parameters (name_min) still runs.
                return queryset
        return super().filter_queryset(request, queryset, view)


def _version_q(ref: str, prefix: str) -> Q:
    """Rows whose ``prefix`` version is ``ref`` (name@version or a UUID); no rows when malformed."""
    try:
        return Q(**{f"{prefix}uuid": uuid_module.UUID(ref)})
    except ValueError:
        pass
    try:
        parsed = parse_ref(ref, allow_part=False)
    except RegistryError:
        return NO_MATCH
    return Q(**{f"{prefix}dataset__name": parsed.name, f"{prefix}version": parsed.version})


def _record_set_q(ref: str, prefix: str) -> Q:
    """Rows whose ``prefix`` record set is ``ref`` (``name@version`` or ``name@version/split:part``)."""
    try:
        parsed = parse_ref(ref)
    except RegistryError:
        return NO_MATCH
    q = Q(**{f"{prefix}version__dataset__name": parsed.name, f"{prefix}version__version": parsed.version})
    if parsed.split is None:
        return q & Q(**{f"{prefix}part__isnull": True})
    return q & Q(**{f"{prefix}part__split__name": parsed.split, f"{prefix}part__name": parsed.part})


class DatasetFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains", help_text="Part of the name, any case.")
    kind = filters.ChoiceFilter(choices=Kind.choices)
    owner = filters.CharFilter(field_name="owner__username", help_text="Owner's username.")

    class Meta:
        model = Dataset
        fields = ["name", "kind", "owner"]


class VersionFilter(filters.FilterSet):
    dataset = filters.CharFilter(field_name="dataset__name", help_text="Dataset name (exact).")
    kind = filters.ChoiceFilter(field_name="dataset__kind", choices=Kind.choices)
    role = filters.ChoiceFilter(choices=VersionRole.choices)
    digest = filters.CharFilter(help_text="Content digest (sha256): find a version by its content.")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    derived_from = filters.CharFilter(
        method="filter_derived_from", help_text="Versions derived from name@version."
    )

    class Meta:
        model = DatasetVersion
        fields = ["dataset", "kind", "role", "digest"]

    def filter_derived_from(self, queryset, name, value):
        return queryset.filter(_version_q(value, "derived_from__source__")).distinct()


class RecordFilter(filters.FilterSet):
    identifier = filters.CharFilter(help_text="Exact record identifier.")
    sha256 = filters.CharFilter(field_name="sequence__sha256", help_text="sha256 of the normalised sequence.")

    class Meta:
        model = Record
        fields = ["identifier", "sha256"]


class SplitFilter(filters.FilterSet):
    version = filters.CharFilter(method="filter_version", help_text="name@version or version UUID.")
    dataset = filters.CharFilter(field_name="version__dataset__name")
    name = filters.CharFilter()

    class Meta:
        model = Split
        fields = ["version", "dataset", "name"]

    def filter_version(self, queryset, name, value):
        return queryset.filter(_version_q(value, "version__"))


class SplitPartFilter(filters.FilterSet):
    version = filters.CharFilter(method="filter_version", help_text="name@version or version UUID.")
    split = filters.CharFilter(field_name="split__name")
    role = filters.ChoiceFilter(choices=SplitPart.Role.choices)

    class Meta:
        model = SplitPart
        fields = ["version", "split", "role"]

    def filter_version(self, queryset, name, value):
        return queryset.filter(_version_q(value, "split__version__"))


class DerivationFilter(filters.FilterSet):
    source = filters.CharFilter(method="filter_source", help_text="name@version the edge starts from.")
    target = filters.CharFilter(method="filter_target", help_text="name@version the edge leads to.")
    dataset = filters.CharFilter(method="filter_dataset", help_text="Either end belongs to this dataset.")

    class Meta:
        model = Derivation
        fields = ["source", "target", "dataset"]

    def filter_source(self, queryset, name, value):
        return queryset.filter(_version_q(value, "source__"))

    def filter_target(self, queryset, name, value):
        return queryset.filter(_version_q(value, "target__"))

    def filter_dataset(self, queryset, name, value):
        return queryset.filter(Q(source__dataset__name=value) | Q(target__dataset__name=value))


class MLModelFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    owner = filters.CharFilter(field_name="owner__username")

    class Meta:
        model = MLModel
        fields = ["name", "owner"]


class ModelVersionFilter(filters.FilterSet):
    model = filters.CharFilter(field_name="model__name", help_text="Model name (exact).")
    base = filters.CharFilter(method="filter_base", help_text="Fine-tuned from this name@version.")
    trained_on = filters.CharFilter(
        method="filter_trained_on",
        help_text="Trained (directly) on this record set: name@version[/split:part].",
    )

    class Meta:
        model = ModelVersion
        fields = ["model", "base", "trained_on"]

    def filter_base(self, queryset, name, value):
        try:
            parsed = parse_ref(value, allow_part=False)
        except RegistryError:
            return queryset.none()
        return queryset.filter(base__model__name=parsed.name, base__version=parsed.version)

    def filter_trained_on(self, queryset, name, value):
        return queryset.filter(_record_set_q(value, "trained_on__")).distinct()


class EvaluationFilter(filters.FilterSet):
    model = filters.CharFilter(field_name="model_version__model__name", help_text="Model name.")
    model_version = filters.CharFilter(method="filter_model_version", help_text="Model version name@version.")
    on = filters.CharFilter(method="filter_on", help_text="Evaluated on this record set.")
    dataset = filters.CharFilter(
        field_name="record_set__version__dataset__name", help_text="Evaluated dataset."
    )

    class Meta:
        model = Evaluation
        fields = ["model", "model_version", "on", "dataset"]

    def filter_model_version(self, queryset, name, value):
        try:
            parsed = parse_ref(value, allow_part=False)
        except RegistryError:
            return queryset.none()
        return queryset.filter(model_version__model__name=parsed.name, model_version__version=parsed.version)

    def filter_on(self, queryset, name, value):
        return queryset.filter(_record_set_q(value, "record_set__"))


class JobFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Job.Kind.choices)
    state = filters.ChoiceFilter(choices=Job.State.choices)

    class Meta:
        model = Job
        fields = ["kind", "state"]


class OverlapReportFilter(filters.FilterSet):
    query_set = filters.CharFilter(method="filter_query_set", help_text="Query (test) record set reference.")
    reference_set = filters.CharFilter(
        method="filter_reference_set", help_text="Reference (training) record set reference."
    )
    dataset = filters.CharFilter(method="filter_dataset", help_text="Either side belongs to this dataset.")
    method_key = filters.CharFilter()

    class Meta:
        model = OverlapReport
        fields = ["query_set", "reference_set", "dataset", "method_key"]

    def filter_query_set(self, queryset, name, value):
        return queryset.filter(_record_set_q(value, "query_set__"))

    def filter_reference_set(self, queryset, name, value):
        return queryset.filter(_record_set_q(value, "reference_set__"))

    def filter_dataset(self, queryset, name, value):
        return queryset.filter(
            Q(query_set__version__dataset__name=value) | Q(reference_set__version__dataset__name=value)
        )
