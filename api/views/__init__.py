"""API v1 views: thin viewsets over the registry's services and selectors."""

from .datasets import (
    CsvDownloadView,
    DatasetViewSet,
    DerivationViewSet,
    FastaDownloadView,
    SplitPartViewSet,
    SplitViewSet,
    VersionViewSet,
)
from .docs import SwaggerView, swagger_asset
from .ml import EvaluationViewSet, JobViewSet, MLModelViewSet, ModelVersionViewSet
from .overlap import OverlapQueryRecordSetView, OverlapQueryView, OverlapReportViewSet, OverlapScreenView
from .root import ApiRootView
from .splits import AttestationDetailView, SplitAttestationListView, SplitMakeView, SplitVerifyView

__all__ = [
    "ApiRootView",
    "AttestationDetailView",
    "SplitAttestationListView",
    "SplitMakeView",
    "SplitVerifyView",
    "CsvDownloadView",
    "FastaDownloadView",
    "DatasetViewSet",
    "DerivationViewSet",
    "EvaluationViewSet",
    "JobViewSet",
    "MLModelViewSet",
    "ModelVersionViewSet",
    "OverlapQueryRecordSetView",
    "OverlapQueryView",
    "OverlapReportViewSet",
    "OverlapScreenView",
    "SplitPartViewSet",
    "SplitViewSet",
    "SwaggerView",
    "VersionViewSet",
    "swagger_asset",
]
