"""Generating a split whose parts share no similar pair, then verifying it.

The records' similarity graph comes from the project's own tiers (:mod:`dedup.splitting`: exact,
MinHash + alignment, MMseqs2 all-against-all); whole connected components go to parts by a
deterministic bin-packing for the seed; the split is registered like any other, with how it was
made as its provenance and the threshold as its claim; then :func:`split_verify` searches every
pair of parts and stores the attestation, so the claim is checked by search, not assumed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.db import transaction

import dedup
from dedup import splitting

from .. import selectors
from ..errors import Conflict, Forbidden, InputRejected, RegistryError, refuse_without_residues
from ..mmseqs import deployment_mmseqs
from ..models import Job, Record, RecordSet, Split, SplitAttestation, SplitPart
from ..models.names import validate_name
from ..overlap.selectors import training_sets
from .attestations import (
    PartRecords,
    attestation_store,
    check_fraction,
    check_tiers,
    default_tiers,
    parts_compare,
    split_verify,
)
from .ingest import _check_field, dataset_can_write
from .jobs import ProgressReporter, job_create, job_handler
from .splits import _listing, part_role, split_create

ALL_TRAINING = "all-training"
# Below this identity k-mers see few pairs (calibration: exact+minhash recall 0.84 at >= 50%,
# 0.53 at >= 30%), so the graph needs MMseqs2.
KMER_FLOOR = 0.7


def parse_fractions(text: str | dict) -> dict[str, float]:
    try:
        if isinstance(text, dict):
            fractions = splitting.parse_fractions(",".join(f"{k}={v}" for k, v in text.items()))
        else:
            fractions = splitting.parse_fractions(text)
    except ValueError as exc:
        raise RegistryError(f"--fractions: {exc}.", fields={"fractions": [str(exc)]}) from None
    for name in fractions:
        _check_field(validate_name, name, "fractions")
    return fractions


def read_labels(path: str | Path, column: str, id_column: str = "id") -> dict[str, str]:
    """``{identifier: label}`` from a CSV/TSV (header row) or JSONL file with an id and a label column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such labels file.") from None
    except UnicodeDecodeError as exc:
        raise InputRejected(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    labels: dict[str, str] = {}
    if path.suffix.lower() in (".jsonl", ".ndjson") or text.lstrip().startswith("{"):
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputRejected(f"{path}, line {lineno}: not valid JSON ({exc.msg}).") from None
            if not isinstance(obj, dict) or id_column not in obj or column not in obj:
                raise InputRejected(
                    f"{path}, line {lineno}: needs the keys {id_column!r} and {column!r} "
                    "(--labels-id-column / --stratify-by)."
                )
            labels[str(obj[id_column])] = str(obj[column])
        return labels
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" or "\t" in text.split("\n", 1)[0] else "excel"
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    missing = [c for c in (id_column, column) if c not in (reader.fieldnames or [])]
    if missing:
        raise InputRejected(
            f"{path}, line 1: no column {' or '.join(repr(m) for m in missing)}; the header has "
            f"{', '.join(reader.fieldnames or []) or 'nothing'} (--labels-id-column / --stratify-by)."
        )
    for row in reader:
        labels[row[id_column]] = row[column]
    return labels


def _reference_sets(refs: list[str], version, kind: str) -> list[RecordSet]:
    if refs == [ALL_TRAINING]:
        return [rs for rs in training_sets(kind) if rs.version_id != version.pk]
    if ALL_TRAINING in refs:
        raise RegistryError(f"give either {ALL_TRAINING} or named record sets, not both.")
    sets = [selectors.record_set_get(ref) for ref in refs]
    for rs in sets:
        if rs.version.dataset.kind != kind:
            raise RegistryError(f"{rs.ref} holds {rs.version.dataset.kind} records, {version.ref} {kind}.")
    return sets


def _overlapping(records, sets, *, kind, identity, coverage, tiers, mmseqs_settings, say) -> dict[str, dict]:
    """Identifiers of the version's records with a hit in any of the sets: ``{identifier: best hit}``."""
    found: dict[str, dict] = {}
    query = [(ident, seq) for _rid, ident, seq in records]
    for n, rs in enumerate(sets):
        say(f"overlap with {rs.ref}", n, len(sets))
        reference = list(selectors.record_set_records(rs).values_list("identifier", "sequence__residues"))
        if not reference:
            continue
        result = dedup.find_overlap(
            query,
            reference,
            kind=kind,
            identity=identity,
            coverage=coverage,
            tiers=tiers,
            mmseqs_settings=mmseqs_settings,
        )
        for hit in result.hits:
            if hit.query not in found or hit.identity > found[hit.query]["identity"]:
                found[hit.query] = {"set": rs.ref, "reference": hit.reference, "identity": hit.identity}
    return found


def _size_notes(components, plan, fractions: dict[str, float], total: int) -> list[str]:
    """Say where a component larger than a part went (it can only go to a larger part, or to other)."""
    sizes = sorted(((len(m), c) for c, m in enumerate(components)), reverse=True)
    notes = []
    for size, c in sizes[:3]:
        smaller = [p for p, f in fractions.items() if size > f * total]
        if smaller:
            notes.append(
                f"a component of {size:,} records ({size / total:.1%}) is larger than part(s) "
                f"{', '.join(smaller)}; it went to {plan.parts[c]}"
            )
    return notes


def _plan(components, records, fractions, seed, tolerance, labels, overlapping, test_parts, oversize):
    forbidden = {
        c: set(test_parts)
        for c, members in enumerate(components)
        if any(records[i][1] in overlapping for i in members)
    }
    label_counts = None
    if labels is not None:
        label_counts = [Counter(labels[records[i][1]] for i in members) for members in components]
    try:
        return splitting.assign_components(
            [len(m) for m in components],
            fractions,
            seed=seed,
            tolerance=tolerance,
            labels=label_counts,
            forbidden=forbidden,
            oversize=oversize,
        )
    except splitting.SplitImpossible as exc:
        raise RegistryError(
            f"cannot split at this identity: {exc} (CLI: --identity, --tolerance, --oversize other; API: "
            "identity, tolerance, oversize).",
            code="split_impossible",
            fields=exc.details,
        ) from None


def split_make_check(*, version_ref: str, name: str, fractions, user=None):
    """The checks that need no computation: name, permission, unused name, fractions."""
    _check_field(validate_name, name, "name")
    version = selectors.version_get(version_ref)
    refuse_without_residues(version, "generating a split")
    if not dataset_can_write(user, version.dataset):
        raise Forbidden(f"only the owner of {version.dataset.name!r} or its group may add splits.")
    if Split.objects.filter(version=version, name=name).exists():
        raise Conflict(
            f"{version.ref} already has a split named {name!r}; splits are immutable: use a new name."
        )
    return version, parse_fractions(fractions)


def split_make(
    *,
    version_ref: str,
    name: str,
    fractions: str | dict,
    identity: float = 0.3,
    coverage: float = 0.5,
    seed: int = 0,
    tolerance: float = 0.02,
    tiers=None,
    oversize: str = "fail",
    labels: dict[str, str] | None = None,
    stratify_by: str | None = None,
    exclude_overlap_with: list[str] | None = None,
    mmseqs_settings: dedup.MmseqsSettings | None = None,
    graph_sensitivity: float | None = None,
    max_rounds: int = 3,
    user=None,
    job: Job | None = None,
    on_progress: Callable[..., None] | None = None,
) -> tuple[Split, SplitAttestation]:
    """Generate a split at ``identity``/``coverage``, verify it, register it with its attestation.

    ``mmseqs_settings`` is how MMseqs2 verifies; ``graph_sensitivity`` (default: the same) may make
    the all-against-all search of the graph cheaper: what it misses, the verification finds, and the
    components of those pairs are joined and the plan made again (up to ``max_rounds`` times).
    """
    version, fractions = split_make_check(version_ref=version_ref, name=name, fractions=fractions, user=user)
    kind = version.dataset.kind
    identity = check_fraction("identity", identity, zero_ok=False)
    coverage = check_fraction("coverage", coverage, zero_ok=True)
    if not 0 <= tolerance < 0.5:
        raise RegistryError(f"tolerance must be a fraction from 0 to 0.5, got {tolerance}.")
    if oversize not in splitting.OVERSIZE_CHOICES:
        raise RegistryError(
            f"oversize must be one of {', '.join(splitting.OVERSIZE_CHOICES)}, got {oversize!r}."
        )
    if tiers is None:
        tiers = default_tiers(kind)
        if "mmseqs" not in tiers and identity < KMER_FLOOR:
            raise RegistryError(
                f"at {identity:.0%} identity k-mers miss most similar pairs, so the graph needs MMseqs2, which "
                f"is not installed here ({dedup.mmseqs_unavailable_reason()}). Install the Debian package "
                "mmseqs2, or pass --tiers exact,minhash to accept a graph that misses such pairs."
            )
    tiers = check_tiers(tiers)
    test_parts = {p for p in fractions if part_role(p) == SplitPart.Role.TEST}
    if exclude_overlap_with and not test_parts:
        raise RegistryError(
            "--exclude-overlap-with keeps overlapping records out of the test part, but the fractions name "
            "no test part (a part named test, testing or holdout)."
        )
    say = on_progress or (lambda *_a, **_k: None)
    records = list(
        Record.objects.filter(version=version)
        .order_by("position")
        .values_list("id", "identifier", "sequence__residues")
    )
    if labels is not None:
        unlabelled = [ident for _rid, ident, _s in records if ident not in labels]
        if unlabelled:
            raise InputRejected(
                f"{len(unlabelled)} record(s) of {version.ref} have no label in the labels file: "
                f"{_listing(unlabelled)}.",
                fields={"unlabelled": unlabelled[:20]},
            )
    reference_sets = _reference_sets(exclude_overlap_with, version, kind) if exclude_overlap_with else []

    verify_settings = mmseqs_settings or deployment_mmseqs()
    graph_settings = (
        dataclasses.replace(verify_settings, sensitivity=graph_sensitivity)
        if graph_sensitivity is not None
        else verify_settings
    )
    graph = splitting.similarity_components(
        [(ident, seq) for _rid, ident, seq in records],
        kind=kind,
        identity=identity,
        coverage=coverage,
        tiers=tiers,
        mmseqs_settings=graph_settings,
        progress=say,
    )
    overlapping = {}
    if reference_sets:
        overlapping = _overlapping(
            records,
            reference_sets,
            kind=kind,
            identity=identity,
            coverage=coverage,
            tiers=tiers,
            mmseqs_settings=verify_settings,
            say=say,
        )
    # Components joined by any pair a verification finds across parts; the plan is made again until the
    # verification (at full sensitivity) finds none, or the rounds run out (then it reports them).
    joined = splitting.UnionFind(len(records))
    first_of: dict[int, int] = {}
    for i, label in enumerate(graph.labels):
        joined.union(first_of.setdefault(label, i), i)
    index_of = {rid: i for i, (rid, _ident, _seq) in enumerate(records)}
    rounds = []
    verify_started = time.perf_counter()
    for round_number in range(1, max_rounds + 1):
        groups: dict[int, list[int]] = {}
        for i in range(len(records)):
            groups.setdefault(joined.find(i), []).append(i)
        components = list(groups.values())
        plan = _plan(
            components, records, fractions, seed, tolerance, labels, overlapping, test_parts, oversize
        )
        plan_parts = {}
        for c, members in enumerate(components):
            plan_parts.setdefault(plan.parts[c], []).extend(records[i] for i in members)
        comparison = parts_compare(
            [PartRecords(name, part_role(name), recs) for name, recs in plan_parts.items()],
            kind=kind,
            identity=identity,
            coverage=coverage,
            tiers=tiers,
            mmseqs_settings=verify_settings,
            say=say,
        )
        rounds.append(
            {"round": round_number, "components": len(components), "violations": len(comparison.violations)}
        )
        if not comparison.violations or round_number == max_rounds:
            break
        for v in comparison.violations:
            joined.union(index_of[v["record_id"]], index_of[v["reference_id"]])

    notes = _size_notes(components, plan, fractions, len(records))
    mapping: dict[str, list[str]] = {p: [] for p in fractions}
    for c, members in enumerate(components):
        mapping.setdefault(plan.parts[c], []).extend(records[i][1] for i in members)
    provenance = {
        "method": "leakledger make_split: connected components of the similarity graph, whole components "
        "bin-packed into parts (largest first, into the part furthest below its target)",
        "version_digest": version.digest,
        "identity": identity,
        "coverage": coverage,
        "tiers": list(tiers),
        "seed": seed,
        "fractions": fractions,
        "oversize": oversize,
        "graph": graph.method(),
        "plan": plan.to_dict(),
        "graph_sensitivity": graph_settings.sensitivity if "mmseqs" in tiers else None,
        "verify_sensitivity": verify_settings.sensitivity if "mmseqs" in tiers else None,
        "rounds": rounds,
        "notes": notes,
        "stratify_by": stratify_by if labels is not None else None,
        "exclude_overlap_with": [rs.ref for rs in reference_sets],
        "excluded_from_test": len(overlapping),
        "versions": {"dedup": dedup.__version__, "mmseqs": graph.tiers.get("mmseqs", {}).get("version")},
        "job": str(job.uuid) if job is not None else None,
    }
    with transaction.atomic():
        if Split.objects.filter(version=version, name=name).exists():
            raise Conflict(f"{version.ref} already has a split named {name!r}.")
        split = split_create(
            version=version,
            name=name,
            mapping={p: ids for p, ids in mapping.items() if ids},
            record_ids={ident: rid for rid, ident, _s in records},
            claimed_max_identity=identity,
            claimed_coverage=coverage,
            provenance=provenance,
            user=user,
        )
    attestation = attestation_store(
        split=split, comparison=comparison, job=job, seconds=time.perf_counter() - verify_started
    )
    return split, attestation


def split_make_enqueue(*, version_ref: str, name: str, options: dict, user=None) -> Job:
    """Check what can be checked at once, then enqueue the generation as a job."""
    version, fractions = split_make_check(
        version_ref=version_ref, name=name, fractions=options["fractions"], user=user
    )
    payload = {**options, "version": version.ref, "name": name, "fractions": fractions}
    payload["user_id"] = user.pk if user is not None and user.is_authenticated else None
    with transaction.atomic():
        return job_create(kind=Job.Kind.SPLIT_MAKE, payload=payload, user=user)


@job_handler(Job.Kind.SPLIT_MAKE)
def split_make_job(job: Job) -> dict:
    from ..split_selectors import attestation_to_dict

    options = dict(job.payload)
    # A redelivered job finds its split (the provenance names the job) and only verifies what is left.
    split = Split.objects.filter(provenance__job=str(job.uuid)).first()
    if split is None:
        user = job.created_by
        split, attestation = split_make(
            version_ref=options.pop("version"),
            name=options.pop("name"),
            fractions=options.pop("fractions"),
            identity=options.get("identity", 0.3),
            coverage=options.get("coverage", 0.5),
            seed=options.get("seed", 0),
            tolerance=options.get("tolerance", 0.02),
            tiers=options.get("tiers"),
            oversize=options.get("oversize", "fail"),
            labels=options.get("labels"),
            stratify_by=options.get("stratify_by"),
            exclude_overlap_with=options.get("exclude_overlap_with"),
            graph_sensitivity=options.get("graph_sensitivity"),
            user=user,
            job=job,
            on_progress=ProgressReporter(job),
        )
    else:
        attestation = SplitAttestation.objects.filter(job=job).first() or split_verify(
            split=split,
            identity=split.claimed_max_identity,
            coverage=split.claimed_coverage,
            tiers=split.provenance.get("tiers"),
            job=job,
        )
    parts = {p.name: p.record_count for p in split.parts.all()}
    return {
        "split": str(split),
        "split_uuid": str(split.uuid),
        "parts": parts,
        "attestation": attestation_to_dict(attestation, violations=False),
    }


__all__ = ["ALL_TRAINING", "read_labels", "split_make", "split_make_enqueue"]
