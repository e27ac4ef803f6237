"""Typed results: what the API answers, as dataclasses.

Each class reads the fields it names from the server's JSON and keeps the whole answer in
``raw``, so a field a newer server adds is never lost (and never breaks an older client).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any], **converted: Any) -> T:
    """``cls`` from ``data``: the fields it has (missing ones take their defaults), ``raw`` = ``data``."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in names and k not in converted}
    values.update(converted)
    if "raw" in names:
        values["raw"] = data
    return cls(**values)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


@dataclass
class Job:
    """Background work on the server: ``state`` is pending, running, succeeded or failed."""

    uuid: str
    kind: str = ""
    state: str = ""
    url: str = ""
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    version_url: str | None = None
    attempts: int = 0
    created_at: str | None = None
    finished_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return _build(cls, data, progress=data.get("progress") or {}, result=data.get("result") or {})

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")


@dataclass
class SplitPart:
    name: str
    ref: str = ""
    uuid: str = ""
    role: str = ""
    record_count: int = 0
    url: str = ""
    records_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplitPart:
        return _build(cls, data)


@dataclass
class Split:
    """A named partition of a version; ``parts`` are its record sets (``name@version/split:part``)."""

    name: str
    uuid: str = ""
    url: str = ""
    version: str = ""
    shared_ids_allowed: bool = False
    parts: list[SplitPart] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Split:
        return _build(cls, data, parts=[SplitPart.from_json(p) for p in data.get("parts") or []])

    def part(self, name: str) -> SplitPart:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(
            f"split {self.name!r} has no part {name!r}; parts: {', '.join(p.name for p in self.parts)}"
        )


@dataclass
class DatasetVersion:
    """An immutable snapshot ``name@version`` with its sha256 content digest.

    ``created`` is ``False`` when the upload's content was already registered (the existing version
    is returned), ``True`` when it is new, ``None`` when the version was fetched, not registered.
    """

    ref: str
    uuid: str = ""
    url: str = ""
    dataset: str = ""
    version: str = ""
    kind: str = ""
    digest: str = ""
    record_count: int = 0
    residue_count: int = 0
    role: str = ""
    source_filename: str = ""
    format: str = ""
    sketch_only: bool = False  # registered from a .llsk sketch: no residues, records not downloadable
    created_by: str | None = None
    created_at: str | None = None
    splits: list[Split] = field(default_factory=list)
    records_url: str = ""
    fasta_url: str = ""
    csv_url: str = ""
    cite_url: str = ""
    created: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, created: bool | None = None) -> DatasetVersion:
        return _build(
            cls, data, splits=[Split.from_json(s) for s in data.get("splits") or []], created=created
        )

    def split(self, name: str) -> Split:
        for split in self.splits:
            if split.name == name:
                return split
        raise KeyError(f"{self.ref} has no split {name!r}")


@dataclass
class ModelVersion:
    """``name@version``: trained on record sets, optionally fine-tuned from ``base``."""

    ref: str
    uuid: str = ""
    url: str = ""
    model: str = ""
    version: str = ""
    base: str | None = None
    trained_on: list[str] = field(default_factory=list)
    code_url: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    created_by: str | None = None
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelVersion:
        return _build(cls, data)


@dataclass
class Pair:
    """A query (test) record and its best hit in a reference (training) record set."""

    query: str
    reference: str
    identity: float
    coverage: float | None  # None: not measured (tier "estimated": against a sketch-only training set)
    reference_set: str = ""
    reference_coverage: float | None = None
    jaccard: float | None = None
    tier: str = ""
    identity_interval: list[float] | None = None  # tier "estimated": [5%, median, 95%] from Jaccard
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Pair:
        return _build(cls, data)

    def line(self) -> str:
        where = f"{self.reference_set} " if self.reference_set else ""
        coverage = "not measured" if self.coverage is None else f"{self.coverage:.3f}"
        text = f"{self.query} -> {where}{self.reference}  identity {self.identity:.3f}  coverage {coverage}  {self.tier}"
        if self.identity_interval:
            lo, _mid, hi = self.identity_interval
            text += f" (unverified, estimated from Jaccard: {lo:.2f}-{hi:.2f})"
        return text


@dataclass
class Threshold:
    """One identity threshold of a report: records whose best hit reaches it, and their fraction.

    ``recall`` is the measured recall of exactly the tiers that ran at this threshold (``None``: not
    measured). In a contamination report with per-record scores, ``clean_metrics`` holds each
    metric's mean over the records that are *not* contaminated at this threshold.
    """

    identity: float
    label: str
    records: int
    fraction: float
    by_tier: dict[str, int] = field(default_factory=dict)
    recall: float | None = None
    clean_records: int | None = None
    clean_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Against sketch-only training sets: records counted by an estimated (unverified) hit, and the range
    # of ``records`` when every estimated hit is at the low, then the high end of its identity interval.
    unverified: int | None = None
    unverified_interval: list[int] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Threshold:
        return _build(cls, data, clean_metrics=data.get("clean_metrics") or {})


def _threshold_row(rows: list[Threshold], identity: float | None) -> Threshold:
    """The row for ``identity`` (default: the lowest threshold reported)."""
    if not rows:
        raise ValueError("the report has no thresholds")
    if identity is None:
        return min(rows, key=lambda r: r.identity)
    matching = [r for r in rows if abs(r.identity - identity) < 1e-9]
    if matching:
        return matching[-1]
    reported = ", ".join(r.label for r in rows)
    raise ValueError(f"identity {identity} is not a threshold of this report (reported: {reported})")


def _table(rows: list[Threshold], metric_names: list[str]) -> list[str]:
    head = f"  {'identity':>9}  {'records':>8}  {'fraction':>8}  {'recall':>6}"
    head += "".join(f"  {'clean ' + m:>14}" for m in metric_names)
    lines = [head]
    for row in rows:
        recall = "-" if row.recall is None else f"{row.recall:.3f}"
        line = f"  {row.label:>9}  {row.records:>8,}  {_pct(row.fraction):>8}  {recall:>6}"
        for m in metric_names:
            mean = (row.clean_metrics.get(m) or {}).get("mean")
            line += f"  {'-' if mean is None else f'{mean:.4g}':>14}"
        if row.unverified:
            low, high = row.unverified_interval or (None, None)
            line += f"  ({row.unverified} unverified, estimated from Jaccard; range {low}-{high})"
        lines.append(line)
    if any(row.recall is not None for row in rows):
        lines.append(
            "  recall: measured for exactly these tiers and settings at that identity; -: not measured"
        )
    return lines


@dataclass
class ContaminationReport:
    """An evaluation's test set against its model's whole training ancestry.

    ``thresholds`` hold, per identity, the contaminated records and the metrics recomputed on the
    clean subset (when per-record scores were recorded); ``contaminated`` the best hit of each
    contaminated test record (only in the full report, ``Client.contamination``).
    """

    uuid: str
    evaluation: str = ""
    model_version: str = ""
    record_set: str = ""
    training_ancestry: list[str] = field(default_factory=list)
    query_records: int = 0
    coverage: float | None = None
    thresholds: list[Threshold] = field(default_factory=list)
    full_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    reported_metrics: dict[str, float] = field(default_factory=dict)
    contaminated: list[Pair] = field(default_factory=list)
    method: dict[str, Any] = field(default_factory=dict, repr=False)
    overlap_reports: list[str] = field(default_factory=list)
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContaminationReport:
        summary = data.get("summary") or {}
        return _build(
            cls,
            data,
            query_records=summary.get("query_records", 0),
            coverage=summary.get("coverage"),
            thresholds=[Threshold.from_json(t) for t in summary.get("thresholds") or []],
            full_metrics=summary.get("full_metrics") or {},
            reported_metrics=summary.get("reported_metrics") or {},
            model_version=data.get("model_version") or summary.get("model_version", ""),
            training_ancestry=data.get("training_ancestry") or summary.get("training_ancestry") or [],
            contaminated=[Pair.from_json(p) for p in data.get("contaminated") or []],
            method=data.get("method") or {},
        )

    def threshold(self, identity: float | None = None) -> Threshold:
        """The row for ``identity`` (e.g. ``0.9``; ``1.0`` is the exact row); default the lowest."""
        return _threshold_row(self.thresholds, identity)

    def fraction(self, identity: float | None = None) -> float:
        """Fraction of the test records contaminated at ``identity``."""
        return self.threshold(identity).fraction

    def clean_metrics(self, identity: float | None = None) -> dict[str, float | None]:
        """Each scored metric's mean over the records that are clean at ``identity``."""
        return {m: v.get("mean") for m, v in self.threshold(identity).clean_metrics.items()}

    def __str__(self) -> str:
        ancestry = ", ".join(self.training_ancestry) or "nothing"
        lines = [
            f"contamination of {self.record_set} ({self.query_records:,} records) "
            f"against {self.model_version}'s training ancestry: {ancestry}"
        ]
        metric_names = sorted(self.full_metrics)
        lines += _table(self.thresholds, metric_names)
        if metric_names:
            full = ", ".join(
                f"{m} {v.get('mean'):.4g} on {v.get('records')} records"
                for m, v in sorted(self.full_metrics.items())
                if v.get("mean") is not None
            )
            lines.append(f"  all scored records: {full}")
        if self.contaminated:
            lines.append(f"  contaminated records ({len(self.contaminated)}), highest identity first:")
            for pair in sorted(self.contaminated, key=lambda p: (-p.identity, p.query))[:10]:
                lines.append(f"    {pair.line()}")
            if len(self.contaminated) > 10:
                lines.append(f"    ... and {len(self.contaminated) - 10} more")
        return "\n".join(lines)


@dataclass
class Evaluation:
    """A model version scored on a record set; ``contamination`` is ``None`` until it is computed."""

    uuid: str
    url: str = ""
    model_version: str = ""
    record_set: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    code_ref: str = ""
    scores_metric_names: list[str] = field(default_factory=list)
    created_by: str | None = None
    created_at: str | None = None
    contamination: ContaminationReport | None = None
    cite_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evaluation:
        summary = data.get("contamination")
        report = None
        if summary:
            report = ContaminationReport.from_json(
                {
                    **summary,
                    "evaluation": data.get("uuid", ""),
                    "model_version": data.get("model_version", ""),
                    "record_set": data.get("record_set", ""),
                }
            )
        return _build(cls, data, contamination=report)


@dataclass
class OverlapResult:
    """The answer to "does this benchmark overlap these training sets?" (``Client.check``).

    ``thresholds``: per identity, the benchmark records whose best hit reaches it; ``pairs``: the
    best hit of each overlapping record in each reference set, highest identity first; ``method``:
    tiers, settings, tool versions and calibration of exactly what ran.
    """

    query: str
    query_records: int
    thresholds: list[Threshold] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    query_digest: str = ""
    coverage: float | None = None
    method: dict[str, Any] = field(default_factory=dict, repr=False)
    where: str = "server"
    # Against sketch-only training sets: the relation used, how it was measured and its measured error.
    estimated_from_jaccard: dict[str, Any] | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OverlapResult:
        summary = data.get("summary") or {}
        return _build(
            cls,
            data,
            query_records=summary.get("query_records", data.get("query_records", 0)),
            coverage=summary.get("coverage"),
            estimated_from_jaccard=summary.get("estimated_from_jaccard"),
            warnings=list(summary.get("warnings") or []),
            thresholds=[Threshold.from_json(t) for t in summary.get("thresholds") or []],
            pairs=[Pair.from_json(p) for p in data.get("pairs") or []],
            method=data.get("method") or {},
        )

    def threshold(self, identity: float | None = None) -> Threshold:
        """The row for ``identity``; default the lowest threshold reported (the ``identity`` asked)."""
        return _threshold_row(self.thresholds, identity)

    def fraction(self, identity: float | None = None) -> float:
        return self.threshold(identity).fraction

    def offenders(self, identity: float | None = None) -> list[Pair]:
        """Each overlapping benchmark record once, with its best hit at or above ``identity``."""
        row = self.threshold(identity)
        exact = row.identity >= 1.0
        best: dict[str, Pair] = {}
        for pair in self.pairs:
            whole = (pair.coverage or 0.0) >= 1.0 and (pair.reference_coverage or 1.0) >= 1.0
            if exact and not (pair.tier == "exact" or (pair.identity >= 1.0 and whole)):
                continue  # the exact row counts identical sequences only
            if pair.identity + 1e-9 < row.identity:
                continue
            cur = best.get(pair.query)
            if cur is None or (pair.identity, pair.coverage or 0.0) > (cur.identity, cur.coverage or 0.0):
                best[pair.query] = pair
        return sorted(best.values(), key=lambda p: (-p.identity, -(p.coverage or 0.0), p.query))

    def __str__(self) -> str:
        refs = (
            ", ".join(r.get("ref", "?") for r in self.references) or "nothing (no training sets registered)"
        )
        lines = [f"{self.query}: {self.query_records:,} records against {refs}"]
        tiers = self.method.get("tiers_run") or {}
        for name, info in tiers.items():
            if isinstance(info, dict) and not info.get("ran", True):
                lines.append(f"  tier {name} did not run: {info.get('reason')}")
        lines += _table(self.thresholds, [])
        est = self.estimated_from_jaccard
        if est:
            lines.append(
                f"  against sketch-only training sets ({', '.join(est.get('sketch_only_references', []))}):"
            )
            lines.append(f"    {est.get('note')}")
            rel = est.get("relation") or {}
            err = rel.get("error") or {}
            if err.get("interval_coverage") is not None:
                lines.append(
                    f"    relation measured by {rel.get('measured_by')} on {', '.join(rel.get('sources') or [])}: "
                    f"the interval held the aligned identity for {err['interval_coverage']:.1%} of held-out "
                    f"test sequences (|median - aligned identity|: median {err.get('median_absolute_error')}, "
                    f"mean {err.get('mean_absolute_error')})"
                )
        return "\n".join(lines)


@dataclass
class Record:
    """A record of a version or split part, in file order."""

    position: int
    identifier: str
    description: str = ""
    sha256: str = ""
    length: int = 0
    sequence: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return _build(cls, data)


__all__ = [
    "ContaminationReport",
    "DatasetVersion",
    "Evaluation",
    "Job",
    "ModelVersion",
    "OverlapResult",
    "Pair",
    "Record",
    "Split",
    "SplitPart",
    "Threshold",
]
