"""The rows the read serializers build directly (``BuiltRows.row``) are exactly what DRF's field walk gives.

The declared fields document the OpenAPI schema; ``row`` is what answers. On a registry with versions,
derivations, splits (attested or not), models, evaluations with contamination reports and overlap
reports, every object is rendered both ways, from the querysets the views use (prefetched) and from
plain lookups (relations loaded lazily): the JSON must be the same text, key order included.
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory
from rest_framework import serializers

from api import created
from api import serializers as api_serializers
from api.views.base import evaluations_queryset
from api.views.datasets import splits_queryset, versions_queryset
from api.views.ml import model_versions_queryset
from api.views.overlap import REPORT_RELATED
from registry.models import (
    Dataset,
    DatasetVersion,
    Derivation,
    Evaluation,
    ModelVersion,
    OverlapReport,
    Split,
    SplitPart,
)
from tests.api.test_query_counts import registry_of_size  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def _built_row_classes() -> set[type]:
    found, todo = set(), [api_serializers.BuiltRows]
    while todo:
        for sub in todo.pop().__subclasses__():
            if issubclass(sub, serializers.BaseSerializer):  # not the mixins (BatchedRows)
                found.add(sub)
            todo.append(sub)
    return found


def _objects():
    from django.db.models import Count

    datasets = Dataset.objects.select_related("owner", "group").annotate(version_count=Count("versions"))
    return {
        api_serializers.DatasetSerializer: list(datasets),
        api_serializers.VersionSerializer: [*versions_queryset(), *DatasetVersion.objects.all()],
        api_serializers.DerivationSerializer: list(Derivation.objects.all()),
        api_serializers.SplitSummarySerializer: [*splits_queryset(), *Split.objects.all()],
        api_serializers.SplitSerializer: [*splits_queryset(), *Split.objects.all()],
        api_serializers.SplitPartSummarySerializer: list(SplitPart.objects.all()),
        api_serializers.SplitPartSerializer: list(SplitPart.objects.all()),
        api_serializers.ModelVersionSerializer: [*model_versions_queryset(), *ModelVersion.objects.all()],
        api_serializers.EvaluationSerializer: [*evaluations_queryset(), *Evaluation.objects.all()],
        api_serializers.OverlapReportSerializer: list(
            OverlapReport.objects.select_related(*REPORT_RELATED).defer("method")
        ),
        api_serializers.OverlapReportDetailSerializer: list(OverlapReport.objects.all()),
        created.SplitCreatedSerializer: list(splits_queryset()),
        created.ModelVersionCreatedSerializer: list(model_versions_queryset()),
        created.EvaluationCreatedSerializer: list(evaluations_queryset()),
    }


def test_built_rows_are_drfs_walk(registry_of_size, owner):  # noqa: F811 - the fixture
    first = Dataset.objects.order_by("name").first()
    first.group = Group.objects.create(name="lab")  # a dataset with a group, the others without
    first.save(update_fields=["group"])
    context = {"request": RequestFactory().get("/api/v1/"), "created": False, "notices": []}
    objects = _objects()
    assert set(objects) == _built_row_classes(), "every serializer that builds its rows is compared here"
    for serializer_class, instances in objects.items():
        assert instances, serializer_class
        for obj in instances:
            serializer = serializer_class(obj, context=context)
            built = json.dumps(serializer.data)
            walked = json.dumps(serializers.Serializer.to_representation(serializer, obj))
            assert built == walked, (serializer_class.__name__, obj)


@pytest.mark.parametrize(
    "value",
    [
        "globins@1",
        "a b@1",
        "ünï@2",
        "100%@1",
        "q?x#y",
        "~:@!$&'()*+,;=",
        "12345678-1234-5678-1234-567812345678",
    ],
)
@pytest.mark.parametrize("view_name", ["api:version-detail", "api:version-fasta", "api:dataset-versions"])
def test_links_are_what_reverse_gives(view_name, value):
    from django.urls import reverse

    key = "name" if view_name.startswith("api:dataset") else "ref"
    assert api_serializers._path(view_name, key, value) == reverse(view_name, kwargs={key: value})


@pytest.mark.parametrize("value", ["", "a/b@1"])
def test_links_refuse_what_reverse_refuses(value):
    from django.urls import NoReverseMatch, reverse

    with pytest.raises(NoReverseMatch):
        reverse("api:version-detail", kwargs={"ref": value})
    with pytest.raises(NoReverseMatch):
        api_serializers._path("api:version-detail", "ref", value)


def test_links_follow_the_script_prefix():
    from django.urls import reverse, set_script_prefix

    try:
        set_script_prefix("/registry/")
        assert api_serializers._path("api:version-detail", "ref", "x@1") == reverse(
            "api:version-detail", kwargs={"ref": "x@1"}
        )
        assert api_serializers._path("api:version-detail", "ref", "x@1").startswith("/registry/api/v1/")
    finally:
        set_script_prefix("/")
