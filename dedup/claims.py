"""What a report claims, per identity threshold: the one summariser of every front end.

Per threshold ``t`` at or above the method's identity floor:

- ``records``: query records whose best hit has identity >= t (the ``exact`` row:
  identical sequences only);
- ``estimated``: the estimated number of query records that truly have a match at >= t,
  ``sum over identity bins b with low_b >= t of found_b / recall_b``, where ``found_b``
  counts the best hits whose measured identity lies in bin b and ``recall_b`` is the recall
  measured for exactly this method in bin b (:mod:`dedup.calibration`; the bins are the
  bands cut 5 points wide, :data:`dedup.calibration.BINS`): a Horvitz-Thompson estimate
  with the measured recall as inclusion probability;
- ``recall``: ``records / estimated``, with the interval obtained from the ends of the
  bands' Wilson intervals (all bands at their lower ends give the lower bound);
- ``by_tier``: the records split by the tier that found their best hit.

Where nothing was found at >= t the estimator has nothing to scale, and ``recall`` is the
recall measured on the calibration set at >= t (``basis: "calibration set"``). A band whose
recall is below 0.5 is named in ``warnings`` with the tier that can see it. A method that
was never measured gets counts only, and the note "recall not measured for this method"
with the nearest measured method.

Examples:
    >>> from dedup.method import Method
    >>> c = summarise([(1.0, "exact", True), (0.93, "minhash", False)], 10, Method(kind="text"))
    >>> [(r.label, r.queries, r.recall) for r in c.rows[:3]]
    [('exact', 1, 1.0), ('>=95%', 1, None), ('>=90%', 2, None)]
    >>> c.calibration["note"]
    'recall not measured for this method'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .calibration import BANDS, BINS, band_of, lookup, nearest_measured
from .method import TIER_ORDER, Method

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ESTIMATOR",
    "Claims",
    "ThresholdCount",
    "format_claims",
    "label",
    "summarise",
]

#: Identity thresholds of a summary (1.0 is the "exact" row: identical sequences).
DEFAULT_THRESHOLDS = (1.0, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3)

ESTIMATOR = (
    "estimated = sum over identity bins (5 points wide) at or above the threshold of (records found in the "
    "bin / the bin's measured recall); recall = records / estimated; interval from the bins' Wilson 95% intervals"
)

# Pseudo-bins of the estimate: identical sequences (found by the exact tier, recall 1 by
# construction) and identity-1 hits that are not identical (fragments), measured apart.
_IDENTICAL = "identical"
_FRAGMENTS = "100% not identical"

# Which tier to add for a band the method cannot see.
_REMEDY = {"containment": "mmseqs", "minhash": "mmseqs", "exact": "minhash"}


def label(threshold: float) -> str:
    """``"exact"`` or ``">=90%"``."""
    return "exact" if threshold >= 1.0 else f">={round(threshold * 100)}%"


@dataclass(frozen=True)
class ThresholdCount:
    """The claim at one identity threshold (see the module docstring for each field)."""

    threshold: float
    label: str
    queries: int | None
    fraction: float | None
    by_tier: dict[str, int]
    recall: float | None
    recall_interval: tuple[float, float] | None = None
    estimated: float | None = None
    basis: str | None = None

    @property
    def records(self) -> int | None:
        """Alias of ``queries``: query records with a best hit at or above the threshold."""
        return self.queries

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.threshold,
            "threshold": self.threshold,
            "label": self.label,
            "records": self.queries,
            "queries": self.queries,
            "fraction": self.fraction,
            "by_tier": dict(self.by_tier),
            "estimated": None if self.estimated is None else round(self.estimated, 2),
            "recall": None if self.recall is None else round(self.recall, 4),
            "recall_interval": None
            if self.recall_interval is None
            else [round(x, 4) for x in self.recall_interval],
            "recall_basis": self.basis,
        }


@dataclass
class Claims:
    """Rows per threshold, the bands behind them, warnings and where the recall came from."""

    rows: list[ThresholdCount]
    bands: list[dict[str, Any]]
    warnings: list[str]
    calibration: dict[str, Any]
    method_key: str
    query_records: int
    coverage: float
    estimator: str = ESTIMATOR
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query_records": self.query_records,
            "coverage": self.coverage,
            "method_key": self.method_key,
            "thresholds": [r.to_dict() for r in self.rows],
            "bands": self.bands,
            "warnings": list(self.warnings),
            "calibration": self.calibration,
            "estimator": self.estimator,
            **self.extra,
        }


def summarise(
    best: Iterable[tuple[float, str, bool]],
    n_queries: int,
    method: Method,
    *,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    keep_below: bool = True,
) -> Claims:
    """The claims of a check from each query record's best hit ``(identity, tier, identical)``.

    ``method`` is the method that ran (tiers narrowed to those that ran). Thresholds below the
    method's identity get a row without counts when ``keep_below`` (the library's table) and
    are left out otherwise (the registry's reports).
    """
    best = list(best)
    entry = lookup(method)
    band_cal = (entry or {}).get("recall", {}).get("bands", {})
    bin_cal = (entry or {}).get("recall", {}).get("bins", {})
    per_threshold = (entry or {}).get("recall", {}).get("per_threshold", {})
    found_in: dict[str, int] = {b[0]: 0 for b in BANDS}
    found_bin: dict[str, int] = {b[0]: 0 for b in BINS}
    found_bin[_IDENTICAL] = 0
    bin_cal = dict(bin_cal)
    if "exact" in method.tiers:  # identical sequences: the sha256 join cannot miss one
        bin_cal[_IDENTICAL] = {"recall": 1.0, "low": 1.0, "high": 1.0, "n": 0}
    if _FRAGMENTS in bin_cal:  # identity 1 inside a longer sequence: what the minhash tier finds
        bin_cal["100%"] = bin_cal[_FRAGMENTS]
    for ident, _tier, same in best:
        b = band_of(ident)
        if b is not None:
            found_in[b] += 1
            if same and "exact" in method.tiers:
                found_bin[_IDENTICAL] += 1
            else:
                found_bin[band_of(ident, BINS) or ""] += 1
    bands_out = []
    for name, low, _high in BANDS:
        if low + 1e-9 < method.identity:
            continue
        cal = band_cal.get(name)
        bands_out.append(
            {
                "band": name,
                "found": found_in[name],
                "recall": None if cal is None else cal["recall"],
                "recall_interval": None if cal is None else [cal["low"], cal["high"]],
                "calibration_pairs": None if cal is None else cal["n"],
            }
        )
    ran = list(method.tiers)
    rows: list[ThresholdCount] = []
    for t in sorted(set(thresholds), reverse=True):
        if t < method.identity - 1e-9:
            if keep_below:
                rows.append(ThresholdCount(t, label(t), None, None, {}, None))
            continue
        if t >= 1.0:
            tiers = [tier for _i, tier, same in best if same]
        else:
            tiers = [tier for ident, tier, _s in best if ident + 1e-9 >= t]
        n = len(tiers)
        by_tier = {name: tiers.count(name) for name in ran}
        fraction = n / n_queries if n_queries else 0.0
        recall, interval, estimated, basis = _recall(t, n, found_bin, bin_cal, per_threshold, method, entry)
        rows.append(ThresholdCount(t, label(t), n, fraction, by_tier, recall, interval, estimated, basis))
    calibration: dict[str, Any]
    if entry is not None:
        calibration = {
            "measured": True,
            "key": method.key(),
            "label": entry.get("label"),
            "source": entry.get("recall", {}).get("source"),
            "generated_by": "python benchmarks/calibrate.py",
        }
    else:
        nearest = nearest_measured(method)
        calibration = {"measured": False, "key": method.key(), "note": "recall not measured for this method"}
        if nearest:
            calibration["nearest_measured"] = nearest
    return Claims(
        rows, bands_out, _warnings(bands_out, method), calibration, method.key(), n_queries, method.coverage
    )


def _recall(
    t: float,
    n: int,
    found_in: dict[str, int],
    band_cal: dict[str, Any],
    per_threshold: dict[str, Any],
    method: Method,
    entry: dict[str, Any] | None,
) -> tuple[float | None, tuple[float, float] | None, float | None, str | None]:
    if t >= 1.0:  # identical sequences: the exact tier joins on sha256, it cannot miss one
        if "exact" in method.tiers:
            return 1.0, (1.0, 1.0), float(n), "by construction (sha256 join)"
        return None, None, None, None
    if entry is None:
        return None, None, None, None
    names = [_IDENTICAL] + [name for name, low, _h in BINS if low + 1e-9 >= t]
    if n == 0:
        measured = per_threshold.get(f"{t:.2f}")
        if measured is None:
            return None, None, None, None
        return measured["recall"], (measured["low"], measured["high"]), 0.0, "calibration set"
    est = est_lo = est_hi = 0.0
    for name in names:
        found = found_in.get(name, 0)
        if not found:
            continue
        cal = band_cal.get(name)
        if cal is None or cal["recall"] <= 0 or cal["low"] <= 0:
            return None, None, None, None  # a band with hits but no usable recall: no estimate
        est += found / cal["recall"]
        est_hi += found / cal["low"]
        est_lo += found / max(cal["high"], 1e-12)
    blind = [
        name
        for name in names
        if not found_in.get(name) and (cal := band_cal.get(name)) is not None and cal["recall"] < 0.5
    ]
    basis = "estimated from the bins"
    if blind:
        basis += f"; misses in bins the method cannot see and found nothing in ({', '.join(blind)}) are not estimable"
    return n / est, (n / est_hi, min(1.0, n / est_lo)), est, basis


def _warnings(bands: list[dict[str, Any]], method: Method) -> list[str]:
    out = []
    for b in bands:
        if b["recall"] is None or b["recall"] >= 0.5:
            continue
        strongest = [t for t in TIER_ORDER if t in method.tiers][-1]
        remedy = _REMEDY.get(strongest)
        if remedy is not None:
            tiers = ",".join(t for t in TIER_ORDER if t in method.tiers or t == remedy)
            out.append(
                f"this method cannot see identity band {b['band']} (measured recall {b['recall']:.2f}): "
                f"add the {remedy} tier (--tiers {tiers})"
            )
        else:
            out.append(
                f"this method cannot see identity band {b['band']} (measured recall {b['recall']:.2f}), "
                "and no tier of dedup sees it better"
            )
    return out


def format_claims(summary: dict[str, Any]) -> list[str]:
    """The claims table (``summary`` as :meth:`dedup.claims.Claims.to_dict` gives it), shared by front ends."""
    lines = [f"{'identity':>9}  {'records':>8}  {'%':>6}  {'estimated':>9}  {'recall [95% CI]':<22}  by tier"]
    for row in summary["thresholds"]:
        if row["records"] is None:
            lines.append(
                f"{row['label']:>9}  {'-':>8}  {'-':>6}  {'-':>9}  {'-':<22}  below the requested identity"
            )
            continue
        if row["recall"] is None:
            recall = "not measured"
        else:
            low, high = row["recall_interval"]
            recall = f"{row['recall']:.3f} [{low:.3f}, {high:.3f}]"
        estimated = "-" if row["estimated"] is None else f"{row['estimated']:.1f}"
        tiers = ", ".join(f"{name} {n}" for name, n in row["by_tier"].items())
        if row.get("unverified"):
            low, high = row["unverified_interval"]
            tiers += f" (unverified; range {low:,}-{high:,})"
        lines.append(
            f"{row['label']:>9}  {row['records']:>8,}  {100 * row['fraction']:>5.1f}%  {estimated:>9}  {recall:<22}  {tiers}"
        )
    blind = [
        r for r in summary["thresholds"] if r.get("recall_basis") and "not estimable" in r["recall_basis"]
    ]
    if blind:
        lines.append(f"{blind[-1]['label']}: {blind[-1]['recall_basis']}")
    est = summary.get("estimated_from_jaccard")
    if est:
        lines.append(
            f"against sketch-only training sets ({', '.join(est['sketch_only_references'])}): {est['note']}"
        )
        rel = est.get("relation")
        if rel:
            err = rel["error"]
            lines.append(
                f"  relation measured by {rel['measured_by']} on {', '.join(rel['sources'])}: on held-out test "
                f"sequences the interval held the aligned identity for {err['interval_coverage']:.1%} "
                f"(|median - aligned identity|: median {err['median_absolute_error']:.3f}, mean "
                f"{err['mean_absolute_error']:.3f})"
            )
    cal = summary["calibration"]
    if cal.get("measured"):
        lines.append(
            f"recall: measured for this method ({cal['key']}, {cal.get('label')}) on {cal.get('source')}; "
            "estimated = found per identity bin / that bin's recall, summed"
        )
    else:
        lines.append(f"recall not measured for this method ({cal['key']})")
        nearest = cal.get("nearest_measured")
        if nearest:
            lines.append(
                f"  nearest measured method: {nearest['label']} ({nearest['key']}), "
                f"differs in {', '.join(nearest['differs_in'])}"
            )
    for warning in summary.get("warnings", []):
        lines.append(f"warning: {warning}")
    return lines
