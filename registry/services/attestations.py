"""Verifying a split: every pair of parts searched for cross-part overlap, stored as an attestation.

For each pair of parts, in role order (train, validation, test, other; by name within a role), the
later part is the query and the earlier part the reference of :func:`dedup.find_overlap` at the
attested identity and coverage; every record of the later part with a hit is a violation, kept
with its closest hit. Ids in several parts are a finding of their own. The attestation stores the
method, tool versions and calibration exactly as the overlap report gives them, and the split's
digest, so it attests exactly the split a reader has.
"""

from __future__ import annotations

import hashlib
import time
import uuid as uuid_module
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

import dedup

from .. import selectors
from ..errors import NotFound, RegistryError, refuse_without_residues
from ..mmseqs import deployment_mmseqs, mmseqs_available
from ..models import Job, Record, Split, SplitAttestation, SplitMembership, SplitPart, SplitViolation
from .jobs import ProgressReporter, job_create, job_handler

ROLE_ORDER = {"train": 0, "validation": 1, "test": 2, "other": 3}
DEFAULT_IDENTITY = 0.3
DEFAULT_COVERAGE = 0.5
_EPS = 1e-9


def default_tiers(kind: str) -> tuple[str, ...]:
    """Exact and MinHash always; MMseqs2 too for biological sequences when it is installed."""
    if kind != "text" and mmseqs_available():
        return ("exact", "minhash", "mmseqs")
    return ("exact", "minhash")


#: Tiers a split's graph and verification use (dedup.splitting has no containment tier).
SPLIT_TIERS = tuple(t for t in dedup.TIERS if t != "containment")


def check_tiers(tiers) -> tuple[str, ...]:
    tiers = tuple(dict.fromkeys(tiers))
    unknown = [t for t in tiers if t not in SPLIT_TIERS]
    if unknown or not tiers:
        raise RegistryError(
            f"tiers must be among {', '.join(SPLIT_TIERS)}; got {', '.join(tiers) or 'none'}.",
            fields={"tiers": [f"unknown: {', '.join(unknown)}" if unknown else "give at least one tier"]},
        )
    return tiers


def check_fraction(name: str, value: float, *, zero_ok: bool) -> float:
    low_ok = value >= 0 if zero_ok else value > 0
    if not (low_ok and value <= 1):
        raise RegistryError(
            f"{name} must be a fraction {'from 0' if zero_ok else 'above 0'} to 1 (e.g. 0.3 for 30%), got {value}.",
            fields={name: ["not a fraction"]},
        )
    return float(value)


def split_get(ref: str) -> Split:
    """A split by ``name@version/split`` or by its UUID."""
    text = ref.strip()
    query = Split.objects.select_related("version__dataset")
    if "@" not in text:
        try:
            return query.get(uuid=uuid_module.UUID(text))
        except (Split.DoesNotExist, ValueError):
            raise NotFound(f"No split {text!r}: give name@version/split or the split's UUID.") from None
    version_ref, sep, name = text.rpartition("/")
    if not sep or not name or ":" in name:
        raise RegistryError(
            f"{text!r} is not a split reference: expected name@version/split (e.g. flip-bind@1/one_vs_many).",
            code="invalid_reference",
        )
    version = selectors.version_get(version_ref)
    try:
        return query.get(version=version, name=name)
    except Split.DoesNotExist:
        known = ", ".join(version.splits.order_by("name").values_list("name", flat=True)) or "none"
        raise NotFound(f"{version.ref} has no split {name!r}; its splits: {known}.") from None


def ordered_parts(split: Split) -> list[SplitPart]:
    """Parts in role order: train, validation, test, other (by name within a role)."""
    return sorted(split.parts.all(), key=lambda p: (ROLE_ORDER.get(p.role, 9), p.name))


def split_digest(split: Split) -> str:
    """sha256 of the split: the version's digest, then ``part<TAB>role<TAB>identifier`` lines, sorted.

    Any change of membership, part name or role changes it; record order does not.
    """
    h = hashlib.sha256()
    h.update(f"leakledger-split-v1\n{split.version.digest}\n".encode())
    rows = SplitMembership.objects.filter(part__split=split).values_list(
        "part__name", "part__role", "record__identifier"
    )
    for name, role, identifier in sorted(rows):
        h.update(f"{name}\t{role}\t{identifier}\n".encode())
    return h.hexdigest()


def _part_records(part: SplitPart) -> list[tuple[int, str, str]]:
    rows = (
        Record.objects.filter(splitmembership__part=part)
        .order_by("position")
        .values_list("id", "identifier", "sequence__residues")
    )
    return list(rows)


def _shared_ids(split: Split) -> list[dict]:
    shared = (
        SplitMembership.objects.filter(part__split=split)
        .values("record_id")
        .annotate(n=Count("part_id"))
        .filter(n__gt=1)
        .values_list("record_id", flat=True)
    )
    parts: dict[str, list[str]] = defaultdict(list)
    for identifier, part_name in SplitMembership.objects.filter(
        part__split=split, record_id__in=list(shared)
    ).values_list("record__identifier", "part__name"):
        parts[identifier].append(part_name)
    return [{"identifier": i, "parts": sorted(p)} for i, p in sorted(parts.items())]


def _calibration(result, combination: str) -> dict:
    """Where the claimed recall comes from (the method's own calibration, or "not measured"), and the
    recall the pipeline claims at each threshold for exactly the method that ran (None: not measured)."""
    out = dict(result.calibration)
    out["tiers"] = combination
    out["recall"] = {f"{row.threshold:.2f}": row.recall for row in result.summary}
    return out


def _claim(split: Split, identity: float, coverage: float, violations: list[dict], shared: list[dict]):
    claim = split.claimed_max_identity
    if claim is None:
        return None, ""
    claim_cov = split.claimed_coverage if split.claimed_coverage is not None else coverage
    stated = f"no cross-part pair at >= {claim:.0%} identity and >= {claim_cov:.0%} coverage"
    if identity > claim + _EPS or coverage > claim_cov + _EPS:
        return None, (
            f"claim ({stated}) not tested: this verification looked at >= {identity:.0%} identity and "
            f">= {coverage:.0%} coverage; verify at or below both to test it"
        )
    broken = [v for v in violations if v["identity"] + _EPS >= claim and v["coverage"] + _EPS >= claim_cov]
    if not broken and not shared:
        return True, f"claim holds: {stated} found"
    worst = max((v["identity"] for v in broken), default=1.0)
    what = [f"{len(broken):,} violating pair(s), up to {worst:.0%} identity"] if broken else []
    if shared:
        what.append(f"{len(shared):,} id(s) in several parts")
    return False, f"claim ({stated}) does not hold: {'; '.join(what)}"


@dataclass
class PartRecords:
    """A part to compare: its name, role and records ``(record id, identifier, residues)``."""

    name: str
    role: str
    records: list[tuple[int, str, str]]


@dataclass
class Comparison:
    """What :func:`parts_compare` found: per pair of parts, and every violation, not yet stored."""

    identity: float
    coverage: float
    tiers: tuple[str, ...]
    pairs: list[dict]
    violations: list[dict]
    method: dict
    versions: dict
    calibration: dict


def parts_compare(
    parts: list[PartRecords],
    *,
    kind: str,
    identity: float,
    coverage: float,
    tiers: tuple[str, ...],
    mmseqs_settings: dedup.MmseqsSettings | None = None,
    say: Callable[..., None] = lambda *_a, **_k: None,
) -> Comparison:
    """Every pair of parts in role order: the later part against the earlier with :func:`dedup.find_overlap`."""
    parts = sorted(parts, key=lambda p: (ROLE_ORDER.get(p.role, 9), p.name))
    pair_reports, violations, method, calibration, versions = [], [], {}, {}, {}
    pairs = [(a, b) for i, a in enumerate(parts) for b in parts[i + 1 :]]
    for n, (earlier, later) in enumerate(pairs):
        say(f"{later.name} vs {earlier.name}", n, len(pairs))
        ids_later = {ident: rid for rid, ident, _s in later.records}
        ids_earlier = {ident: rid for rid, ident, _s in earlier.records}
        result = dedup.find_overlap(
            [(ident, seq) for _rid, ident, seq in later.records],
            [(ident, seq) for _rid, ident, seq in earlier.records],
            kind=kind,
            identity=identity,
            coverage=coverage,
            tiers=tiers,
            mmseqs_settings=mmseqs_settings,
        )
        full = result.method_description()
        method = method or {k: v for k, v in full.items() if k not in ("tiers", "tiers_run")} | {
            "tiers": {
                name: {"name": name, **{k: t.get(k) for k in ("ran", "reason", "settings", "version")}}
                for name, t in full["tiers_run"].items()
            }
        }
        versions = versions or dict(result.versions)
        ran = "+".join(name for name, t in result.tiers.items() if t.ran)
        calibration = calibration or _calibration(result, ran)
        pair_violations = [
            {
                "earlier": earlier.name,
                "later": later.name,
                "record": hit.query,
                "record_id": ids_later[hit.query],
                "reference": hit.reference,
                "reference_id": ids_earlier[hit.reference],
                "identity": hit.identity,
                "coverage": hit.query_coverage,
                "reference_coverage": hit.reference_coverage,
                "tier": hit.tier,
            }
            for hit in result.hits
        ]
        violations.extend(pair_violations)
        pair_reports.append(
            {
                "earlier": earlier.name,
                "later": later.name,
                "earlier_role": earlier.role,
                "later_role": later.role,
                "earlier_records": len(earlier.records),
                "later_records": len(later.records),
                "thresholds": [row.to_dict() for row in result.summary],
                "violating_records": len(pair_violations),
                "max_identity": max((v["identity"] for v in pair_violations), default=None),
                "tiers": {
                    name: {"ran": t.ran, "reason": t.reason, "seconds": round(t.seconds, 3), "hits": t.hits}
                    for name, t in result.tiers.items()
                },
            }
        )
    return Comparison(identity, coverage, tiers, pair_reports, violations, method, versions, calibration)


def verify_options(split: Split, identity, coverage, tiers) -> tuple[float, float, tuple[str, ...]]:
    """Defaults: the split's claimed identity and coverage when it has a claim, else 30% and 50%."""
    refuse_without_residues(split.version, "verifying a split")
    if identity is None:
        identity = split.claimed_max_identity if split.claimed_max_identity is not None else DEFAULT_IDENTITY
    if coverage is None:
        coverage = split.claimed_coverage if split.claimed_coverage is not None else DEFAULT_COVERAGE
    identity = check_fraction("identity", identity, zero_ok=False)
    coverage = check_fraction("coverage", coverage, zero_ok=True)
    return identity, coverage, check_tiers(tiers or default_tiers(split.version.dataset.kind))


def attestation_store(
    *, split: Split, comparison: Comparison, job: Job | None = None, seconds: float = 0.0
) -> SplitAttestation:
    """Store a comparison of the split's parts as its attestation, with its violations, in one transaction."""
    shared = _shared_ids(split)
    holds, note = _claim(split, comparison.identity, comparison.coverage, comparison.violations, shared)
    part_ids = dict(split.parts.values_list("name", "id"))
    violations = comparison.violations
    with transaction.atomic():
        attestation = SplitAttestation.objects.create(
            split=split,
            job=job,
            split_digest=split_digest(split),
            identity=comparison.identity,
            coverage=comparison.coverage,
            tiers=list(comparison.tiers),
            method=comparison.method,
            versions=comparison.versions,
            calibration=comparison.calibration,
            pairs=comparison.pairs,
            shared_ids=shared,
            max_identity=max((v["identity"] for v in violations), default=None),
            violation_count=len(violations),
            claim_holds=holds,
            claim_note=note,
            seconds=round(seconds, 3),
        )
        SplitViolation.objects.bulk_create(
            [
                SplitViolation(
                    attestation=attestation,
                    earlier_part_id=part_ids[v["earlier"]],
                    later_part_id=part_ids[v["later"]],
                    record_id=v["record_id"],
                    reference_id=v["reference_id"],
                    identity=v["identity"],
                    coverage=v["coverage"],
                    reference_coverage=v["reference_coverage"],
                    tier=v["tier"],
                )
                for v in violations
            ],
            batch_size=5000,
        )
    return attestation


def split_verify(
    *,
    split: Split,
    identity: float | None = None,
    coverage: float | None = None,
    tiers=None,
    mmseqs_settings: dedup.MmseqsSettings | None = None,
    job: Job | None = None,
    on_progress: Callable[..., None] | None = None,
) -> SplitAttestation:
    """Search every pair of the split's parts for overlap and store the attestation.

    Defaults: the split's claimed identity and coverage when it has a claim, else 30% and 50%;
    tiers from :func:`default_tiers`.
    """
    started = time.perf_counter()
    identity, coverage, tiers = verify_options(split, identity, coverage, tiers)
    parts = [PartRecords(p.name, p.role, _part_records(p)) for p in ordered_parts(split)]
    if len(parts) < 2:
        raise RegistryError(f"{split} has {len(parts)} part(s); a verification compares parts pairwise.")
    comparison = parts_compare(
        parts,
        kind=split.version.dataset.kind,
        identity=identity,
        coverage=coverage,
        tiers=tiers,
        mmseqs_settings=mmseqs_settings or deployment_mmseqs(),
        say=on_progress or (lambda *_a, **_k: None),
    )
    return attestation_store(
        split=split, comparison=comparison, job=job, seconds=time.perf_counter() - started
    )


def split_verify_enqueue(
    *, split: Split, identity: float | None, coverage: float | None, tiers=None, user=None
) -> Job:
    """Check the options now (a bad value is a 400, not a failed job), then enqueue the verification."""
    if identity is not None:
        check_fraction("identity", identity, zero_ok=False)
    if coverage is not None:
        check_fraction("coverage", coverage, zero_ok=True)
    if tiers is not None:
        tiers = list(check_tiers(tiers))
    payload = {"split": str(split.uuid), "identity": identity, "coverage": coverage, "tiers": tiers}
    with transaction.atomic():
        return job_create(kind=Job.Kind.SPLIT_VERIFY, payload=payload, user=user)


@job_handler(Job.Kind.SPLIT_VERIFY)
def split_verify_job(job: Job) -> dict:
    existing = SplitAttestation.objects.filter(job=job).first()  # a redelivered job does not verify twice
    if existing is None:
        options = job.payload
        try:
            split = Split.objects.select_related("version__dataset").get(uuid=options["split"])
        except Split.DoesNotExist:
            raise NotFound(f"No split {options['split']}.") from None
        existing = split_verify(
            split=split,
            identity=options.get("identity"),
            coverage=options.get("coverage"),
            tiers=options.get("tiers"),
            job=job,
            on_progress=ProgressReporter(job),
        )
    from ..split_selectors import attestation_to_dict

    return {"attestation": attestation_to_dict(existing, violations=False)}
