"""``GET /api/v1/``: where everything is, for people and crawlers starting at the root."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from .base import ApiViewMixin

LISTS = [
    ("datasets", "api:dataset-list"),
    ("versions", "api:version-list"),
    ("splits", "api:split-list"),
    ("parts", "api:part-list"),
    ("derivations", "api:derivation-list"),
    ("models", "api:model-list"),
    ("model_versions", "api:model-version-list"),
    ("evaluations", "api:evaluation-list"),
    ("overlap_reports", "api:overlap-report-list"),
    ("overlap_query", "api:overlap-query"),
    ("jobs", "api:job-list"),
    ("schema", "api:schema"),
    ("docs", "api:docs"),
]


class ApiRootView(ApiViewMixin, APIView):
    pagination_class = None
    filter_backends = []

    @extend_schema(exclude=True)
    def get(self, request):
        return Response({name: reverse(view, request=request) for name, view in LISTS})
