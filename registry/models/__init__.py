"""Registry models, one module per aggregate (as NetBox splits ``dcim/models``)."""

from .attestations import SplitAttestation, SplitViolation
from .datasets import (
    Dataset,
    DatasetVersion,
    Derivation,
    Kind,
    Record,
    RecordSet,
    Sequence,
    Split,
    SplitMembership,
    SplitPart,
    VersionRole,
)
from .jobs import Job
from .ml import Evaluation, EvaluationScore, MLModel, ModelTraining, ModelVersion
from .overlap import (
    BandKey,
    ContaminationReport,
    OverlapHit,
    OverlapReport,
    RecordSetIndex,
    SequenceSketch,
    SketchSettings,
)

__all__ = [
    "BandKey",
    "ContaminationReport",
    "OverlapHit",
    "OverlapReport",
    "RecordSetIndex",
    "SequenceSketch",
    "SketchSettings",
    "Dataset",
    "DatasetVersion",
    "Derivation",
    "Evaluation",
    "EvaluationScore",
    "Job",
    "Kind",
    "MLModel",
    "ModelTraining",
    "ModelVersion",
    "Record",
    "RecordSet",
    "Sequence",
    "Split",
    "SplitMembership",
    "SplitAttestation",
    "SplitPart",
    "SplitViolation",
    "VersionRole",
]
