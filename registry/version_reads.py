"""What a page of versions shows besides the versions: their splits with parts, and the edges into them.

Two kept statements (:class:`registry.db.statements.Statement`) for any number of versions, in place
of three prefetches (splits, their parts, derivations) that cost about 0.35 ms of Python each on
every version list and detail (benchmarks/README.md, API load): 0.08 ms each. The orders are the
prefetches': splits and parts by name, edges by creation (``Derivation.Meta.ordering``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from .db.statements import Statement
from .models import Derivation, Split


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
