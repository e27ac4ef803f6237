"""All writes: functions named ``<noun>_<verb>(*, ...)`` with keyword-only arguments."""

from .attestations import split_verify, split_verify_enqueue
from .ingest import Registration, dataset_can_write, dataset_version_register
from .ml import evaluation_record, model_version_register, parse_metrics
from .split_generation import split_make, split_make_enqueue
from .splits import split_register

__all__ = [
    "Registration",
    "dataset_can_write",
    "dataset_version_register",
    "evaluation_record",
    "model_version_register",
    "parse_metrics",
    "split_make",
    "split_make_enqueue",
    "split_register",
    "split_verify",
    "split_verify_enqueue",
]
