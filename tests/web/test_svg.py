"""The server-side pictures: colour scale, badges, the lineage layout, the metric plot."""

import re
import xml.etree.ElementTree as ET

from web import svg


def test_viridis_matches_matplotlib_at_its_stops_and_is_monotone_in_lightness():
    assert svg.viridis(0) == "#440154" and svg.viridis(1) == "#fde725"
    # matplotlib's viridis(0.5) is #21918c and viridis(0.25) #3b528b: linear between stops stays close
    for x, expected in [(0.5, "#21918c"), (0.25, "#3b528b")]:
        got = svg.viridis(x)
        assert all(abs(int(got[k : k + 2], 16) - int(expected[k : k + 2], 16)) <= 3 for k in (1, 3, 5)), (
            x,
            got,
        )
    lum = []
    for i in range(11):
        c = svg.viridis(i / 10)
        r, g, b = (int(c[k : k + 2], 16) for k in (1, 3, 5))
        lum.append(0.299 * r + 0.587 * g + 0.114 * b)
    assert lum == sorted(lum)
    assert svg.fraction_scale(0.04) == 0.2 and svg.fraction_scale(2) == 1.0


def test_badge_is_valid_svg_with_both_texts_and_the_link():
    out = svg.badge("contamination", "5.2% at >=90%", svg.level_colour(0.052), link="https://x.test/e/1/")
    root = ET.fromstring(out)
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts.count("contamination") == 2 and texts.count("5.2% at >=90%") == 2
    assert 'href="https://x.test/e/1/"' in out
    assert svg.level_colour(0) != svg.level_colour(0.005) != svg.level_colour(0.2)
    assert svg.level_colour(None) == "#9f9f9f"


def test_lineage_layout_puts_every_edge_left_to_right_without_overlaps():
    nodes = [
        {"id": i, "type": t, "label": i, "sub": "", "focus": i == "m2"}
        for i, t in [
            ("r1", "record_set"),
            ("r2", "record_set"),
            ("m1", "model"),
            ("m2", "model"),
            ("e1", "evaluation"),
        ]
    ]
    edges = [
        ("r1", "m1", "trained on"),
        ("m1", "m2", "fine-tuned"),
        ("r2", "m2", "trained on"),
        ("m2", "e1", "evaluated"),
    ]
    out = svg.lineage_svg({"nodes": nodes, "edges": edges}, {"m1": "/models/m1/"})
    ET.fromstring(out)
    boxes = {}
    for x, y, label in re.findall(r'<rect x="(\d+)" y="(\d+)"[^>]*/><text[^>]*>([^<]+)</text>', out):
        boxes[label] = (int(x), int(y))
    assert len(boxes) == 5
    for s, t, _ in edges:
        assert boxes[s][0] < boxes[t][0], (s, t)
    assert len(set(boxes.values())) == 5
    assert boxes["r2"][0] > boxes["r1"][0]  # a fine-tune's data sits just before the fine-tuned model
    assert 'href="/models/m1/"' in out


def test_metric_plot_has_one_point_per_threshold_and_the_full_line():
    out = svg.metric_plot([("exact", 0.61), (">=95%", 0.6), (">=90%", None)], 0.63, metric="acc")
    ET.fromstring(out)
    assert out.count("<circle") == 2 and "stroke-dasharray" in out
    assert svg.metric_plot([("exact", None)], None, metric="acc") == ""
