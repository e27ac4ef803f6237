"""Pictures drawn on the server as SVG: the colour scale, badges, the lineage graph, a metric plot.

No JavaScript library and no CDN: each function returns a complete ``<svg>`` string (escaped) that
a template inlines or a view serves.
"""

from __future__ import annotations

import math
from html import escape

# Viridis (matplotlib's perceptually uniform scale): 10 evenly spaced stops from 0 to 1.
VIRIDIS = [
    (68, 1, 84),
    (72, 40, 120),
    (62, 74, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (110, 206, 88),
    (181, 222, 43),
    (253, 231, 37),
]


def viridis(x: float) -> str:
    """The viridis colour at ``x`` in [0, 1] as ``#rrggbb`` (linear between the stops).

    >>> viridis(0.0), viridis(1.0)
    ('#440154', '#fde725')
    """
    x = min(1.0, max(0.0, x)) * (len(VIRIDIS) - 1)
    i = min(int(x), len(VIRIDIS) - 2)
    f = x - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(VIRIDIS[i], VIRIDIS[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def fraction_scale(fraction: float) -> float:
    """Position of a contamination fraction on the colour scale: square root, so that the 1-10% that
    matter are told apart (a linear scale draws 2% and 8% in nearly the same colour)."""
    return math.sqrt(min(1.0, max(0.0, fraction)))


def text_colour(background: str) -> str:
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


# -- badges --------------------------------------------------------------------------------------

# Verdana 11px advance widths (the font shields.io measures with), by character class.
_NARROW, _WIDE = set("fijlrt.,:;!|'()[] "), set("mwMW%@")


def _text_width(text: str) -> float:
    return sum(3.6 if ch in _NARROW else 9.6 if ch in _WIDE else 7.0 for ch in text)


def level_colour(fraction: float | None) -> str:
    """Badge colour by contamination level: green none, yellow < 1%, orange < 5%, red beyond; grey unknown."""
    if fraction is None:
        return "#9f9f9f"
    if fraction <= 0:
        return "#2e7d32"
    if fraction < 0.01:
        return "#b08800"
    if fraction < 0.05:
        return "#e0731c"
    return "#c62828"


def badge(label: str, value: str, colour: str, *, link: str = "", title: str = "") -> str:
    """A flat shields-style badge: grey label, coloured value, the whole badge a link to ``link``."""
    lw, vw = _text_width(label) + 12, _text_width(value) + 12
    width = lw + vw
    title = escape(title or f"{label}: {value}")
    body = (
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width:.0f}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw:.0f}" height="20" fill="#555"/>'
        f'<rect x="{lw:.0f}" width="{vw:.0f}" height="20" fill="{colour}"/>'
        f'<rect width="{width:.0f}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{lw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(label)}</text>'
        f'<text x="{lw / 2:.1f}" y="14">{escape(label)}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(value)}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="14">{escape(value)}</text></g>'
    )
    if link:
        body = f'<a href="{escape(link)}" target="_top">{body}</a>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width:.0f}" height="20" role="img" aria-label="{title}"><title>{title}</title>{body}</svg>'
    )


# -- the lineage graph: a small layered layout ---------------------------------------------------

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 230, 46, 70, 18, 16
NODE_STYLE = {
    "record_set": ("#e8f1fb", "#2f6db3"),
    "model": ("#f3f0fa", "#5b3fa0"),
    "evaluation": ("#f4f6f4", "#4a6b4a"),
}


def _columns(nodes: list[dict], edges: list[tuple[str, str, str]]) -> dict[str, int]:
    """Longest-path layering: every edge points to a later column (the graph is a DAG by construction)."""
    preds: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for s, t, _ in edges:
        preds[t].append(s)
    column: dict[str, int] = {}

    def depth(node: str, trail: frozenset = frozenset()) -> int:
        if node not in column:
            column[node] = 1 + max(
                (depth(p, trail | {node}) for p in preds[node] if p not in trail), default=-1
            )
        return column[node]

    for n in nodes:
        depth(n["id"])
    # Training sets sit just before the first model that used them, not all in column 0.
    succs: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for s, t, _ in edges:
        succs[s].append(t)
    for n in nodes:
        if n["type"] == "record_set" and succs[n["id"]]:
            column[n["id"]] = min(column[t] for t in succs[n["id"]]) - 1
    return column


def lineage_svg(graph: dict, links: dict[str, str]) -> str:
    """Draw a lineage graph left to right: training sets, models (bases before fine-tuned), evaluations.

    Columns come from longest-path layering; within a column, nodes are ordered by the mean row of
    their predecessors (one barycentre sweep), which keeps these small trees free of crossings.
    ``links`` maps node ids to page URLs.
    """
    nodes, edges = graph["nodes"], graph["edges"]
    if not nodes:
        return ""
    column = _columns(nodes, edges)
    by_col: dict[int, list[dict]] = {}
    for n in nodes:
        by_col.setdefault(column[n["id"]], []).append(n)
    preds: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for s, t, _ in edges:
        preds[t].append(s)
    row: dict[str, float] = {}
    for c in sorted(by_col):
        placed = by_col[c]
        placed.sort(key=lambda n: sum(row.get(p, 0) for p in preds[n["id"]]) / max(1, len(preds[n["id"]])))
        for i, n in enumerate(placed):
            row[n["id"]] = i
    height_rows = max(len(v) for v in by_col.values())
    width = PAD * 2 + (max(by_col) + 1) * NODE_W + max(by_col) * COL_GAP
    height = PAD * 2 + height_rows * NODE_H + (height_rows - 1) * ROW_GAP
    pos = {}
    for c, placed in by_col.items():
        offset = (height_rows - len(placed)) * (NODE_H + ROW_GAP) / 2
        for n in placed:
            pos[n["id"]] = (PAD + c * (NODE_W + COL_GAP), PAD + offset + row[n["id"]] * (NODE_H + ROW_GAP))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="lineage graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>',
    ]
    for s, t, label in edges:
        (x1, y1), (x2, y2) = pos[s], pos[t]
        x1, y1, x2, y2 = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="edge" d="M {x1:.0f} {y1:.0f} C {mid:.0f} {y1:.0f}, {mid:.0f} {y2:.0f}, {x2:.0f} '
            f'{y2:.0f}" fill="none" stroke="#888" stroke-width="1.3" marker-end="url(#arrow)">'
            f"<title>{escape(label)}</title></path>"
        )
    for n in nodes:
        x, y = pos[n["id"]]
        fill, stroke = NODE_STYLE[n["type"]]
        if n.get("leak"):
            stroke = "#c62828"
        width_px = 2.6 if n["focus"] else 1.2
        label = n["label"] if len(n["label"]) <= 32 else n["label"][:31] + "…"
        box = (
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="5" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width_px}"/>'
            f'<text x="{x + 10:.0f}" y="{y + 19:.0f}" class="node-label">{escape(label)}</text>'
            f'<text x="{x + 10:.0f}" y="{y + 36:.0f}" class="node-sub">{escape(n["sub"])}</text>'
            f"<title>{escape(n['label'])} ({escape(n['sub'])})</title>"
        )
        href = links.get(n["id"])
        parts.append(
            f'<a href="{escape(href)}" class="node node-{n["type"]}">{box}</a>'
            if href
            else f'<g class="node node-{n["type"]}">{box}</g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# -- metric vs identity threshold ----------------------------------------------------------------


def metric_plot(points: list[tuple[str, float | None]], full: float | None, *, metric: str) -> str:
    """A small line plot: the metric on the clean subset at each threshold (x, strictest first) beside
    the metric on all scored records (dashed). ``points`` are ``(threshold label, value)``."""
    values = [v for _, v in points if v is not None] + ([full] if full is not None else [])
    if not values:
        return ""
    w, h, left, right, top, bottom = 420, 200, 54, 30, 16, 36
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    span = hi - lo
    lo, hi = lo - 0.1 * span, hi + 0.1 * span
    n = len(points)

    def px(i: int) -> float:
        return left + (w - left - right) * (i / max(1, n - 1))

    def py(v: float) -> float:
        return top + (h - top - bottom) * (1 - (v - lo) / (hi - lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{escape(metric)} on the clean subset per identity threshold">',
        f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(
            f'<line x1="{left}" x2="{w - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#e6e6e6"/>'
            f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end" class="tick">{v:.3g}</text>'
        )
    for i, (label, _) in enumerate(points):
        out.append(
            f'<text x="{px(i):.1f}" y="{h - bottom + 16}" text-anchor="middle" class="tick">{label}</text>'
        )
    out.append(
        f'<text x="{(left + w - right) / 2:.0f}" y="{h - 4}" text-anchor="middle" class="axis">'
        "test records removed at identity to training data</text>"
    )
    if full is not None:
        out.append(
            f'<line x1="{left}" x2="{w - right}" y1="{py(full):.1f}" y2="{py(full):.1f}" stroke="#888" '
            f'stroke-dasharray="5 4"><title>all scored records: {full:.4g}</title></line>'
        )
    coords = [(px(i), py(v)) for i, (_, v) in enumerate(points) if v is not None]
    if len(coords) > 1:
        out.append(
            '<polyline fill="none" stroke="#3b528b" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            + '"/>'
        )
    for (label, v), i in zip(points, range(n), strict=True):
        if v is not None:
            out.append(
                f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3.5" fill="#3b528b">'
                f"<title>{escape(label)}: {v:.4g}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)
