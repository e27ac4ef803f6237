"""Registering a sketch-only version from a ``.llsk`` file (``leakledger sketch``): no residues.

The file is validated whole first (:func:`dedup.llsk.read_sketch`: header, the registry's sketch
parameters for the kind, every record, the digest); then one transaction writes the version
(``sketch_only=True``), its records (each pointing to a sequence known by sha256 and length,
residues NULL unless another version registered them), the signatures straight into the MinHash
index (``SequenceSketch`` and band keys, as if the registry had sketched them) and the record
set's index mark. Standing checks then run through the same pipeline as for any training set:
the exact tier by sha256, the MinHash tier by signature, without alignment.
"""

from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction

from dedup.errors import ParseError
from dedup.llsk import read_sketch
from dedup.lsh import band_keys

from ..errors import InputRejected
from ..models import DatasetVersion, RecordSet, RecordSetIndex
from ..overlap import index, storage
from .bulk import write_sketch_records
from .hooks import record_set_created
from .idempotence import identical_again
from .ingest import (
    ProgressCallback,
    Registration,
    _existing,
    locked_dataset_for_write,
    parse_authors,
    registration_check,
)
from .warnings import Notice

SKETCH_FORMAT = "llsk"


def sketch_version_register(
    *,
    path: str | Path,
    dataset_name: str,
    kind: str | None = None,
    version: str | None = None,
    license: str = "",
    description: str = "",
    source: str = "",
    role: str = "",
    authors: list[str] | None = None,
    user=None,
    on_progress: ProgressCallback | None = None,
    **_ignored,
) -> Registration:
    """Validate a ``.llsk`` file whole, then register it as a sketch-only version of ``dataset_name``.

    ``kind`` defaults to the file's; given, it must match. Raises ``InputRejected`` naming the file,
    line and record (nothing written) for a bad file, including one sketched with parameters other
    than the registry's for that kind. Identical content already registered returns that version.
    """
    path = Path(path)
    creators = parse_authors(authors or [])
    conf = settings.LEAKLEDGER
    try:
        sk = read_sketch(path, expect=index.sketch_params, kind=kind)
    except ParseError as exc:
        raise InputRejected(str(exc), fields=exc.to_dict()) from exc
    kind = sk.kind
    registration_check(dataset_name=dataset_name, kind=kind, version=version, role=role, user=user)
    longest = int(max(sk.lengths))
    if longest > conf["MAX_SEQUENCE_LENGTH"]:
        i = sk.lengths.index(longest)
        exc = ParseError(
            f"length {longest:,} is over this registry's limit of {conf['MAX_SEQUENCE_LENGTH']:,} residues",
            path=str(path),
            line=i + 2,
            record=sk.identifiers[i],
        )
        raise InputRejected(str(exc), fields=exc.to_dict())
    existing = _existing(dataset_name, sk.digest)
    if existing is not None:
        return Registration(existing, created=False, notices=identical_again(existing, role=role))
    if on_progress:
        on_progress("write", 0, len(sk))
    sketch_settings = index.sketch_settings_get(kind)
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
                    "authors": creators,
                },
            )
            new = DatasetVersion.objects.create(
                dataset=dataset,
                version=name,
                digest=sk.digest,
                record_count=len(sk),
                residue_count=int(sum(sk.lengths)),
                role=role,
                source_filename=path.name,
                format=SKETCH_FORMAT,
                sketch_only=True,
                created_by=user if user is not None and user.is_authenticated else None,
            )
            record_set = RecordSet.objects.create(version=new)
            ids = write_sketch_records(new.pk, list(zip(sk.identifiers, sk.shas, sk.lengths, strict=True)))
            # One signature per distinct sequence, the first record's; the index keeps a signature it
            # already has (the registry's own, for a sequence another version registered).
            first: dict[str, int] = {}
            for i, sha in enumerate(sk.shas):
                first.setdefault(sha, i)
            rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
            seq_ids = np.array([ids[sha] for sha in first], dtype=np.int64)
            order = np.argsort(seq_ids)
            seq_ids, sigs = seq_ids[order], sk.signatures.values[rows[order]]
            keys = band_keys(sigs, sketch_settings.bands, sketch_settings.rows)
            storage.index_write(sketch_settings.pk, seq_ids, sigs, keys)
            RecordSetIndex.objects.create(
                record_set=record_set, settings=sketch_settings, sequences=len(seq_ids)
            )
            record_set_created(record_set)
    except IntegrityError:
        existing = _existing(dataset_name, sk.digest)
        if existing is None:
            raise
        return Registration(
            existing,
            created=False,
            notices=[Notice("already_registered", f"registered concurrently as {existing.ref}")],
        )
    if on_progress:
        on_progress("write", len(sk), len(sk))
    return Registration(
        new,
        created=True,
        notices=[
            Notice(
                "sketch_only",
                f"sketch-only: {len(sk):,} records registered without residues (sha256, length and MinHash "
                f"signature {sk.params.key()}); hits against it are estimated from Jaccard, not aligned",
            )
        ],
    )
