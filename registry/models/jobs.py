"""Background work (ingest, sketch, index, overlap) with state, progress and errors."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Job(models.Model):
    class Kind(models.TextChoices):
        INGEST = "ingest", "ingest"
        SKETCH = "sketch", "sketch and index"
        OVERLAP = "overlap", "overlap report"
        QUERY = "query", "ad-hoc overlap query"
        SPLIT_VERIFY = "split_verify", "split verification"
        SPLIT_MAKE = "split_make", "split generation"

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # What the job works on, as plain data (ids, paths, options): tasks take ids, load, call a service.
    payload = models.JSONField(default=dict, blank=True)
    # {"stage": str, "done": int, "total": int | None, ...}: records parsed, sketched, indexed.
    progress = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="{file, line, record, reason, hint, message}")
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # registry_generation() reads MAX(finished_at) on every cached page and badge: without an
        # index that is a scan of every job ever run.
        indexes = [models.Index(fields=["finished_at"], name="registry_job_finished_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "running", "succeeded", "failed"]),
                name="job_state_valid",
                violation_error_message="state must be pending, running, succeeded or failed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.uuid} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED}
