"""Export the clean subset of a benchmark: its records that a model's training data does not contain.

The check is the ad-hoc overlap query (``overlap_query``) of the benchmark against the model's training
ancestry, with the given identity and coverage and tiers; every record with a hit at or above the
threshold is removed. With ``register``, the clean file becomes a dataset version derived from the
benchmark's version, and the derivation's transform records against what, at which threshold and by
which method it was made, so that a reader can redo it.
"""

from pathlib import Path

from .. import selectors
from ..overlap.services import overlap_query
from .ingest import dataset_version_register


def clean_subset_export(
    *,
    benchmark: str,
    against_model: str,
    out: str | Path,
    identity: float = 0.9,
    coverage: float = 0.8,
    tiers: tuple[str, ...] = ("exact", "minhash"),
    register: str | None = None,
    on_progress=None,
) -> dict:
    record_set = selectors.record_set_get(benchmark)
    result = overlap_query(
        source=benchmark,
        against_model=against_model,
        identity=identity,
        coverage=coverage,
        tiers=tiers,
        on_progress=on_progress,
    )
    removed = {
        p["query"]
        for p in result["pairs"]
        if (p["tier"] == "exact" or p["identity"] + 1e-9 >= identity)
        and (p["coverage"] is None or p["coverage"] + 1e-9 >= coverage)
    }
    out = Path(out)
    clean = 0
    with open(out, "w", encoding="utf-8") as handle:
        rows = selectors.record_set_records(record_set).values_list(
            "identifier", "description", "sequence__residues"
        )
        for identifier, description, residues in rows.iterator(chunk_size=5000):
            if identifier in removed:
                continue
            handle.write(f">{identifier} {description}\n" if description else f">{identifier}\n")
            handle.write(residues + "\n")
            clean += 1
    ran = [name for name, info in result["method"]["tiers_run"].items() if info.get("ran")]
    references = ", ".join(f"{r['ref']} (sha256 {r['digest'][:12]}…)" for r in result["references"])
    transform = (
        f"clean subset of {record_set.ref}: removed the {len(removed):,} of {result['query_records']:,} records "
        f"with a hit at >= {identity:.0%} identity, coverage >= {coverage:.0%}, in the training ancestry of "
        f"{against_model} ({references or 'no training sets'}); tiers {', '.join(ran)} "
        f"(LeakLedger export_clean)"
    )
    out_dict = {
        "benchmark": record_set.ref,
        "against_model": against_model,
        "identity": identity,
        "coverage": coverage,
        "tiers_run": ran,
        "references": result["references"],
        "query_records": result["query_records"],
        "removed": len(removed),
        "clean": clean,
        "path": str(out),
        "transform": transform,
        "registered": None,
    }
    if register:
        registration = dataset_version_register(
            path=out,
            dataset_name=register,
            kind=record_set.version.dataset.kind,
            derived_from=record_set.version.ref,
            transform=transform,
            license=record_set.version.dataset.license,
            source=record_set.version.dataset.source,
            role="benchmark",
            force_kind=True,  # the records were accepted as this kind already
        )
        out_dict["registered"] = registration.to_dict()
    return out_dict
