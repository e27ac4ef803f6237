"""API v1 routes: objects by name, ``name@version`` or UUID; never by integer key."""

from django.urls import path
from django.views.decorators.cache import cache_page
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("versions", views.VersionViewSet, basename="version")
router.register("splits", views.SplitViewSet, basename="split")
router.register("parts", views.SplitPartViewSet, basename="part")
router.register("derivations", views.DerivationViewSet, basename="derivation")
router.register("models", views.MLModelViewSet, basename="model")
router.register("model-versions", views.ModelVersionViewSet, basename="model-version")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
router.register("jobs", views.JobViewSet, basename="job")
router.register("overlap-reports", views.OverlapReportViewSet, basename="overlap-report")

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="root"),
    # The schema changes only with the code; generating it costs ~60 ms, so serve it from the cache.
    path("schema/", cache_page(600)(SpectacularAPIView.as_view()), name="schema"),
    path("docs/", views.SwaggerView.as_view(), name="docs"),
    path("docs/assets/<str:name>", views.swagger_asset, name="docs-asset"),
    path("overlap/query/", views.OverlapQueryView.as_view(), name="overlap-query"),
    path("overlap/screen/", views.OverlapScreenView.as_view(), name="overlap-screen"),
    path(
        "overlap/query/record-set/",
        views.OverlapQueryRecordSetView.as_view(),
        name="overlap-query-record-set",
    ),
    path("versions/<str:ref>/records.fasta", views.FastaDownloadView.as_view(), name="version-fasta"),
    path("versions/<str:ref>/records.csv", views.CsvDownloadView.as_view(), name="version-csv"),
    # Split attestations (verify, generate, read): api/views/splits.py.
    path("splits/<str:uuid>/verify/", views.SplitVerifyView.as_view(), name="split-verify"),
    path(
        "splits/<str:uuid>/attestations/", views.SplitAttestationListView.as_view(), name="split-attestations"
    ),
    path("attestations/<str:uuid>/", views.AttestationDetailView.as_view(), name="attestation-detail"),
    path("versions/<str:ref>/make-split/", views.SplitMakeView.as_view(), name="version-make-split"),
    *router.urls,
]
