"""Where the API meets the overlap service (``registry.overlap``): contamination summaries."""

from registry.overlap import selectors as overlap_selectors


def contamination_summary(evaluation, context) -> dict | None:
    """The evaluation's contamination summary, or ``None`` while pending.

    Without per-record hits and without the method's full description (its calibration table is
    large): both are in ``GET /api/v1/evaluations/{uuid}/contamination/``.

    Uses the prefetched ``contamination_reports`` (with their ``overlap_reports``) when the view
    prefetched them, so a list of evaluations costs no query per row.
    """
    cache = getattr(evaluation, "_prefetched_objects_cache", {})
    if "contamination_reports" in cache:
        reports = sorted(cache["contamination_reports"], key=lambda r: (r.created_at, r.pk), reverse=True)
        if not reports:
            return None
        report = reports[0]
        return {
            "uuid": str(report.uuid),
            "training_ancestry": report.summary.get("training_ancestry", []),
            "summary": report.summary,
            "method_key": report.method_key,
            "overlap_reports": sorted(str(r.uuid) for r in report.overlap_reports.all()),
            "created_at": report.created_at.isoformat(),
        }
    full = overlap_selectors.contamination_report_for_evaluation(evaluation, hits=False)
    if full is None:
        return None
    return {
        k: full[k]
        for k in ("uuid", "training_ancestry", "summary", "method", "overlap_reports", "created_at")
    }
