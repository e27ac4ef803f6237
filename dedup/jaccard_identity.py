"""Identity estimated from Jaccard: what a check against a sketch-only reference can say.

A sketch-only reference (:mod:`dedup.llsk`) has signatures and lengths but no residues, so its
MinHash candidates cannot be aligned. The MinHash tier then reports each query's best candidate as
an *unverified* hit whose identity is read from the relation measured on real pairs by
``python benchmarks/calibrate_jaccard.py`` and shipped in ``dedup/jaccard_identity.json``: per
length class of the pair (reference shorter than 0.8 x the query, similar, longer than 1.25 x) and
per bin of the Jaccard estimated from the two signatures, the 5%, 50% and 95% quantiles of the
aligned identity of the LSH candidate pairs (MMseqs2 ``fident`` of an alignment covering >= 80% of
the query; 0 when none covers it), with the error of the per-query estimate measured on held-out
sequences.

A hit carries the median as its identity and the interval beside it; a report counts, per
threshold, the records whose median is at or above it (included in ``records``, split out as
``unverified``) and the range from the intervals' ends (``unverified_interval``). The recall of
the tiers is not measured for such a check and the report says so.

Examples:
    >>> from dedup.params import SketchParams
    >>> r = relation_for(SketchParams.default("protein"))
    >>> lo, mid, hi = r.interval(0.95, 300, 310)
    >>> lo <= mid <= hi <= 1.0
    True
    >>> relation_for(SketchParams.default("dna")) is None
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .params import SketchParams

__all__ = [
    "ESTIMATED_TIER",
    "RELATION_FILE",
    "Relation",
    "apply_estimates",
    "relation_for",
    "relation_table",
]

RELATION_FILE = Path(__file__).with_name("jaccard_identity.json")

#: The tier label of a hit estimated from Jaccard (never aligned).
ESTIMATED_TIER = "estimated"

#: Why the alignment tiers cannot run against a sketch-only reference.
NO_RESIDUES = "the reference is sketch-only (signatures, no residues): nothing to align or search"


@lru_cache(maxsize=1)
def relation_table() -> dict[str, Any]:
    """The whole shipped relation file (empty when missing)."""
    try:
        with open(RELATION_FILE, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


#: Length classes of a pair, by reference length / query length: a reference much shorter than the
#: query can hardly cover 80% of it, whatever their Jaccard; the relation is measured per class.
LENGTH_CLASSES = (
    ("reference_shorter", 0.0, 0.8),
    ("similar", 0.8, 1.25),
    ("reference_longer", 1.25, float("inf")),
)

#: Bins with fewer calibration pairs than this give no estimate ("not measured").
MIN_PAIRS = 5


def length_class(query_length: int, reference_length: int) -> str:
    """``reference_shorter`` (< 0.8 x the query), ``similar`` or ``reference_longer`` (> 1.25 x).

    Examples:
        >>> length_class(100, 70), length_class(100, 100), length_class(100, 200)
        ('reference_shorter', 'similar', 'reference_longer')
    """
    ratio = reference_length / max(query_length, 1)
    for name, low, high in LENGTH_CLASSES:
        if low - 1e-12 <= ratio < high - 1e-12:
            return name
    return LENGTH_CLASSES[-1][0]


@dataclass(frozen=True)
class Relation:
    """The measured Jaccard -> identity relation of one sketch parameter set, per length class."""

    params_key: str
    classes: dict[str, tuple[dict[str, Any], ...]]
    entry: dict[str, Any]

    def interval(
        self, jaccard: float, query_length: int, reference_length: int
    ) -> tuple[float, float, float] | None:
        """``(q05, median, q95)`` of the aligned identity of a candidate pair, or ``None`` (not measured)."""
        bins = self.classes.get(length_class(query_length, reference_length), ())
        for i, b in enumerate(bins):
            low, high = b["jaccard"]
            last = i == len(bins) - 1
            if low - 1e-12 <= jaccard and (jaccard < high - 1e-12 or last):
                if b["n"] < MIN_PAIRS:
                    return None
                return b["identity_q05"], b["identity_q50"], b["identity_q95"]
        return None

    def best(self, candidates: list[tuple[float, int, int]]) -> tuple[int, tuple[float, float, float]] | None:
        """Of a query's candidates ``(jaccard, query length, reference length)``, the one with the highest
        estimated identity (median, then upper end, then Jaccard) and its interval; ``None`` if none has one.

        The calibration (``benchmarks/calibrate_jaccard.py``) measures its error with this same choice.
        """
        chosen: tuple[tuple[float, float, float], int, tuple[float, float, float]] | None = None
        for i, (j, qlen, rlen) in enumerate(candidates):
            found = self.interval(j, qlen, rlen)
            if found is None:
                continue
            rank = (found[1], found[2], j)
            if chosen is None or rank > chosen[0]:
                chosen = (rank, i, found)
        return None if chosen is None else (chosen[1], chosen[2])

    def describe(self) -> dict[str, Any]:
        """What a report prints about the relation: how it was measured and its measured error."""
        err = self.entry.get("error", {})
        return {
            "params": self.params_key,
            "measured_by": relation_table().get("generated_by"),
            "truth": self.entry.get("truth"),
            "interval": self.entry.get("interval"),
            "candidates": self.entry.get("candidates"),
            "sources": [s.get("pair") for s in self.entry.get("sources", [])],
            "length_classes": {name: [dict(b) for b in bins] for name, bins in self.classes.items()},
            "error": {
                "held_out_queries": err.get("queries"),
                "interval_coverage": err.get("interval_coverage"),
                "median_absolute_error": err.get("median_absolute_error"),
                "mean_absolute_error": err.get("mean_absolute_error"),
                "counts_at_threshold": err.get("counts_at_threshold"),
            },
        }


def relation_for(params: SketchParams) -> Relation | None:
    """The relation measured for exactly these sketch parameters, or ``None``."""
    entry = relation_table().get("relations", {}).get(params.key())
    if entry is None:
        return None
    return Relation(params.key(), {k: tuple(v) for k, v in entry["classes"].items()}, entry)


def apply_estimates(
    summary: dict[str, Any],
    estimates: list[tuple[float, float, float]],
    relation: Relation | None,
    *,
    references: list[str] | None = None,
) -> dict[str, Any]:
    """Mark a claims summary (:meth:`dedup.claims.Claims.to_dict`) as made against sketch-only references.

    ``estimates`` holds ``(q05, median, q95)`` of every query record whose best hit is an estimated
    one (its median is the identity the summary counted). Rows below 100% get ``unverified`` (the
    estimated records they count), ``unverified_interval`` (the records at the threshold when every
    estimated hit is at the low, then the high end of its interval) and ``by_tier["estimated"]``;
    their recall is "not measured". Returns ``summary``, changed in place.

    Examples:
        >>> s = {"thresholds": [{"identity": 1.0, "records": 2, "by_tier": {}}, {"identity": 0.9,
        ...      "records": 3, "by_tier": {"exact": 2, "minhash": 0}, "recall": 0.9}], "warnings": [],
        ...      "calibration": {"measured": True, "key": "k"}}
        >>> row = apply_estimates(s, [(0.85, 0.93, 0.99)], None)["thresholds"][1]
        >>> row["unverified"], row["unverified_interval"], row["recall"], row["by_tier"]["estimated"]
        (1, [2, 3], None, 1)
    """
    for row in summary.get("thresholds", []):
        t = row["identity"]
        if t >= 1.0 or row.get("records") is None:
            continue
        n_mid = sum(mid + 1e-9 >= t for _lo, mid, _hi in estimates)
        verified = row["records"] - n_mid
        row["unverified"] = n_mid
        row["unverified_interval"] = [
            verified + sum(lo + 1e-9 >= t for lo, _m, _h in estimates),
            verified + sum(hi + 1e-9 >= t for _l, _m, hi in estimates),
        ]
        row.setdefault("by_tier", {})[ESTIMATED_TIER] = n_mid
        row["recall"] = None
        row["recall_interval"] = None
        row["estimated"] = None
        row["recall_basis"] = (
            "not measured: hits against sketch-only references are estimated from Jaccard, not aligned"
        )
    summary["calibration"] = {
        **{k: v for k, v in summary.get("calibration", {}).items() if k in ("key",)},
        "measured": False,
        "note": "recall not measured for checks against sketch-only references (no alignment)",
    }
    summary["estimated_from_jaccard"] = {
        "sketch_only_references": list(references or []),
        "unverified_records": len(estimates),
        "note": "unverified, estimated from Jaccard: identity is the median of the aligned identity measured "
        "at that Jaccard on real pairs; the interval is its 5%-95% range; coverage is not measured",
        "relation": relation.describe() if relation is not None else None,
    }
    if relation is None:
        summary["estimated_from_jaccard"]["note"] = (
            "the Jaccard-to-identity relation is not measured for these sketch parameters: only identical "
            "sequences (sha256) are reported against sketch-only references"
        )
    if estimates:
        summary.setdefault("warnings", []).append(
            f"{len(estimates)} record(s) matched sketch-only references by an unverified hit, estimated from "
            "Jaccard (no alignment, coverage not measured); see estimated_from_jaccard"
        )
    return summary
