"""HTML fragments built in Python where a template loop costs too much: the overlap matrix's cells.

A 20 x 20 matrix is 400 cells of several values each; through the template engine that was 300 ms
of rendering per page (benchmarks/README.md, Pages), in plain string building about 2 ms. Every
value is escaped here exactly as the template engine would.
"""

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from registry.overview import Cell

from . import svg


def _pct(fraction: float | None) -> str:
    return "—" if fraction is None else f"{100 * fraction:.1f}%"


def _recall(value) -> str:
    return "not measured" if value is None else f"{float(value):.3f}"


def cell_style(cell: Cell | None) -> str:
    """The cell's background on the viridis scale (square root of the fraction); none for 0 or no report."""
    if cell is None or cell.state != "report" or cell.fraction is None or not cell.records:
        return ""
    background = svg.viridis(svg.fraction_scale(cell.fraction))
    return f"background:{background};color:{svg.text_colour(background)}"


def matrix_row(row_ref: str, cells: list[tuple[Cell | None, str]], label: str) -> SafeString:
    """The ``<td>`` cells of one benchmark row; ``cells`` pairs each cell with its column's reference."""
    report_url = reverse("web:overlap-report", kwargs={"uuid": "00000000-0000-0000-0000-000000000000"})
    out = []
    for cell, col_ref in cells:
        if cell is None:
            out.append('<td class="na" title="different kinds or the same data: not compared">·</td>')
        elif cell.state == "report":
            title = escape(
                f"{row_ref} vs {col_ref}: {cell.records} of {cell.query_records} records at {label}; "
                f"recall {_recall(cell.recall)}"
            )
            url = report_url.replace("00000000-0000-0000-0000-000000000000", escape(cell.report_uuid or ""))
            out.append(
                f'<td class="cell{" zero" if cell.records == 0 else ""}" style="{cell_style(cell)}" '
                f'data-records="{cell.records}" title="{title}"><a href="{url}"><span class="frac">'
                f'{_pct(cell.fraction)}</span><span class="cnt">{cell.records}</span></a></td>'
            )
        elif cell.state == "pending":
            out.append(
                '<td class="cell pending" title="the check of this pair is queued or running">'
                '<span class="state pending">PENDING</span></td>'
            )
        elif cell.state == "failed":
            out.append(
                '<td class="cell failed" title="the check of this pair failed: see GET /api/v1/jobs/">'
                '<span class="state failed">FAILED</span></td>'
            )
        else:
            out.append(
                '<td class="cell unchecked" title="no report and no job for this pair: register again or run '
                'the standing checks"><span class="state unchecked">not checked</span></td>'
            )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped or generated here
