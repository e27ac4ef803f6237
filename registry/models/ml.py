"""Models, model versions with their training data and base, and evaluations."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .datasets import Record, RecordSet
from .names import validate_name, validate_version


class MLModel(models.Model):
    """A named model; what it was trained on belongs to each of its versions."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True, validators=[validate_name])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ml_models"
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "model"

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=64, validators=[validate_version])
    base = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fine_tuned",
        help_text="The model version this one was fine-tuned from.",
    )
    trained_on = models.ManyToManyField(RecordSet, through="ModelTraining", related_name="trained_models")
    code_url = models.URLField(max_length=1000, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model__name", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "version"],
                name="modelversion_unique_version",
                violation_error_message="This model already has a version with that name.",
            ),
            models.CheckConstraint(
                condition=~Q(base=F("id")),
                name="modelversion_base_not_self",
                violation_error_message="A model version cannot be its own base.",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return f"{self.model.name}@{self.version}"


class ModelTraining(models.Model):
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT)
    record_set = models.ForeignKey(RecordSet, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "record_set"],
                name="modeltraining_unique",
                violation_error_message="This training set is already recorded for the model version.",
            ),
        ]


class Evaluation(models.Model):
    """A model version scored on a record set: immutable and citable by its UUID."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="evaluations")
    record_set = models.ForeignKey(RecordSet, on_delete=models.PROTECT, related_name="evaluations")
    metrics = models.JSONField(help_text='{"name": number, ...}')
    code_ref = models.CharField(max_length=1000, blank=True)
    scores_metric_names = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.model_version.ref} on {self.record_set.ref} ({self.uuid})"


class EvaluationScore(models.Model):
    """A per-record score, so that metrics can be recomputed on the uncontaminated subset."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="scores")
    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="+")
    metric = models.CharField(max_length=200)
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "record", "metric"],
                name="evaluationscore_unique",
                violation_error_message="One score per record and metric.",
            ),
        ]
