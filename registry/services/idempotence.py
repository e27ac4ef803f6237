"""Registering what is already registered: say so, record it, and apply what is new.

- The same content under the same dataset returns the existing version. A ``--role`` it did not have
  is applied as a new fact (the role is not content: the digest stays); a role that contradicts the
  one it has is refused, with what to do instead.
- The same content under another dataset name is a new version (names are the user's), but it says
  "identical to X@V" and records a derivation edge from X@V, so lineage shows the two are one.
"""

from ..errors import Conflict
from ..models import DatasetVersion, Derivation, RecordSet, VersionRole
from .hooks import record_set_created
from .warnings import Notice

IDENTICAL = "identical content (same digest), registered under another name"


def identical_again(existing: DatasetVersion, *, role: str) -> list[Notice]:
    """Notices for a re-registration of ``existing``; applies a new ``role`` or refuses a contrary one."""
    if not role or role == existing.role:
        return [
            Notice(
                "already_registered",
                f"identical content is already registered as {existing.ref}; nothing was written",
            )
        ]
    if existing.role:
        label = VersionRole(existing.role).label
        raise Conflict(
            f"{existing.ref} is already registered as a {label} with identical content; a version's role does "
            f"not change. To use the same sequences as --role {role}, register the file under another "
            f"dataset name with --role {role} (it will say which version it is identical to).",
            fields={"role": [f"is {existing.role}"]},
        )
    DatasetVersion.objects.filter(pk=existing.pk, role="").update(role=role)
    existing.role = role
    record_set_created(RecordSet.objects.get(version=existing, part__isnull=True))  # its standing checks
    return [
        Notice(
            "role_applied",
            f"identical content is already registered as {existing.ref}; role {role} applied to it (a new fact: "
            "its records and digest are unchanged), and its standing overlap checks queued",
        )
    ]


def identical_elsewhere(digest: str, dataset_name: str) -> list[DatasetVersion]:
    """Versions of other datasets with exactly this content."""
    return list(
        DatasetVersion.objects.select_related("dataset")
        .filter(digest=digest)
        .exclude(dataset__name=dataset_name)
        .order_by("created_at", "id")
    )


def identical_record(new: DatasetVersion, twins: list[DatasetVersion], derived_from) -> list[Notice]:
    """Record that ``new`` is identical to the first of ``twins`` (inside the registering transaction)."""
    if not twins:
        return []
    first = twins[0]
    if derived_from is None or derived_from.pk != first.pk:
        Derivation.objects.create(source=first, target=new, transform=IDENTICAL)
    others = f" (and {', '.join(t.ref for t in twins[1:])})" if len(twins) > 1 else ""
    return [
        Notice(
            "identical_to_other_dataset",
            f"identical to {first.ref}{others}: same digest; recorded as a derivation {first.ref} -> {new.ref}",
        )
    ]
