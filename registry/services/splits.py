"""Registering a split of a dataset version into named parts, from a mapping file or header keys."""

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

from django.db import transaction

from .. import selectors
from ..errors import Conflict, Forbidden, InputRejected, RegistryError
from ..models import Record, RecordSet, Split, SplitMembership, SplitPart
from ..models.names import validate_name
from ..suggest import did_you_mean
from .hooks import record_set_created
from .ingest import _check_field, dataset_can_write

_ROLE_BY_NAME = {
    "train": "train",
    "training": "train",
    "valid": "validation",
    "validation": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
    "holdout": "test",
}
MAX_LISTED = 20


def part_role(name: str, overrides: dict[str, str] | None = None) -> str:
    """The role of a part: an explicit override, else guessed from its name, else ``other``.

    >>> part_role("train"), part_role("Validation"), part_role("fold3")
    ('train', 'validation', 'other')
    """
    if overrides and name.lower() in {k.lower() for k in overrides}:
        return {k.lower(): v for k, v in overrides.items()}[name.lower()]
    return _ROLE_BY_NAME.get(name.lower(), "other")


def _listing(items, total: int | None = None) -> str:
    items = sorted(items)
    total = len(items) if total is None else total
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" … and {total - MAX_LISTED} more" if total > MAX_LISTED else "")


def normalise_part_names(mapping: dict[str, list[str]]) -> dict[str, list[str]]:
    """Part names that differ only in case or surrounding space are one part (``Train`` == ``train``),
    named in lower case; other names are kept as given.

    >>> normalise_part_names({"Train": ["a"], "train": ["b"], " Test ": ["c"], "True": ["d"]})
    {'train': ['a', 'b'], 'Test': ['c'], 'True': ['d']}
    """
    groups: dict[str, list[str]] = {}
    for name in mapping:
        groups.setdefault(name.strip().lower(), []).append(name)
    merged: dict[str, list[str]] = {}
    for key, names in groups.items():
        target = key if len(names) > 1 else names[0].strip()
        for name in names:
            merged.setdefault(target, []).extend(mapping[name])
    return merged


def read_mapping(path: Path) -> dict[str, list[str]]:
    """Read ``{"part": [ids...]}`` (JSON, as CATH and FLIP publish) or ``id<TAB>part`` lines (TSV)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file.") from None
    except UnicodeDecodeError as exc:
        raise InputRejected(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    if not text.strip():
        raise InputRejected(f"{path}: the mapping file is empty.")
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputRejected(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}).") from None
        except RecursionError:
            raise InputRejected(
                f'{path}: JSON nested too deeply; a mapping is {{"part": [ids...]}}.'
            ) from None
        parts = {}
        for name, ids in data.items():
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise InputRejected(f"{path}: part {name!r} must map to a list of identifier strings.")
            parts[name] = ids
        return parts
    parts: dict[str, list[str]] = defaultdict(list)
    for lineno, row in enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if len(row) != 2:
            raise InputRejected(
                f"{path}, line {lineno}: expected 'id<TAB>part', found {len(row)} column(s): {row!r}."
            )
        if lineno == 1 and [c.lower() for c in row] == ["id", "part"]:
            continue  # header
        parts[row[1].strip()].append(row[0].strip())
    return dict(parts)


def _mapping_from_header(version, key: str) -> dict[str, list[str]]:
    pattern = re.compile(rf"(?:^|\s){re.escape(key)}=(\S+)")
    parts: dict[str, list[str]] = defaultdict(list)
    missing = []
    for identifier, description in Record.objects.filter(version=version).values_list(
        "identifier", "description"
    ):
        match = pattern.search(description)
        if match is None:
            missing.append(identifier)
        else:
            parts[match.group(1)].append(identifier)
    if missing:
        raise InputRejected(
            f"{len(missing)} record(s) of {version.ref} have no {key}=... in their header: {_listing(missing)}.",
            fields={"from_header": [key]},
        )
    return dict(parts)


def _check_claim(identity: float | None, coverage: float | None) -> None:
    if identity is not None and not 0 < identity <= 1:
        raise RegistryError(
            f"claimed max identity must be a fraction above 0 and at most 1 (e.g. 0.3), got {identity}.",
            fields={"claims_max_identity": ["not a fraction"]},
        )
    if coverage is not None and identity is None:
        raise RegistryError(
            "a claimed coverage needs a claimed max identity (--claims-max-identity).",
            fields={"claims_coverage": ["needs claims_max_identity"]},
        )
    if coverage is not None and not 0 <= coverage <= 1:
        raise RegistryError(
            f"claimed coverage must be a fraction from 0 to 1, got {coverage}.",
            fields={"claims_coverage": ["not a fraction"]},
        )


def split_register(
    *,
    version_ref: str,
    name: str,
    mapping_path: str | Path | None = None,
    from_header: str | None = None,
    roles: dict[str, str] | None = None,
    allow_shared_ids: bool = False,
    claimed_max_identity: float | None = None,
    claimed_coverage: float | None = None,
    user=None,
) -> Split:
    """Partition a version into named parts; every id must exist in the version.

    An id listed in two parts is an error that lists the ids, unless ``allow_shared_ids``.
    ``claimed_max_identity`` (with ``claimed_coverage``) registers the guarantee the split claims:
    no two records in different parts at or above that identity; ``verify_split`` tests it.
    """
    _check_field(validate_name, name, "name")
    _check_claim(claimed_max_identity, claimed_coverage)
    if (mapping_path is None) == (from_header is None):
        raise RegistryError(
            "give exactly one of a mapping file or a header key (--mapping or --from-header)."
        )
    version = selectors.version_get(version_ref)
    if not dataset_can_write(user, version.dataset):
        raise Forbidden(f"only the owner of {version.dataset.name!r} or its group may add splits.")
    for role in (roles or {}).values():
        if role not in SplitPart.Role.values:
            raise RegistryError(f"role {role!r} is not one of {', '.join(SplitPart.Role.values)}.")
    if Split.objects.filter(version=version, name=name).exists():
        raise Conflict(
            f"{version.ref} already has a split named {name!r}; splits are immutable: use a new name."
        )

    mapping = (
        read_mapping(Path(mapping_path))
        if mapping_path is not None
        else _mapping_from_header(version, from_header)
    )
    if not mapping:
        raise InputRejected("the mapping defines no parts.")
    mapping = normalise_part_names(mapping)
    for part_name in mapping:
        _check_field(validate_name, part_name, "part")

    record_ids = dict(Record.objects.filter(version=version).values_list("identifier", "id"))
    unknown = {i for ids in mapping.values() for i in ids if i not in record_ids}
    if unknown:
        raise InputRejected(
            f"{len(unknown)} id(s) in the mapping are not records of {version.ref}: {_listing(unknown)}."
            + "".join(did_you_mean(i, record_ids) for i in sorted(unknown)[:3]),
            fields={"unknown_ids": sorted(unknown)[:MAX_LISTED]},
        )
    owners: dict[str, set[str]] = defaultdict(set)
    for part_name, ids in mapping.items():
        for identifier in ids:
            owners[identifier].add(part_name)
    shared = sorted(i for i, parts in owners.items() if len(parts) > 1)
    if shared and not allow_shared_ids:
        raise InputRejected(
            f"{len(shared)} id(s) are in more than one part: {_listing(shared)}. A record in two parts leaks "
            "between them; fix the mapping, or pass --allow-shared-ids to register it as published.",
            fields={"shared_ids": shared},
        )

    return split_create(
        version=version,
        name=name,
        mapping=mapping,
        record_ids=record_ids,
        roles=roles,
        allow_shared_ids=allow_shared_ids,
        claimed_max_identity=claimed_max_identity,
        claimed_coverage=claimed_coverage,
        user=user,
    )


def split_create(
    *,
    version,
    name: str,
    mapping: dict[str, list[str]],
    record_ids: dict[str, int],
    roles: dict[str, str] | None = None,
    allow_shared_ids: bool = False,
    claimed_max_identity: float | None = None,
    claimed_coverage: float | None = None,
    provenance: dict | None = None,
    user=None,
) -> Split:
    """Write a checked mapping as a split, its parts, memberships and record sets, in one transaction."""
    with transaction.atomic():
        split = Split.objects.create(
            version=version,
            name=name,
            shared_ids_allowed=allow_shared_ids,
            claimed_max_identity=claimed_max_identity,
            claimed_coverage=claimed_coverage,
            provenance=provenance or {},
            created_by=(user if user is not None and user.is_authenticated else None),
        )
        position_of = dict(Record.objects.filter(version=version).values_list("id", "position"))
        for part_name, ids in mapping.items():
            unique_ids = list(dict.fromkeys(ids))
            part = SplitPart.objects.create(
                split=split, name=part_name, role=part_role(part_name, roles), record_count=len(unique_ids)
            )
            members = [record_ids[i] for i in unique_ids]
            SplitMembership.objects.bulk_create(
                [SplitMembership(part=part, record_id=r, position=position_of[r]) for r in members],
                batch_size=5000,
            )
            record_set_created(RecordSet.objects.create(version=version, part=part))
    return split
