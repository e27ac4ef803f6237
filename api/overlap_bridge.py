"""Where the API meets the overlap service (``registry.overlap``): contamination summaries."""

from registry.overlap import selectors as overlap_selectors


def contamination_summary(evaluation, context) -> dict | None:
    """The evaluation's contamination summary, or ``None`` while pending.

    Without per-record hits and without the method's full description (its calibration table is
    large): both are in ``GET /api/v1/evaluations/{uuid}/contamination/``. A page of evaluations
    reads all of theirs at once (``contamination_summaries``).
    """
    return contamination_summaries([evaluation]).get(evaluation.pk)


def contamination_summaries(evaluations) -> dict:
    """``contamination_summary`` of each of ``evaluations``, by primary key, in two queries for all."""
    return overlap_selectors.contamination_summaries([e.pk for e in evaluations])
