"""Registering a dataset version from a file: streaming validation first, then one atomic write.

Phase 1 streams the file through ``dedup.parsing`` (bounded memory), validating every record
and spooling the normalised records to a temporary file while computing the digest. Any error
rejects the whole file before the database is touched. Phase 2 writes sequences, records, the
version and its lineage in a single transaction, in batches: nothing is visible until all of it
is, and a failure leaves every table as it was.
"""

import logging
import marshal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dedup.errors import ParseError
from dedup.parsing import ParseLimits, iter_records, sequence_sha256

from .. import selectors
from ..errors import Conflict, Forbidden, InputRejected, RegistryError
from ..models import Dataset, DatasetVersion, Derivation, Kind, RecordSet, VersionRole
from ..models.names import validate_name, validate_version
from .bulk import write_records
from .digest import record_hash, version_digest
from .hooks import record_set_created
from .idempotence import identical_again, identical_elsewhere, identical_record
from .jobs import ProgressReporter, job_handler, run_with_upload
from .kinds import kind_check
from .warnings import Notice, messages


def parse_authors(items: list[str]) -> list[dict]:
    """``["Dallago, Christian", "FLIP consortium"]`` -> ``[{"family", "given"}, {"name"}]``, as cited.

    >>> parse_authors(["Dallago, Christian", "FLIP consortium"])
    [{'family': 'Dallago', 'given': 'Christian'}, {'name': 'FLIP consortium'}]
    """
    out = []
    for item in items:
        family, comma, given = (part.strip() for part in item.partition(","))
        if not family or (comma and not given):
            raise RegistryError(
                f"--author {item!r} is not 'Family, Given' (a person) or a name (an organisation).",
                fields={"authors": [item]},
            )
        out.append({"family": family, "given": given} if comma else {"name": family})
    return out


logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int | None], None]


@dataclass
class Registration:
    version: DatasetVersion
    created: bool
    skipped_duplicates: int = 0
    notices: list[Notice] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return messages(self.notices)

    def to_dict(self) -> dict:
        v = self.version
        return {
            "ref": v.ref,
            "uuid": str(v.uuid),
            "digest": v.digest,
            "records": v.record_count,
            "residues": v.residue_count,
            "created": self.created,
            "skipped_duplicates": self.skipped_duplicates,
            "sketch_only": v.sketch_only,
            "messages": self.messages,
            "warnings": [n.to_dict() for n in self.notices],
        }


def limits_from_settings(max_uncompressed_bytes: int | None = None) -> ParseLimits:
    conf = settings.LEAKLEDGER
    return ParseLimits(
        max_file_bytes=conf["MAX_FILE_BYTES"],
        max_uncompressed_bytes=min(
            conf["MAX_UNCOMPRESSED_BYTES"], max_uncompressed_bytes or conf["MAX_UNCOMPRESSED_BYTES"]
        ),
        max_sequence_length=conf["MAX_SEQUENCE_LENGTH"],
    )


def _inline_limit_hint(exc: ParseError, inline_max_bytes: int | None) -> ParseError:
    """Say which bound a request-time registration hit, and how to register the file anyway."""
    if inline_max_bytes is None or not exc.reason.startswith("the data decompresses to more than"):
        return exc
    exc.hint = (
        f"Without a Celery worker this registry reads at most {inline_max_bytes:,} bytes (decompressed) inside a "
        "request (LEAKLEDGER_INLINE_MAX_BYTES). Register the file with `python manage.py register_dataset`, or "
        "run a worker (CELERY_BROKER_URL) and upload it again."
    )
    return exc


def dataset_can_write(user, dataset: Dataset) -> bool:
    """Owners, members of the dataset's group and staff may add versions and splits.

    A dataset registered from the command line has no owner: it belongs to the operator, so over
    the API only staff may add to it.
    """
    if user is None:  # the local operator (CLI)
        return True
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff or (dataset.owner_id is not None and dataset.owner_id == user.pk):
        return True
    return dataset.group_id is not None and user.groups.filter(pk=dataset.group_id).exists()


def _check_field(validator, value: str, name: str) -> None:
    try:
        validator(value)
    except ValidationError as exc:
        raise RegistryError(f"{name} {value!r}: {exc.messages[0]}", fields={name: exc.messages}) from None


@dataclass
class _Spool:
    path: Path
    count: int
    residues: int
    digest: str
    skipped_duplicates: int


def _spool_records(
    path: Path,
    *,
    kind: str,
    file_format: str | None,
    id_column: str,
    sequence_column: str,
    skip_identical_duplicates: bool,
    on_progress: ProgressCallback | None,
    spool_dir: Path,
    spool_tag: str = "",
    max_uncompressed_bytes: int | None = None,
) -> _Spool:
    batch_size = settings.LEAKLEDGER["BATCH_SIZE"]
    hashes: list[str] = []
    seen: dict[str, str] = {}
    count = residues = skipped = 0
    spool_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"spool-{spool_tag}-" if spool_tag else "spool-"
    # Closed by the with below; kept past it.
    handle = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".marshal", dir=spool_dir, delete=False)  # noqa: SIM115
    spool_path = Path(handle.name)
    try:
        with handle:
            batch: list[tuple[str, str, str, str]] = []

            def parser_progress(bytes_read: int, records: int) -> None:
                if on_progress:
                    on_progress("parse", records, None)

            records = iter_records(
                path,
                kind=kind,
                format=file_format,
                limits=limits_from_settings(max_uncompressed_bytes),
                id_column=id_column,
                sequence_column=sequence_column,
                on_progress=parser_progress,
                allow_duplicate_ids=skip_identical_duplicates,
            )
            for rec in records:
                h = record_hash(rec.identifier, rec.description, rec.sequence)
                if skip_identical_duplicates:
                    previous = seen.get(rec.identifier)
                    if previous is not None:
                        if previous == h:
                            skipped += 1
                            continue
                        raise ParseError(
                            f"identifier {rec.identifier!r} appears again with a different description or "
                            "sequence",
                            path=str(path),
                            line=rec.line,
                            record=rec.identifier,
                            hint="identifiers must be unique; only verbatim repeats can be skipped",
                        )
                    seen[rec.identifier] = h
                hashes.append(h)
                residues += len(rec.sequence)
                batch.append((rec.identifier, rec.description, rec.sequence, sequence_sha256(rec.sequence)))
                count += 1
                if len(batch) >= batch_size:
                    marshal.dump(batch, handle)
                    batch = []
            if batch:
                marshal.dump(batch, handle)
    except BaseException:
        spool_path.unlink(missing_ok=True)
        raise
    if count == 0:
        spool_path.unlink(missing_ok=True)
        raise ParseError(
            "the file holds no records", path=str(path), hint="check that it is the file you meant"
        )
    return _Spool(spool_path, count, residues, version_digest(hashes), skipped)


def _read_spool(path: Path):
    with open(path, "rb") as handle:
        while True:
            try:
                yield marshal.load(handle)
            except EOFError:
                return


def _next_version_name(dataset: Dataset) -> str:
    numeric = [int(v) for v in dataset.versions.values_list("version", flat=True) if v.isdigit()]
    return str(max(numeric, default=0) + 1)


def registration_check(
    *,
    dataset_name: str,
    kind: str,
    version: str | None = None,
    role: str = "",
    derived_from: str | None = None,
    transform: str = "",
    user=None,
) -> DatasetVersion | None:
    """Everything about a registration that can be checked before its file is read.

    Returns the version it derives from, if any. The API calls it before it starts a job, so that
    a request that cannot succeed is refused at once.
    """
    _check_field(validate_name, dataset_name, "name")
    if version is not None:
        _check_field(validate_version, version, "version")
    if kind not in Kind.values:
        raise RegistryError(
            f"kind {kind!r} is not one of {', '.join(Kind.values)}.", fields={"kind": ["invalid"]}
        )
    if role not in VersionRole.values:
        raise RegistryError(
            f"role {role!r} is not one of training, benchmark (or empty).", fields={"role": ["invalid"]}
        )
    if bool(derived_from) != bool(transform):
        raise RegistryError(
            "--derived-from and --transform go together: say which version this one comes from and how.",
            fields={"transform": ["required with derived_from"]},
        )
    source_version = selectors.version_get(derived_from) if derived_from else None
    dataset = Dataset.objects.filter(name=dataset_name).first()
    if dataset is not None:
        _dataset_write_check(dataset, kind=kind, user=user)
    return source_version


def _dataset_write_check(dataset: Dataset, *, kind: str, user) -> None:
    """May ``user`` add a version of ``kind`` to ``dataset``? Checked when the request arrives, and again
    under the dataset's row lock when the job writes (the dataset may have been created in between)."""
    if dataset.kind != kind:
        raise Conflict(
            f"dataset {dataset.name!r} holds {dataset.kind} data, not {kind}; use another name.",
            fields={"kind": [f"dataset is {dataset.kind}"]},
        )
    if not dataset_can_write(user, dataset):
        raise Forbidden(f"Only the owner of {dataset.name!r} or members of its group may add versions.")


def dataset_version_register(
    *,
    path: str | Path,
    dataset_name: str,
    kind: str,
    version: str | None = None,
    file_format: str | None = None,
    license: str = "",
    description: str = "",
    source: str = "",
    derived_from: str | None = None,
    transform: str = "",
    role: str = "",
    force_kind: bool = False,
    authors: list[str] | None = None,
    user=None,
    id_column: str = "id",
    sequence_column: str = "sequence",
    skip_identical_duplicates: bool = False,
    on_progress: ProgressCallback | None = None,
    spool_tag: str = "",
    inline_max_bytes: int | None = None,
) -> Registration:
    """Validate ``path`` whole, then register it as a new version of ``dataset_name``.

    Returns the existing version (``created=False``) when the dataset already holds identical
    content. Raises ``InputRejected`` (naming file, line and record) when the file is invalid,
    and writes nothing in that case. ``spool_tag`` (a job's UUID hex) names the working file, so that
    ``recover_jobs`` can tell a dead job's spool from a live one's. ``inline_max_bytes`` bounds the
    bytes read (decompressed) when the registration runs inside a web request.
    """
    path = Path(path)
    creators = parse_authors(authors or [])
    source_version = registration_check(
        dataset_name=dataset_name,
        kind=kind,
        version=version,
        role=role,
        derived_from=derived_from,
        transform=transform,
        user=user,
    )

    try:
        spool = _spool_records(
            path,
            kind=kind,
            file_format=file_format,
            id_column=id_column,
            sequence_column=sequence_column,
            skip_identical_duplicates=skip_identical_duplicates,
            on_progress=on_progress,
            spool_dir=Path(settings.DATA_DIR) / "tmp",
            spool_tag=spool_tag,
            max_uncompressed_bytes=inline_max_bytes,
        )
    except ParseError as exc:
        exc = _inline_limit_hint(exc, inline_max_bytes)
        raise InputRejected(str(exc), fields=exc.to_dict()) from exc
    try:
        if not force_kind:
            kind_check(
                (r[2] for batch in _read_spool(spool.path) for r in batch), kind=kind, source=str(path)
            )
        return _write_version(
            spool,
            path=path,
            dataset_name=dataset_name,
            kind=kind,
            version=version,
            file_format=file_format,
            license=license,
            description=description,
            source=source,
            source_version=source_version,
            transform=transform,
            role=role,
            user=user,
            on_progress=on_progress,
            authors=creators,
        )
    finally:
        spool.path.unlink(missing_ok=True)


def _existing(dataset_name: str, digest: str) -> DatasetVersion | None:
    return (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset__name=dataset_name, digest=digest)
        .first()
    )


def _write_version(
    spool: _Spool,
    *,
    path,
    dataset_name,
    kind,
    version,
    file_format,
    license,
    description,
    source,
    source_version,
    transform,
    role,
    user,
    on_progress,
    authors=(),
) -> Registration:
    existing = _existing(dataset_name, spool.digest)
    if existing is not None:
        return Registration(
            existing,
            created=False,
            skipped_duplicates=spool.skipped_duplicates,
            notices=identical_again(existing, role=role),
        )
    twins = identical_elsewhere(spool.digest, dataset_name)
    try:
        with transaction.atomic():
            dataset, name = locked_dataset_for_write(
                dataset_name,
                kind=kind,
                version=version,
                user=user,
                defaults={
                    "license": license,
                    "description": description,
                    "source": source,
                    "authors": authors,
                },
            )
            new = DatasetVersion.objects.create(
                dataset=dataset,
                version=name,
                digest=spool.digest,
                record_count=spool.count,
                residue_count=spool.residues,
                role=role,
                source_filename=path.name,
                format=file_format or "",
                created_by=user if user is not None and user.is_authenticated else None,
            )
            record_set = RecordSet.objects.create(version=new)
            _write_records(new, spool, on_progress)
            if source_version is not None:
                Derivation.objects.create(source=source_version, target=new, transform=transform)
            notices = identical_record(new, twins, source_version)
            record_set_created(record_set)
    except IntegrityError:
        # A concurrent registration of the same content won the race: report it, as a re-run would.
        existing = _existing(dataset_name, spool.digest)
        if existing is None:
            raise
        return Registration(
            existing,
            created=False,
            notices=[Notice("already_registered", f"registered concurrently as {existing.ref}")],
        )
    return Registration(new, created=True, skipped_duplicates=spool.skipped_duplicates, notices=notices)


def locked_dataset_for_write(
    dataset_name: str, *, kind: str, version: str | None, user, defaults: dict
) -> tuple[Dataset, str]:
    """The dataset (created with ``defaults`` if new) locked for this write, and the new version's name.

    Call inside the write's transaction. Serialises concurrent registrations into one dataset (version
    numbering, digest check) and decides under the lock whether this write may happen: another user's
    job may have created the dataset, of another kind, since the request was checked.

    Raises:
        Conflict: ``version`` exists (published versions are immutable).
        PermissionDenied / InputRejected: what :func:`_dataset_write_check` refuses.
    """
    dataset, _ = Dataset.objects.get_or_create(
        name=dataset_name,
        defaults={
            "kind": kind,
            "owner": user if user is not None and user.is_authenticated else None,
            "license": defaults.get("license", ""),
            "description": defaults.get("description", ""),
            "source": defaults.get("source", ""),
            "authors": list(defaults.get("authors", ())),
        },
    )
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    _dataset_write_check(dataset, kind=kind, user=user)
    name = version or _next_version_name(dataset)
    if dataset.versions.filter(version=name).exists():
        raise Conflict(
            f"{dataset_name}@{name} already exists with different content; published versions are "
            "immutable: register this file under a new --version.",
            fields={"version": ["exists"]},
        )
    return dataset, name


def _write_records(version: DatasetVersion, spool: _Spool, on_progress: ProgressCallback | None) -> None:
    write_records(version.pk, _read_spool(spool.path), total=spool.count, on_progress=on_progress)


@job_handler("ingest")
def ingest_job(job) -> dict:
    """Job handler: register an uploaded file (payload: the keyword arguments and ``user_id``)."""
    from django.contrib.auth import get_user_model

    def work(options: dict) -> dict:
        user_id = options.pop("user_id", None)
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        if options.pop("sketch_only", False):  # a .llsk upload: registered without residues
            from .sketch_ingest import sketch_version_register

            return sketch_version_register(**options, user=user, on_progress=ProgressReporter(job)).to_dict()
        return dataset_version_register(
            **options, user=user, on_progress=ProgressReporter(job), spool_tag=job.uuid.hex
        ).to_dict()

    return run_with_upload(job, work)
