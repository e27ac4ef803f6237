"""Joined reads of split attestations, for the CLI, the API, the pages and the citation exports.

:func:`split_attestation` gives the latest attestation of a split as a plain dict (or ``None``),
:func:`attestation_text` the one line every surface shows ("verified: max cross-part identity 0.41
by MMseqs2 ...; 12 violating pairs").
"""

from __future__ import annotations

from django.db import connections
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from .models import Split, SplitAttestation, SplitViolation

TIER_NAMES = {"exact": "exact match", "minhash": "MinHash + alignment", "mmseqs": "MMseqs2"}


def latest_attestation(split: Split) -> SplitAttestation | None:
    return SplitAttestation.objects.filter(split=split).order_by("-created_at", "-id").first()


def latest_attestations() -> QuerySet[SplitAttestation]:
    """The latest attestation of every split (newest ``created_at``, then highest id), for a prefetch:
    ``Prefetch("attestations", latest_attestations(), to_attr="latest_attestations")``.

    On PostgreSQL ``DISTINCT ON (split)`` in that order; elsewhere a filter on a window
    (``ROW_NUMBER() OVER (PARTITION BY split ...) = 1``). Both are one sort of the splits'
    attestations. A correlated subquery (``id`` = the newest id of the row's split) compiles faster
    but costs an index probe per attestation: with 2,000 attestations of each of two splits it took
    12.8 ms on PostgreSQL against the window's 4.5 ms, even with an index on (split, -created_at,
    -id), and 1.5 s without one. ``DISTINCT ON`` is a plain SELECT that the cache of compiled
    statements keeps (registry/db/compiled.py leaves window filters to Django): 0.25 ms of Python
    against the window's 1.0 ms, on every page that shows a split.
    """
    ordered = SplitAttestation.objects.order_by("split_id", "-created_at", "-id")
    if connections[ordered.db].features.can_distinct_on_fields:
        return ordered.distinct("split_id")
    newest = Window(
        RowNumber(), partition_by=[F("split_id")], order_by=[F("created_at").desc(), F("id").desc()]
    )
    return SplitAttestation.objects.alias(newest=newest).filter(newest=1)


def violations_of(attestation: SplitAttestation, limit: int | None = None) -> list[dict]:
    rows = (
        SplitViolation.objects.filter(attestation=attestation)
        .select_related("earlier_part", "later_part", "record", "reference")
        .order_by("-identity", "-coverage", "id")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        {
            "later_part": v.later_part.name,
            "record": v.record.identifier,
            "earlier_part": v.earlier_part.name,
            "reference": v.reference.identifier,
            "identity": v.identity,
            "coverage": v.coverage,
            "reference_coverage": v.reference_coverage,
            "tier": v.tier,
        }
        for v in rows
    ]


def _tools(attestation: SplitAttestation) -> str:
    """ "MMseqs2 14-7e284, MinHash + alignment (dedup 0.1.0)": the tiers that ran, with versions."""
    tiers = attestation.method.get("tiers", {})
    names = []
    for name in ("mmseqs", "minhash", "exact"):
        tier = tiers.get(name, {})
        if not tier.get("ran"):
            continue
        version = tier.get("version") if name == "mmseqs" else attestation.versions.get("dedup")
        label = TIER_NAMES[name]
        names.append(f"{label} {version}" if name == "mmseqs" and version else label)
    dedup_version = attestation.versions.get("dedup")
    return ", ".join(names) + (f" (dedup {dedup_version})" if dedup_version else "")


def attestation_text(attestation: SplitAttestation) -> str:
    """One line for every surface where the split appears (CLI, API, pages, citations)."""
    date = attestation.created_at.date().isoformat()
    at = f"identity >= {attestation.identity:.0%}, coverage >= {attestation.coverage:.0%}"
    if attestation.max_identity is None:
        found = f"no cross-part pair at {at}"
    else:
        found = f"max cross-part identity {attestation.max_identity:.2f} at {at}"
    parts = [
        f"verified {date}: {found} by {_tools(attestation)}",
        f"{attestation.violation_count:,} violating pair{'s' if attestation.violation_count != 1 else ''}",
    ]
    if attestation.shared_ids:
        parts.append(f"{len(attestation.shared_ids):,} id(s) in several parts")
    recall = (attestation.calibration or {}).get("recall") or {}
    key = f"{attestation.identity:.2f}"
    if recall.get(key) is not None:
        parts.append(f"measured recall at >= {attestation.identity:.0%}: {recall[key]:.3f}")
    else:
        parts.append(f"recall at >= {attestation.identity:.0%}: not measured")
    if attestation.claim_note:
        parts.append(attestation.claim_note)
    parts.append(f"split digest {attestation.split_digest[:12]}")
    return "; ".join(parts)


def attestation_to_dict(
    attestation: SplitAttestation, *, violations: bool = True, limit: int | None = None
) -> dict:
    out = {
        "uuid": str(attestation.uuid),
        "split": str(attestation.split),
        "split_uuid": str(attestation.split.uuid),
        "split_digest": attestation.split_digest,
        "created_at": attestation.created_at.isoformat(),
        "identity": attestation.identity,
        "coverage": attestation.coverage,
        "tiers": attestation.tiers,
        "max_identity": attestation.max_identity,
        "violation_count": attestation.violation_count,
        "shared_ids": attestation.shared_ids,
        "claim": {
            "max_identity": attestation.split.claimed_max_identity,
            "coverage": attestation.split.claimed_coverage,
            "holds": attestation.claim_holds,
            "note": attestation.claim_note,
        },
        "pairs": attestation.pairs,
        "method": attestation.method,
        "versions": attestation.versions,
        "calibration": attestation.calibration,
        "seconds": attestation.seconds,
        "text": attestation_text(attestation),
    }
    if violations:
        out["violations"] = violations_of(attestation, limit)
    return out


def split_attestation(split: Split, *, violations: bool = False, limit: int | None = None) -> dict | None:
    """The latest attestation of the split as a dict, or ``None`` when it was never verified."""
    attestation = latest_attestation(split)
    if attestation is None:
        return None
    return attestation_to_dict(attestation, violations=violations, limit=limit)


def split_attestations(split: Split) -> list[dict]:
    """Every attestation of the split, newest first, without violations."""
    return [
        attestation_to_dict(a, violations=False)
        for a in SplitAttestation.objects.filter(split=split).order_by("-created_at", "-id")
    ]
