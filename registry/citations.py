"""Citations and metadata bound to content: BibTeX, CITATION.cff, CSL-JSON, DataCite JSON, Croissant 1.1.

Every citation names the exact version (``name@version``), its order-free sha256 content digest
and its API URL, so a reader can check that what they downloaded is what was cited. The
record downloads (FASTA and CSV) are deterministic byte streams, in file order, so that their
sha256 (in the Croissant ``distribution`` and the ``X-Content-SHA256`` header) can be checked.
Versions are immutable, so those sha256 sums are cached per version (and per set of splits,
which add columns to the CSV).
"""

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator

from django.core.cache import cache
from django.urls import reverse

from registry.errors import refuse_sketch_only
from registry.models import DatasetVersion, Evaluation, Record, Split, SplitMembership

PUBLISHER = "LeakLedger"
SPLIT_URLS = {"train": "cr:TrainingSplit", "validation": "cr:ValidationSplit", "test": "cr:TestSplit"}
MEDIA = {"fasta": "text/x-fasta", "csv": "text/csv"}
CHUNK_RECORDS = 2000
CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "prov": "http://www.w3.org/ns/prov#",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
# SPDX identifiers that CITATION.cff accepts, for the licences data is commonly published under.
SPDX = {
    s.lower(): s
    for s in [
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-3.0",
        "CC-BY-SA-3.0",
        "CC-BY-NC-3.0",
        "ODbL-1.0",
        "ODC-By-1.0",
        "PDDL-1.0",
        "MIT",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "GPL-2.0-only",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "LGPL-3.0-only",
        "MPL-2.0",
        "Unlicense",
        "Artistic-2.0",
        "CDLA-Permissive-2.0",
        "CDLA-Sharing-1.0",
        "AFL-3.0",
        "AGPL-3.0-only",
        "BSD-4-Clause",
        "CC-BY-NC-ND-4.0",
        "EPL-2.0",
        "GPL-2.0-or-later",
        "LGPL-2.1-only",
        "ISC",
        "Zlib",
    ]
}


# --- record downloads -----------------------------------------------------------------------------


def _split_columns(version: DatasetVersion) -> list[tuple[str, dict[int, str]]]:
    """For each split of the version (by name): record id -> part name(s), ';'-joined when shared."""
    columns = []
    for split in Split.objects.filter(version=version).order_by("name"):
        parts: dict[int, list[str]] = defaultdict(list)
        rows = SplitMembership.objects.filter(part__split=split).values_list("record_id", "part__name")
        for record_id, part_name in rows.order_by("part__name"):
            parts[record_id].append(part_name)
        columns.append((split.name, {rid: ";".join(names) for rid, names in parts.items()}))
    return columns


def records_stream(version: DatasetVersion, fmt: str) -> Iterator[bytes]:
    """The version's records as FASTA or CSV bytes, in file order, in chunks.

    FASTA: ``>identifier description`` then the sequence on one line. CSV: ``identifier,
    description,sequence`` and one ``split:NAME`` column per split holding the record's part.
    A sketch-only version is refused (:class:`registry.errors.SketchOnly`).
    """
    refuse_sketch_only(version)
    rows = (
        Record.objects.filter(version=version)
        .order_by("position")
        .values_list("id", "identifier", "description", "sequence__residues")
    )
    if fmt == "fasta":
        lines: list[str] = []
        for _, identifier, description, residues in rows.iterator(chunk_size=CHUNK_RECORDS):
            header = f"{identifier} {description}" if description else identifier
            lines.append(f">{header}\n{residues}\n")
            if len(lines) >= CHUNK_RECORDS:
                yield "".join(lines).encode()
                lines = []
        if lines:
            yield "".join(lines).encode()
        return
    splits = _split_columns(version)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["identifier", "description", "sequence", *(f"split:{name}" for name, _ in splits)])
    rows_iter = rows.iterator(chunk_size=CHUNK_RECORDS)
    for count, (record_id, identifier, description, residues) in enumerate(rows_iter, start=1):
        writer.writerow(
            [identifier, description, residues, *(parts.get(record_id, "") for _, parts in splits)]
        )
        if count % CHUNK_RECORDS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def records_sha256(version: DatasetVersion, fmt: str) -> str:
    """sha256 of the download in ``fmt``; cached (versions are immutable, splits only get added)."""
    refuse_sketch_only(version)
    split_key = hashlib.sha256(
        ",".join(
            str(u)
            for u in Split.objects.filter(version=version).order_by("uuid").values_list("uuid", flat=True)
        ).encode()
    ).hexdigest()[:16]
    key = f"leakledger:records-sha256:{version.uuid}:{fmt}:{split_key if fmt == 'csv' else ''}"
    cached = cache.get(key)
    if cached:
        return cached
    digest = hashlib.sha256()
    for chunk in records_stream(version, fmt):
        digest.update(chunk)
    value = digest.hexdigest()
    cache.set(key, value, timeout=None)
    return value


def download_name(version: DatasetVersion, fmt: str) -> str:
    """The download's file name, e.g. ``flip-bind@1.fasta``."""
    return re.sub(r"[^A-Za-z0-9._@+-]", "_", version.ref) + "." + fmt


# --- shared pieces --------------------------------------------------------------------------------


def _url(request, name: str, **kwargs) -> str:
    """Absolute: from the request, or (the CLI) from ``LEAKLEDGER_PUBLIC_URL``."""
    from django.conf import settings

    path = reverse(name, kwargs=kwargs)
    return request.build_absolute_uri(path) if request is not None else settings.LEAKLEDGER_PUBLIC_URL + path


def _creator(user) -> dict:
    """{'given', 'family'} for a user with a full name, else {'name'} (the username or the registry)."""
    if user is None:
        return {"name": f"{PUBLISHER} registry"}
    if user.first_name and user.last_name:
        return {"given": user.first_name, "family": user.last_name}
    return {"name": user.get_full_name() or user.get_username()}


def _creators(dataset) -> list[dict]:
    """The dataset's authors as registered (``--author``), else its owner or the registry."""
    return list(dataset.authors or []) or [_creator(dataset.owner)]


def _spdx(license_text: str) -> str | None:
    return SPDX.get((license_text or "").strip().lower())


def _bibtex_escape(text: str) -> str:
    text = str(text).replace("\\", r"\textbackslash{}")
    text = re.sub(r"([{}%&$#_])", r"\\\1", text)
    return text.replace("^", r"\^{}").replace("~", r"\~{}")


def _bibtex(entry_type: str, key: str, fields: dict[str, str]) -> str:
    key = re.sub(r"[^A-Za-z0-9_:-]", "_", key)
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{entry_type}{{{key},\n{body}\n}}\n"


def _bibtex_author(creator: dict) -> str:
    if "family" in creator:
        return f"{_bibtex_escape(creator['family'])}, {_bibtex_escape(creator['given'])}"
    return "{" + _bibtex_escape(creator["name"]) + "}"


def _yaml_scalar(value) -> str:
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _yaml(data, indent: int = 0) -> str:
    """A small YAML emitter for the CITATION.cff structure (mappings, lists, scalars)."""
    pad = "  " * indent
    lines = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list):
                lines.append(f"{pad}{key}:")
                lines.append(_yaml(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    else:
        for item in data:
            if isinstance(item, dict):
                first = True
                for key, value in item.items():
                    prefix = f"{pad}- " if first else f"{pad}  "
                    first = False
                    if isinstance(value, dict | list):
                        lines.append(f"{prefix}{key}:")
                        lines.append(_yaml(value, indent + 2))
                    else:
                        lines.append(f"{prefix}{key}: {_yaml_scalar(value)}")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    return "\n".join(lines)


def _cff_author(creator: dict) -> dict:
    if "family" in creator:
        return {"family-names": creator["family"], "given-names": creator["given"]}
    return {"name": creator["name"]}


def _csl_author(creator: dict) -> dict:
    if "family" in creator:
        return {"family": creator["family"], "given": creator["given"]}
    return {"literal": creator["name"]}


def _datacite_creator(creator: dict) -> dict:
    if "family" in creator:
        return {
            "name": f"{creator['family']}, {creator['given']}",
            "nameType": "Personal",
            "givenName": creator["given"],
            "familyName": creator["family"],
        }
    return {
        "name": creator["name"],
        "nameType": "Organizational" if creator["name"].endswith("registry") else "Personal",
    }


def _render(fmt: str, c: dict):
    """One citation dict (title, creator, date, version, url, ids, ...) in the requested format."""
    date = c["date"]
    if fmt == "bibtex":
        return _bibtex(
            "misc",
            c["key"],
            {
                "title": _bibtex_escape(c["title"]),
                "author": " and ".join(_bibtex_author(a) for a in c["creators"]),
                "year": str(date.year),
                "month": str(date.month),
                # APA and Nature styles print version but drop note: the digest goes there too.
                "version": _bibtex_escape(c["version_cited"]),
                "url": c["url"],
                "howpublished": _bibtex_escape(
                    f"{PUBLISHER} registry, {c['ref_label']}"
                    + (f"; source: {c['source']}" if c.get("source") else "")
                ),
                "note": _bibtex_escape(c["note"]),
            },
        )
    if fmt == "cff":
        cff = {
            "cff-version": "1.2.0",
            "message": "If you use this, please cite it as below; the sha256 digest identifies the exact content.",
            "type": "dataset",
            "title": c["title"],
            "authors": [_cff_author(a) for a in c["creators"]],
            "version": c["version"],
            "date-released": date.date().isoformat(),
            "url": c["url"],
            "identifiers": [
                {"type": "url", "value": c["url"], "description": "LeakLedger API"},
                *({"type": "other", "value": value, "description": text} for value, text in c["identifiers"]),
            ],
            "abstract": c["abstract"],
        }
        if c.get("source") and re.match(r"^https?://", c["source"]):
            cff["repository"] = c["source"]
        spdx = _spdx(c.get("license", ""))
        if spdx:
            cff["license"] = spdx
        elif re.match(r"^https?://", c.get("license", "")):
            cff["license-url"] = c["license"]
        elif c.get("license"):  # not an SPDX id: CFF has no free-text licence, so the abstract says it
            cff["abstract"] += f" Licence: {c['license']}."
        return _yaml(cff) + "\n"
    if fmt == "csl":
        item = {
            "id": c["key"],
            "type": "dataset",
            "title": c["title"],
            "author": [_csl_author(a) for a in c["creators"]],
            "issued": {"date-parts": [[date.year, date.month, date.day]]},
            "version": c["version_cited"],
            "URL": c["url"],
            "publisher": PUBLISHER,
            "note": c["note"],
            "abstract": c["abstract"],
        }
        if c.get("source"):
            item["source"] = c["source"]
        return [item]
    # DataCite JSON, kernel 4.5
    record = {
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": c["resource_type"]},
        "creators": [_datacite_creator(a) for a in c["creators"]],
        "titles": [{"title": c["title"]}],
        "publisher": {"name": PUBLISHER},
        "publicationYear": str(date.year),
        "version": c["version"],
        "url": c["url"],
        "dates": [{"date": date.date().isoformat(), "dateType": "Created"}],
        "alternateIdentifiers": [
            {"alternateIdentifier": value, "alternateIdentifierType": kind}
            for value, kind in c["alternate_ids"]
        ],
        "relatedIdentifiers": [
            {"relatedIdentifier": url, "relatedIdentifierType": "URL", "relationType": relation}
            for url, relation in c["related"]
        ],
        "descriptions": [{"description": c["abstract"], "descriptionType": "Abstract"}],
        "sizes": c.get("sizes", []),
        "formats": c.get("formats", []),
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }
    if c.get("license"):
        rights = {"rights": c["license"]}
        if _spdx(c["license"]):
            spdx = _spdx(c["license"])
            rights.update(
                rightsIdentifier=spdx,
                rightsIdentifierScheme="SPDX",
                rightsUri=f"https://spdx.org/licenses/{spdx}.html",
                schemeUri="https://spdx.org/licenses/",
            )
        record["rightsList"] = [rights]
    if not record["relatedIdentifiers"]:
        del record["relatedIdentifiers"]
    return record


# --- versions and evaluations ---------------------------------------------------------------------


def _attested(split: Split) -> str:
    """The split's latest attestation as one sentence ("verified ...: max cross-part identity ..."), or ''."""
    from registry.split_selectors import attestation_text, latest_attestation

    attestation = latest_attestation(split)
    return f"Split {split.name}: {attestation_text(attestation)}." if attestation is not None else ""


def version_citation(version: DatasetVersion, fmt: str, request=None):
    """A dataset version's citation in ``fmt`` (bibtex, cff, csl, datacite)."""
    dataset = version.dataset
    url = _url(request, "api:version-detail", ref=version.ref)
    edges = version.derived_from.select_related("source__dataset").order_by("created_at", "id")
    related = [(_url(request, "api:version-detail", ref=e.source.ref), "IsDerivedFrom") for e in edges]
    abstract = (
        dataset.description or f"Version {version.version} of the {dataset.kind} dataset {dataset.name}."
    )
    abstract += (
        f" {version.record_count} records, {version.residue_count} residues. Content digest (sha256, order-free "
        f"over all records): {version.digest}."
    )
    for edge in edges:
        abstract += f" Derived from {edge.source.ref}: {edge.transform}."
    for split in Split.objects.filter(version=version).order_by("name"):
        abstract += f" {attested}" if (attested := _attested(split)) else ""
    citation = {
        "key": f"{dataset.name}_{version.version}",
        "title": f"{dataset.name}, version {version.version}",
        "creators": _creators(dataset),
        "date": version.created_at,
        "version": version.version,
        "version_cited": f"{version.version}, sha256:{version.digest}",
        "source": dataset.source,
        "url": url,
        "ref_label": version.ref,
        "note": f"{version.ref}; sha256 content digest {version.digest}; {version.record_count} records",
        "identifiers": [
            (f"sha256:{version.digest}", "order-free sha256 content digest over all records"),
            (f"urn:uuid:{version.uuid}", "LeakLedger version UUID"),
        ],
        "alternate_ids": [
            (version.digest, "sha256"),
            (f"urn:uuid:{version.uuid}", "UUID"),
            (version.ref, "LeakLedger"),
        ],
        "related": related
        + ([(dataset.source, "IsDerivedFrom")] if re.match(r"^https?://", dataset.source) else []),
        "abstract": abstract,
        "license": dataset.license,
        "resource_type": f"{dataset.kind} sequence dataset version",
        "sizes": [f"{version.record_count} records", f"{version.residue_count} residues"],
        "formats": ["text/x-fasta", "text/csv"],
    }
    return _render(fmt, citation)


def evaluation_citation(evaluation: Evaluation, fmt: str, request=None):
    """An evaluation's citation: the model version, what it was evaluated on (with its digest), metrics."""
    model_version = evaluation.model_version
    record_set = evaluation.record_set
    evaluated = record_set.version
    on_ref = (
        evaluated.ref
        if record_set.part_id is None
        else (f"{evaluated.ref}/{record_set.part.split.name}:{record_set.part.name}")
    )
    metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(evaluation.metrics.items()))
    url = _url(request, "api:evaluation-detail", uuid=evaluation.uuid)
    citation = {
        "key": f"evaluation_{evaluation.uuid}",
        "title": f"Evaluation of {model_version.ref} on {on_ref}",
        "creators": [_creator(evaluation.created_by or model_version.model.owner)],
        "date": evaluation.created_at,
        "version": str(evaluation.uuid),
        "version_cited": f"{evaluation.uuid}, on sha256:{evaluated.digest}",
        "url": url,
        "ref_label": f"evaluation {evaluation.uuid}",
        "note": f"{model_version.ref} on {on_ref} (sha256 content digest {evaluated.digest}): {metrics}",
        "identifiers": [
            (f"urn:uuid:{evaluation.uuid}", "LeakLedger evaluation UUID"),
            (f"sha256:{evaluated.digest}", f"content digest of the evaluated version {evaluated.ref}"),
        ],
        "alternate_ids": [(f"urn:uuid:{evaluation.uuid}", "UUID"), (evaluated.digest, "sha256")],
        "related": [
            (_url(request, "api:model-version-detail", ref=model_version.ref), "References"),
            (_url(request, "api:version-detail", ref=evaluated.ref), "References"),
        ],
        "abstract": (
            f"Model version {model_version.ref} evaluated on {on_ref} (content digest {evaluated.digest}). "
            f"Metrics: {metrics}."
            + (f" Code: {evaluation.code_ref}." if evaluation.code_ref else "")
            + (
                f" {_attested(record_set.part.split)}"
                if record_set.part_id and _attested(record_set.part.split)
                else ""
            )
        ),
        "license": "",
        "resource_type": "model evaluation",
    }
    return _render(fmt, citation)


def croissant(version: DatasetVersion, request=None) -> dict:
    """Croissant 1.1 JSON-LD for a version: downloads with sha256, record fields, splits, provenance."""
    refuse_sketch_only(version)
    dataset = version.dataset
    url = _url(request, "api:version-detail", ref=version.ref)
    splits = list(Split.objects.filter(version=version).prefetch_related("parts").order_by("name"))
    csv_id, fasta_id = "records-csv", "records-fasta"

    def column(name: str, column_name: str, description: str) -> dict:
        return {
            "@type": "cr:Field",
            "@id": f"records/{name}",
            "name": name,
            "description": description,
            "dataType": "sc:Text",
            "source": {"fileObject": {"@id": csv_id}, "extract": {"column": column_name}},
        }

    fields = [
        column(
            "identifier",
            "identifier",
            "Identifier the registered file gave the record (unique in the version).",
        ),
        column("description", "description", "Rest of the record's header line."),
        column("sequence", "sequence", f"Normalised {dataset.kind} sequence."),
    ]
    record_sets = []
    for split in splits:
        set_id = f"split-{split.name}"
        # A record in two parts (a published leak) is in both: a repeated field, not one value
        # "test;train" that matches no split. The CSV column joins the parts with ";".
        field = column(
            f"split_{split.name}",
            f"split:{split.name}",
            f"Part(s) of split {split.name!r} the record is in (repeated: a record may be in several).",
        )
        field["repeated"] = True
        field["source"]["transform"] = {"separator": ";"}
        # No cr:references to the split's key: mlcroissant cannot join on a repeated field, and the
        # values are the key's names all the same.
        fields.append(field)
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": set_id,
                "name": set_id,
                "description": f"Parts of split {split.name!r}"
                + (" (ids may be shared between parts)" if split.shared_ids_allowed else "")
                + (f". {_attested(split)}" if _attested(split) else ""),
                "dataType": "cr:Split",
                "key": {"@id": f"{set_id}/name"},
                "field": [
                    {"@type": "cr:Field", "@id": f"{set_id}/name", "name": "name", "dataType": "sc:Text"},
                    {"@type": "cr:Field", "@id": f"{set_id}/url", "name": "url", "dataType": "sc:URL"},
                    {"@type": "cr:Field", "@id": f"{set_id}/role", "name": "role", "dataType": "sc:Text"},
                ],
                "data": [
                    {
                        f"{set_id}/name": part.name,
                        # Croissant's split conventions; a part of role "other" has no standard split
                        f"{set_id}/url": SPLIT_URLS.get(part.role, f"{split.name}/{part.name}"),
                        f"{set_id}/role": part.role,
                    }
                    for part in sorted(split.parts.all(), key=lambda p: p.name)
                ],
            }
        )
    record_sets.insert(
        0,
        {
            "@type": "cr:RecordSet",
            "@id": "records",
            "name": "records",
            "description": f"The {version.record_count} records of {version.ref}, in file order.",
            "key": {"@id": "records/identifier"},
            "field": fields,
        },
    )
    edges = list(version.derived_from.select_related("source__dataset").order_by("created_at", "id"))
    metadata = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": f"{dataset.name}@{version.version}",
        "description": (
            dataset.description or f"Version {version.version} of the {dataset.kind} dataset {dataset.name}."
        )
        + f" Content digest (sha256, order-free over all records): "
        f"{version.digest}.",
        "url": url,
        "version": _semver(version.version),
        "datePublished": version.created_at.date().isoformat(),
        "citeAs": version_citation(version, "bibtex", request),
        "license": dataset.license or "unknown",
        "creator": _schema_creators(dataset),
        "publisher": {"@type": "sc:Organization", "name": PUBLISHER},
        "identifier": [f"sha256:{version.digest}", f"urn:uuid:{version.uuid}"],
        "keywords": [dataset.kind, "sequences", "train/test overlap"],
        "distribution": [
            {
                "@type": "cr:FileObject",
                "@id": csv_id,
                "name": download_name(version, "csv"),
                "description": "Records as CSV: identifier, description, sequence and one split:NAME column per "
                "split.",
                "contentUrl": _url(request, "api:version-csv", ref=version.ref),
                "encodingFormat": "text/csv",
                "sha256": records_sha256(version, "csv"),
            },
            {
                "@type": "cr:FileObject",
                "@id": fasta_id,
                "name": download_name(version, "fasta"),
                "description": "Records as FASTA, one line per header and one per sequence.",
                "contentUrl": _url(request, "api:version-fasta", ref=version.ref),
                "encodingFormat": "text/x-fasta",
                "sha256": records_sha256(version, "fasta"),
            },
        ],
        "recordSet": record_sets,
    }
    if dataset.source:
        metadata["sameAs"] = dataset.source if re.match(r"^https?://", dataset.source) else None
        if metadata["sameAs"] is None:
            del metadata["sameAs"]
    if edges:
        metadata["prov:wasDerivedFrom"] = [
            {
                "@type": "prov:Entity",
                "@id": _url(request, "api:version-detail", ref=e.source.ref),
                "prov:label": e.source.ref,
            }
            for e in edges
        ]
        metadata["prov:wasGeneratedBy"] = [
            {
                "@type": "prov:Activity",
                "@id": f"derivation-{i}",
                "description": e.transform,
                "prov:used": {"@id": _url(request, "api:version-detail", ref=e.source.ref)},
            }
            for i, e in enumerate(edges, start=1)
        ]
    return metadata


def _semver(version: str) -> str:
    """Croissant recommends MAJOR.MINOR.PATCH; map ``3`` to ``3.0.0`` and keep anything else as given.

    >>> _semver("3"), _semver("1.2"), _semver("2024-01")
    ('3.0.0', '1.2.0', '2024-01')
    """
    if re.fullmatch(r"\d+", version):
        return f"{version}.0.0"
    if re.fullmatch(r"\d+\.\d+", version):
        return f"{version}.0"
    return version


def _schema_creators(dataset) -> list[dict] | dict:
    if not dataset.authors:
        return _schema_person(dataset.owner)
    return [
        {"@type": "sc:Person", "name": f"{a['given']} {a['family']}"}
        if "family" in a
        else {"@type": "sc:Organization", "name": a["name"]}
        for a in dataset.authors
    ]


def _schema_person(user) -> dict:
    creator = _creator(user)
    if "family" in creator:
        return {"@type": "sc:Person", "name": f"{creator['given']} {creator['family']}"}
    return {"@type": "sc:Person" if user is not None else "sc:Organization", "name": creator["name"]}
