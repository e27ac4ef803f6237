"""Pages for people, over the registry's selectors: each view looks an object up, asks a selector for
the numbers, and renders a template. No detection runs in a request; every number is a stored
report's own. Citations come from registry.citations, as the API's do (one implementation, two front ends)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

from registry import citations, overview
from registry.errors import RegistryError
from registry.models import Dataset, RecordSet
from registry.overlap import selectors as overlap_selectors
from registry.selectors import (
    evaluation_get,
    model_version_chain,
    model_version_get,
    record_set_get,
    training_ancestry,
    version_get,
)

from . import fragments, svg

CITATION_FORMATS = [
    ("bibtex", "BibTeX"),
    ("cff", "CITATION.cff"),
    ("csl", "CSL-JSON"),
    ("datacite", "DataCite"),
]
BADGE_SECONDS = 60  # browsers and README proxies may keep a badge this long; the server recomputes on change


def registry_page(view):
    """Serve the page from the cache while nothing it could show has changed (``registry_generation``).

    The key holds the absolute URL (citations name the host) and the registry's state, so a page
    is recomputed as soon as a version, report, evaluation or job changes; entries expire after
    ``LEAKLEDGER_PAGE_CACHE_SECONDS`` (0: every request renders).
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        seconds = settings.LEAKLEDGER.get("PAGE_CACHE_SECONDS", 0)
        if not seconds or request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        state = "-".join(str(g) for g in overview.registry_generation())
        key = (
            "leakledger:page:"
            + hashlib.sha256(f"{request.build_absolute_uri()}|{state}".encode()).hexdigest()
        )
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            return HttpResponse(content, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            cache.set(key, (response.content, response["Content-Type"]), seconds)
        return response

    return wrapped


def _found(lookup, *args):
    """Call a registry lookup; its NotFound or a malformed reference is the page's 404."""
    try:
        return lookup(*args)
    except RegistryError as exc:
        raise Http404(exc.detail) from None


def _threshold(request, available: list[float]) -> tuple[float, str]:
    """The ``?threshold=`` asked for (``exact``, ``0.9`` or ``90``) if the reports have it, else 0.9."""
    raw = request.GET.get("threshold", "").strip()
    if not raw:
        return overview.DEFAULT_THRESHOLD, ""
    try:
        value = 1.0 if raw == "exact" else float(raw.rstrip("%"))
    except ValueError:
        return overview.DEFAULT_THRESHOLD, f"{raw!r} is not a threshold; showing >=90%."
    if value > 1:
        value /= 100
    for t in available:
        if abs(t - value) < 1e-9:
            return t, ""
    shown = ", ".join(overview.threshold_label(t) for t in available)
    return overview.DEFAULT_THRESHOLD, f"No report has a {raw} row (they have {shown}); showing >=90%."


def _thresholds(available: list[float]) -> list[dict]:
    return [
        {"value": "exact" if t >= 1 else f"{t:g}", "label": overview.threshold_label(t), "t": t}
        for t in available
    ]


def _record_set_url(record_set: RecordSet) -> str:
    return reverse("web:version", kwargs={"ref": record_set.version.ref})


# -- home ----------------------------------------------------------------------------------------


@require_safe
@registry_page
def home(request):
    query = request.GET.get("q", "")
    matrix = overview.overlap_matrix(overview.DEFAULT_THRESHOLD)
    return render(
        request,
        "web/home.html",
        {
            "query": query,
            "results": overview.search(query) if query.strip() else None,
            "counts": overview.registry_counts(),
            "recent_versions": overview.recent_versions(),
            "recent_evaluations": overview.recent_evaluations(),
            "headline": {
                "benchmarks": len(matrix.rows),
                "training_sets": len(matrix.columns),
                "pairs": matrix.leaking_pairs(),
                "pending": matrix.pending_pairs(),
                "label": overview.threshold_label(matrix.threshold),
            },
            "api_url": reverse("api:root"),
        },
    )


@require_safe
def favicon(request):
    return redirect(static("web/favicon.svg"), permanent=True)


# -- datasets and versions -----------------------------------------------------------------------


@require_safe
def dataset(request, name: str):
    found = Dataset.objects.filter(name=name).first()
    if found is None:
        raise Http404(f"No dataset {name!r}.")
    latest = found.versions.order_by("-created_at", "-id").first()
    if latest is None:
        raise Http404(f"Dataset {name!r} has no version yet.")
    return redirect("web:version", ref=latest.ref)


def _citations(render_one) -> list[dict]:
    out = []
    for fmt, label in CITATION_FORMATS:
        text = render_one(fmt)
        out.append(
            {
                "format": fmt,
                "label": label,
                "text": text if isinstance(text, str) else json.dumps(text, indent=2),
            }
        )
    return out


@require_safe
@registry_page
def version(request, ref: str):
    version = _found(version_get, ref)
    card = overview.version_card(version)
    standing = [overview.standing_overlap(rs) for rs in card["record_sets"]]
    badge_url = request.build_absolute_uri(reverse("web:badge-version", kwargs={"ref": version.ref}))
    page_url = request.build_absolute_uri(request.path)
    return render(
        request,
        "web/version.html",
        {
            "version": version,
            "card": card,
            "standing": standing,
            "citations": _citations(lambda fmt: citations.version_citation(version, fmt, request)),
            "api_url": reverse("api:version-detail", kwargs={"ref": version.ref}),
            "downloads": {
                "fasta": reverse("api:version-fasta", kwargs={"ref": version.ref}),
                "csv": reverse("api:version-csv", kwargs={"ref": version.ref}),
                "croissant": reverse("api:version-croissant", kwargs={"ref": version.ref}),
            },
            "badge_url": badge_url,
            "badge_markdown": f"[![overlap]({badge_url})]({page_url})",
        },
    )


# -- the overlap matrix and pair reports ---------------------------------------------------------


@require_safe
@registry_page
def overlap_matrix(request):
    probe = overview.overlap_matrix(overview.DEFAULT_THRESHOLD)
    threshold, notice = _threshold(request, probe.thresholds)
    matrix = probe if threshold == probe.threshold else overview.overlap_matrix(threshold)
    label = overview.threshold_label(threshold)
    refs = [c.ref for c in matrix.columns]
    grid = [
        (row, fragments.matrix_row(row.ref, list(zip(cells, refs, strict=True)), label), _record_set_url(row))
        for row, cells in matrix.grid()
    ]
    measured = [r for r in matrix.recalls if r is not None]
    legend = [
        {"fraction": f, "style": f"background:{svg.viridis(svg.fraction_scale(f))}"}
        for f in (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0)
    ]
    return render(
        request,
        "web/overlap.html",
        {
            "matrix": matrix,
            "grid": grid,
            "columns": [(c, _record_set_url(c)) for c in matrix.columns],
            "thresholds": _thresholds(matrix.thresholds),
            "threshold": threshold,
            "threshold_label": label,
            "notice": notice,
            "min_recall": min(measured) if measured else None,
            "recall_missing": len(matrix.recalls) - len(measured),
            "low_threshold": threshold < 0.9,
            "legend": legend,
            "api_url": reverse("api:overlap-report-list"),
        },
    )


@require_safe
@registry_page
def overlap_report(request, uuid: str):
    report = _found(overlap_selectors.overlap_report_get, uuid)
    data = overlap_selectors.report_to_dict(report, hits=True, limit=100)
    return render(
        request,
        "web/overlap_report.html",
        {
            "report": report,
            "data": data,
            "thresholds": data["summary"].get("thresholds", []),
            "tiers": sorted(
                {t for row in data["summary"].get("thresholds", []) for t in row.get("by_tier", {})}
            ),
            "hits_total": report.hits.count(),
            "api_url": reverse("api:overlap-report-detail", kwargs={"uuid": report.uuid}),
            "leaderboard_url": reverse("web:leaderboard", kwargs={"ref": report.query_set.ref}),
        },
    )


@require_safe
def overlap_pairs_tsv(request, uuid: str):
    report = _found(overlap_selectors.overlap_report_get, uuid)
    header = [
        "query",
        "reference_set",
        "reference",
        "identity",
        "query_coverage",
        "reference_coverage",
        "jaccard",
        "tier",
    ]
    reference_set = report.reference_set.ref

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        for n, (q, r, ident, qcov, rcov, jac, tier) in enumerate(overview.report_pairs(report).iterator(), 1):
            writer.writerow(
                [
                    q,
                    reference_set,
                    r,
                    f"{ident:.4f}",
                    "" if qcov is None else f"{qcov:.4f}",  # None: estimated hit, not aligned
                    "" if rcov is None else f"{rcov:.4f}",
                    "" if jac is None else f"{jac:.4f}",
                    tier,
                ]
            )
            if n % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(rows(), content_type="text/tab-separated-values; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="overlap-{report.uuid}.tsv"'
    return response


# -- models and evaluations ----------------------------------------------------------------------


@require_safe
@registry_page
def model_version(request, ref: str):
    model_version = _found(model_version_get, ref)
    graph = overview.lineage_graph(model_version)
    links = {}
    for node in graph["nodes"]:
        if node["type"] == "model":
            links[node["id"]] = reverse("web:model-version", kwargs={"ref": node["ref"]})
        elif node["type"] == "record_set":
            links[node["id"]] = reverse("web:version", kwargs={"ref": node["ref"]})
        else:
            links[node["id"]] = reverse("web:evaluation", kwargs={"uuid": node["ref"]})
    evaluations = list(
        model_version.evaluations.select_related(
            "record_set__version__dataset", "record_set__part__split"
        ).order_by("-created_at", "-id")
    )
    contamination = overview.evaluation_contamination_map(evaluations)
    chain = model_version_chain(model_version)
    return render(
        request,
        "web/model_version.html",
        {
            "model_version": model_version,
            "lineage_svg": svg.lineage_svg(graph, links),
            "bases": chain[1:],
            "descendants": overview.model_descendants(model_version),
            "trained_on": list(
                model_version.trained_on.select_related("version__dataset", "part__split").order_by("id")
            ),
            "ancestry": training_ancestry(model_version),
            "evaluations": [(e, contamination.get(e.pk)) for e in evaluations],
            "threshold_label": overview.threshold_label(overview.DEFAULT_THRESHOLD),
            "api_url": reverse("api:model-version-detail", kwargs={"ref": model_version.ref}),
        },
    )


def _clean_table(summary: dict) -> list[dict]:
    """Per metric: the mean over all scored records and over the clean subset at each threshold."""
    full = summary.get("full_metrics", {})
    rows = summary.get("thresholds", [])
    table = []
    for metric in sorted(full):
        values = [(r["label"], (r.get("clean_metrics", {}).get(metric) or {}).get("mean")) for r in rows]
        counts = [(r.get("clean_metrics", {}).get(metric) or {}).get("records") for r in rows]
        table.append(
            {
                "metric": metric,
                "full": full[metric].get("mean"),
                "full_records": full[metric].get("records"),
                "cells": list(zip(values, counts, strict=True)),
                "plot": svg.metric_plot(values, full[metric].get("mean"), metric=metric),
            }
        )
    return table


@require_safe
@registry_page
def evaluation(request, uuid: str):
    evaluation = _found(evaluation_get, uuid)
    report = overlap_selectors.contamination_report_for_evaluation(evaluation, hits=True)
    stored = overview.evaluation_contamination_map([evaluation]).get(evaluation.pk)
    badge_url = request.build_absolute_uri(reverse("web:badge-evaluation", kwargs={"uuid": evaluation.uuid}))
    return render(
        request,
        "web/evaluation.html",
        {
            "evaluation": evaluation,
            "report": report,
            "thresholds": (report or {}).get("summary", {}).get("thresholds", []),
            "breakdown": overview.contamination_breakdown(stored["report"]) if stored else [],
            "clean_table": _clean_table(report["summary"]) if report else [],
            "contaminated": (report or {}).get("contaminated", [])[:100],
            "contaminated_total": len((report or {}).get("contaminated", [])),
            "citations": _citations(lambda fmt: citations.evaluation_citation(evaluation, fmt, request)),
            "api_url": reverse("api:evaluation-detail", kwargs={"uuid": evaluation.uuid}),
            "contamination_api_url": reverse(
                "api:evaluation-contamination", kwargs={"uuid": evaluation.uuid}
            ),
            "leaderboard_url": reverse("web:leaderboard", kwargs={"ref": evaluation.record_set.ref}),
            "badge_url": badge_url,
            "badge_markdown": f"[![contamination]({badge_url})]({request.build_absolute_uri(request.path)})",
        },
    )


# -- leaderboards --------------------------------------------------------------------------------


@require_safe
@registry_page
def leaderboards(request):
    sets = overlap_selectors.test_sets().annotate(n_evaluations=Count("evaluations", distinct=True))
    return render(
        request,
        "web/leaderboards.html",
        {"sets": list(sets), "api_url": reverse("api:evaluation-list")},
    )


@require_safe
@registry_page
def leaderboard(request, ref: str):
    record_set = _found(record_set_get, ref)
    probe = overview.leaderboard(record_set)
    threshold, notice = _threshold(request, probe["thresholds"])
    board = probe if threshold == overview.DEFAULT_THRESHOLD else overview.leaderboard(record_set, threshold)
    return render(
        request,
        "web/leaderboard.html",
        {
            "record_set": record_set,
            "board": board,
            "rows": [
                {
                    **row,
                    "metric_cells": [(row["metrics"].get(m), row["clean"].get(m)) for m in board["metrics"]],
                }
                for row in board["rows"]
            ],
            "thresholds": _thresholds(board["thresholds"]),
            "threshold": threshold,
            "threshold_label": overview.threshold_label(threshold),
            "notice": notice,
            "api_url": reverse("api:evaluation-list") + "?" + urlencode({"on": record_set.ref}, safe="@/:"),
        },
    )


# -- badges --------------------------------------------------------------------------------------


def _badge_response(key: str, build) -> HttpResponse:
    """A badge from the cache while nothing was registered since it was drawn, else drawn again."""
    state = "-".join(str(g) for g in overview.registry_generation())
    key = "leakledger:badge:" + hashlib.sha256(f"{key}|{state}".encode()).hexdigest()
    body = cache.get(key)
    if body is None:
        body = build()
        cache.set(key, body, 3600)
    response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={BADGE_SECONDS}"
    return response


@require_safe
def evaluation_badge(request, uuid: str):
    evaluation = _found(evaluation_get, uuid)
    link = request.build_absolute_uri(reverse("web:evaluation", kwargs={"uuid": evaluation.uuid}))

    def build() -> str:
        row = overview.evaluation_contamination_map([evaluation]).get(evaluation.pk)
        label = overview.threshold_label(overview.DEFAULT_THRESHOLD)
        if row is None:
            return svg.badge("contamination", "check pending", svg.level_colour(None), link=link)
        if row.get("fraction") is None:
            return svg.badge("contamination", f"not measured at {label}", svg.level_colour(None), link=link)
        value = f"{100 * row['fraction']:.1f}% at {label}"
        return svg.badge("contamination", value, svg.level_colour(row["fraction"]), link=link)

    return _badge_response(f"evaluation:{evaluation.uuid}", build)


@require_safe
def version_badge(request, ref: str):
    version = _found(version_get, ref)
    link = request.build_absolute_uri(reverse("web:version", kwargs={"ref": version.ref}))
    label = "overlap with registered training data"

    def build() -> str:
        found = overview.version_overlap(version)
        t = overview.threshold_label(found["threshold"])
        if found["fraction"] is None:
            value = "check pending" if found["pending"] else "not a benchmark"
            return svg.badge(label, value, svg.level_colour(None), link=link)
        value = f"{100 * found['fraction']:.1f}%"
        title = (
            f"{label}: {found['records']} of {found['checked_records']} checked records have a hit at {t} "
            f"({found['reports']} reports{', more pending' if found['pending'] else ''})"
        )
        return svg.badge(label, value, svg.level_colour(found["fraction"]), link=link, title=title)

    return _badge_response(f"version:{version.pk}", build)


# -- errors --------------------------------------------------------------------------------------


def page_not_found(request, exception=None):
    """404 as a page (config/urls.py sends those under /api/ to the API's JSON error shape)."""
    detail = str(exception.args[0]) if exception is not None and exception.args else "Not found."
    if not isinstance(exception.args[0] if exception and exception.args else None, str):
        detail = f"Nothing at {request.path}."
    return render(request, "404.html", {"detail": detail}, status=404)
