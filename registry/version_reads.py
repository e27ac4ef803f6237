"""What pages of versions and models show besides them: splits with parts, derivation edges, training sets.

Kept statements (:class:`registry.db.statements.Statement`) for any number of versions, in place of
prefetches and querysets that cost about 0.35 ms of Python each on every version list, detail and
lineage (benchmarks/README.md, API load): 0.08 ms each. The orders are the ORM's: splits and parts
by name, edges by creation (``Derivation.Meta.ordering``), models by name and version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import Q

from .db.statements import Statement
from .models import Derivation, ModelTraining, ModelVersion, Split, SplitPart


@dataclass(frozen=True)
class PartRow:
    name: str
    uuid: UUID
    role: str
    record_count: int


@dataclass(frozen=True)
class SplitRow:
    name: str
    uuid: UUID
    shared_ids_allowed: bool
    parts: list[PartRow] = field(default_factory=list)


@dataclass(frozen=True)
class EdgeRow:
    """A derivation into a version: the source's dataset name and version, and the edge's fields."""

    source_name: str
    source_version: str
    transform: str
    created_at: object

    @property
    def source_ref(self) -> str:
        return f"{self.source_name}@{self.source_version}"


@dataclass(frozen=True)
class WalkedEdge:
    """A derivation edge met on a walk: both ends' ids and refs, and the edge's fields."""

    source_id: int
    target_id: int
    source_ref: str
    target_ref: str
    transform: str
    created_at: object


_SPLITS = Statement(
    lambda version_ids: (
        Split.objects.filter(version_id__in=version_ids)
        .order_by("version_id", "name", "parts__name")
        .values_list(
            "version_id",
            "id",
            "name",
            "uuid",
            "shared_ids_allowed",
            "parts__name",
            "parts__uuid",
            "parts__role",
            "parts__record_count",
        )
    )
)

_EDGES_INTO = Statement(
    lambda version_ids: (
        Derivation.objects.filter(target_id__in=version_ids)
        .order_by("created_at", "id")
        .values_list("target_id", "source__dataset__name", "source__version", "transform", "created_at")
    )
)


_EDGES_AROUND = Statement(
    lambda up, down: (
        Derivation.objects.filter(Q(target_id__in=up) | Q(source_id__in=down))
        .order_by("created_at", "id")
        .values_list(
            "source_id",
            "target_id",
            "source__dataset__name",
            "source__version",
            "target__dataset__name",
            "target__version",
            "transform",
            "created_at",
        )
    )
)

_TRAINED_ON_VERSION = Statement(
    lambda version_id: (
        ModelVersion.objects.filter(trained_on__version_id=version_id)
        .order_by("model__name", "version")
        .distinct()
        .values_list("model__name", "version")
    )
)


def walk_both_ways(version_id: int, fetch) -> tuple[list, list]:
    """The derivation edges into a version and out of it, transitively, nearest first, walking both
    ways at once: ``fetch(up, down)`` gives the edges whose target is in ``up`` or whose source is in
    ``down`` (objects with ``source_id`` and ``target_id``), one call per level of the deeper side."""
    up, down = [], []
    up_frontier, down_frontier = [version_id], [version_id]
    up_seen, down_seen = {version_id}, {version_id}
    while up_frontier or down_frontier:
        batch = fetch(up_frontier, down_frontier)
        ups = [e for e in batch if e.target_id in up_frontier]
        downs = [e for e in batch if e.source_id in down_frontier]
        up_frontier = [e.source_id for e in ups if e.source_id not in up_seen]
        up_seen.update(up_frontier)
        down_frontier = [e.target_id for e in downs if e.target_id not in down_seen]
        down_seen.update(down_frontier)
        up.extend(ups)
        down.extend(downs)
    return up, down


def walk_derivations(version_id: int) -> tuple[list[WalkedEdge], list[WalkedEdge]]:
    """``selectors.version_derivations`` as rows, by a kept statement per level."""

    def fetch(up, down):
        return [
            WalkedEdge(source, target, f"{sn}@{sv}", f"{tn}@{tv}", transform, created)
            for source, target, sn, sv, tn, tv, transform, created in _EDGES_AROUND.run(up=up, down=down)
        ]

    return walk_both_ways(version_id, fetch)


_TRAINING_SETS_OF = Statement(
    lambda model_version_ids: ModelTraining.objects.filter(
        model_version_id__in=model_version_ids
    ).values_list(
        "model_version_id",
        "record_set__version__dataset__name",
        "record_set__version__version",
        "record_set__part__split__name",
        "record_set__part__name",
    )
)


def training_sets_of(model_version_ids: list[int]) -> dict[int, list[str]]:
    """The refs of what each model version was trained on (a version, or ``name@version/split:part``),
    sorted; model versions trained on nothing registered absent."""
    found: dict[int, list[str]] = {}
    for model_version_id, name, version, split, part in _TRAINING_SETS_OF.run(
        model_version_ids=list(model_version_ids)
    ):
        ref = f"{name}@{version}" if part is None else f"{name}@{version}/{split}:{part}"
        found.setdefault(model_version_id, []).append(ref)
    return {key: sorted(refs) for key, refs in found.items()}


def models_trained_on(version_id: int) -> list[str]:
    """Refs of the model versions trained on the version or on a part of it, by model name and version."""
    return [f"{name}@{version}" for name, version in _TRAINED_ON_VERSION.run(version_id=version_id)]


_PARTS_OF = Statement(
    lambda split_ids: (
        SplitPart.objects.filter(split_id__in=split_ids)
        .order_by("split_id", "name")
        .values_list("split_id", "name", "uuid", "role", "record_count")
    )
)


def parts_of(split_ids: list[int]) -> dict[int, list[PartRow]]:
    """Each split's parts, by name; splits without parts absent."""
    found: dict[int, list[PartRow]] = {}
    for split_id, name, uuid, role, count in _PARTS_OF.run(split_ids=list(split_ids)):
        found.setdefault(split_id, []).append(PartRow(name=name, uuid=uuid, role=role, record_count=count))
    return found


def splits_of(version_ids: list[int]) -> dict[int, list[SplitRow]]:
    """Each version's splits (by name), each with its parts (by name); versions without splits absent."""
    found: dict[int, list[SplitRow]] = {}
    current = None
    for version_id, split_id, name, uuid, shared, part, part_uuid, role, count in _SPLITS.run(
        version_ids=list(version_ids)
    ):
        if current is None or current[0] != split_id:
            row = SplitRow(name=name, uuid=uuid, shared_ids_allowed=shared)
            found.setdefault(version_id, []).append(row)
            current = (split_id, row)
        if part is not None:  # a LEFT JOIN: a split without parts has one row of nulls
            current[1].parts.append(PartRow(name=part, uuid=part_uuid, role=role, record_count=count))
    return found


def edges_into(version_ids: list[int]) -> dict[int, list[EdgeRow]]:
    """Each version's derivation edges in (by creation); versions without any absent."""
    found: dict[int, list[EdgeRow]] = {}
    for target_id, name, version, transform, created_at in _EDGES_INTO.run(version_ids=list(version_ids)):
        found.setdefault(target_id, []).append(EdgeRow(name, version, transform, created_at))
    return found
