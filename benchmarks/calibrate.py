"""Measured recall and precision of each detection tier against MMseqs2 ground truth.

Truth: the MMseqs2 hits in ``../shared/data/ground-truth/*.hits.m8.gz`` (see
``GROUND_TRUTH.md``): a query counts at threshold t when it has an alignment with
``fident >= t`` and ``qcov >= 0.8``; "exact" = an identical sequence.

For each pair of data sets and each tier combination run with default settings
(``exact``; ``exact+minhash``; ``exact+minhash+containment``; ``exact+mmseqs``;
``exact+minhash+mmseqs``), and for
each threshold t, the tiers are asked for identity >= t and query coverage >= 0.8
(``find_overlap(identity=t, coverage=0.8)``; the mmseqs search does not depend on
t, so it runs once and is read at every t; all tiers together count a query when
either found it), and

- recall at t = |queries the tiers report at >= t that the truth has at >= t| / |truth at >= t|,
- precision at t (vs MMseqs2) = the same intersection / |queries the tiers report at >= t|.

Every reported pair is also checked to carry an aligned identity >= t and query
coverage >= 0.8 ("verified", 1.0 by construction).

Writes ``dedup/calibration.json`` (shipped with dedup, carried by every
``find_overlap`` result) and prints markdown tables for ``benchmarks/README.md``.

Usage::

    python benchmarks/calibrate.py [--data ../shared/data] [--out dedup/calibration.json] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import dedup  # noqa: E402
from dedup.overlap import default_sketch_params, find_overlap, lsh_settings, read_sequences  # noqa: E402
from dedup.parsing import sequence_sha256  # noqa: E402
from dedup.verify import best_hits  # noqa: E402

THRESHOLDS = (0.95, 0.9, 0.8, 0.7, 0.5, 0.3)
COVERAGE = 0.8
COMBOS = ("exact", "exact+minhash", "exact+minhash+containment", "exact+mmseqs", "exact+minhash+mmseqs")

DATASETS = [
    {
        "name": "deepfri-go-test_vs_flip-ss-train",
        "title": "DeepFRI nrPDB-GO test vs FLIP/NetSurfP-2.0 train (main pair)",
        "query": "splits/deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta",
        "reference": "splits/flip-secondary-structure/train.fasta",
        "truth": "ground-truth/deepfri-go-test_vs_flip-ss-train.hits.m8.gz",
    },
    {
        "name": "flip-bind",
        "title": "FLIP bind one_vs_many: test vs train",
        "query": "splits/flip-bind/test.fasta",
        "reference": "splits/flip-bind/train.fasta",
        "truth": "ground-truth/flip-bind.hits.m8.gz",
    },
    {
        "name": "deeploc1-test_vs_val",
        "title": "DeepLoc 1.0 test vs its training-data validation sample",
        "query": "splits/deeploc1/deeploc_test_set.fasta",
        "reference": "splits/deeploc1/deeploc_our_val_set.fasta",
        "truth": "ground-truth/deeploc1-test_vs_val.hits.m8.gz",
    },
]
HEADLINE = DATASETS[0]["name"]


def truth_best(path: Path) -> dict[str, float]:
    """Best MMseqs2 fident per query among alignments with qcov >= COVERAGE."""
    best: dict[str, float] = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            f = line.split("\t")
            if float(f[11]) + 1e-9 >= COVERAGE:
                q, fid = f[0], float(f[2])
                if fid > best.get(q, -1.0):
                    best[q] = fid
    return best


def key(t: float) -> str:
    return "exact" if t >= 1.0 else f"{t:.2f}"


def run_combo(combo: str, queries, references, t: float):
    tiers = tuple(combo.split("+"))
    return find_overlap(queries, references, identity=t, coverage=COVERAGE, tiers=tiers)


def measure(ds: dict, data: Path, quick: bool) -> dict:
    queries = read_sequences(data / ds["query"], kind="protein")
    references = read_sequences(data / ds["reference"], kind="protein")
    truth = truth_best(data / ds["truth"])
    ref_shas = {sequence_sha256(s) for _r, s in references}
    truth_sets = {"exact": {q for q, s in queries if sequence_sha256(s) in ref_shas}}
    for t in THRESHOLDS:
        truth_sets[key(t)] = {q for q, fid in truth.items() if fid + 1e-9 >= t}

    found: dict[str, dict[str, set[str]]] = defaultdict(dict)
    seconds: dict[str, dict[str, float]] = defaultdict(dict)
    stats: dict[str, dict] = {}
    verified: dict[str, bool] = {}
    missed: dict[str, list] = {}

    def record(combo: str, result, thresholds, elapsed: float) -> None:
        best = best_hits(result.hits)
        low = min(thresholds)
        verified[combo] = verified.get(combo, True) and all(
            h.identity + 1e-9 >= low and h.query_coverage + 1e-9 >= COVERAGE for h in best.values()
        )
        found[combo]["exact"] = {q for q, h in best.items() if h.tier == "exact"}
        for t in thresholds:
            found[combo][key(t)] = {q for q, h in best.items() if h.identity + 1e-9 >= t}
            seconds[combo][key(t)] = round(elapsed, 2)

    # exact: one run (identity does not matter to it)
    started = time.perf_counter()
    record(
        "exact",
        run_combo("exact", queries, references, min(THRESHOLDS)),
        THRESHOLDS,
        time.perf_counter() - started,
    )
    # exact+minhash: one run per threshold, as a user would ask (bounds and trimming depend on it)
    for t in THRESHOLDS:
        started = time.perf_counter()
        result = run_combo("exact+minhash", queries, references, t)
        record("exact+minhash", result, [t], time.perf_counter() - started)
        stats[key(t)] = result.tiers["minhash"].to_dict()
        missed[key(t)] = [(q, truth[q]) for q in sorted(truth_sets[key(t)] - found["exact+minhash"][key(t)])][
            :30
        ]
    print(f"  {ds['name']}: exact+minhash done", file=sys.stderr)
    combos = ["exact", "exact+minhash"]
    # exact+minhash+containment: the containment tier (dedup.containment) on the queries still without a hit
    contained = "exact+minhash+containment"
    for t in THRESHOLDS:
        started = time.perf_counter()
        record(contained, run_combo(contained, queries, references, t), [t], time.perf_counter() - started)
    combos.append(contained)
    print(f"  {ds['name']}: {contained} done", file=sys.stderr)
    if not quick:
        # exact+mmseqs: MMseqs2 searches the same way whatever identity is asked (the identity filter is
        # applied to its output), so one run at the lowest threshold is read at every threshold
        started = time.perf_counter()
        result = run_combo("exact+mmseqs", queries, references, min(THRESHOLDS))
        record("exact+mmseqs", result, THRESHOLDS, time.perf_counter() - started)
        # all tiers: a query counts at t when either tier verified a hit >= t (what find_overlap's
        # per-query best does when both run)
        both = "exact+minhash+mmseqs"
        found[both]["exact"] = found["exact"]["exact"]
        for t in THRESHOLDS:
            k = key(t)
            found[both][k] = found["exact+minhash"][k] | found["exact+mmseqs"][k]
            seconds[both][k] = round(seconds["exact+minhash"][k] + seconds["exact+mmseqs"][k], 2)
        verified[both] = verified["exact+minhash"] and verified["exact+mmseqs"]
        combos += ["exact+mmseqs", both]
        print(f"  {ds['name']}: mmseqs done", file=sys.stderr)

    recall: dict[str, dict[str, float | None]] = {}
    precision: dict[str, dict[str, float | None]] = {}
    counts: dict[str, dict[str, int]] = {}
    for combo in combos:
        recall[combo], precision[combo], counts[combo] = {}, {}, {}
        for k in ["exact", *map(key, THRESHOLDS)]:
            f, tr = found[combo].get(k, set()), truth_sets[k]
            counts[combo][k] = len(f)
            recall[combo][k] = round(len(f & tr) / len(tr), 4) if tr else None
            precision[combo][k] = round(len(f & tr) / len(f), 4) if f else None
    return {
        "title": ds["title"],
        "query": ds["query"],
        "reference": ds["reference"],
        "queries": len(queries),
        "references": len(references),
        "truth": {k: len(v) for k, v in truth_sets.items()},
        "found": counts,
        "recall": recall,
        "precision_vs_mmseqs": precision,
        "verified": {combo: 1.0 if ok else 0.0 for combo, ok in verified.items()},
        "seconds": seconds,
        "minhash_stats": stats,
        "minhash_missed": missed,
    }


def markdown(table: dict) -> str:
    lines = []
    for ds in table["datasets"].values():
        lines.append(f"### {ds['title']}")
        lines.append(
            f"{ds['queries']:,} query vs {ds['references']:,} reference sequences; query coverage >= 80%."
        )
        lines.append("")
        combos = list(ds["recall"])
        head = "| identity >= | truth (MMseqs2) | " + " | ".join(
            f"{c}: found / recall / precision" for c in combos
        )
        lines.append(head + " |")
        lines.append("|---" * (2 + len(combos)) + "|")
        for k in ["exact", *map(key, THRESHOLDS)]:
            label = "exact" if k == "exact" else f"{round(float(k) * 100)}%"
            cells = []
            for c in combos:
                r, p = ds["recall"][c][k], ds["precision_vs_mmseqs"][c][k]
                fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
                cells.append(f"{ds['found'][c][k]} / {fmt(r)} / {fmt(p)}")
            lines.append(f"| {label} | {ds['truth'][k]} | " + " | ".join(cells) + " |")
        lines.append("")
        secs = ds["seconds"].get("exact+minhash", {})
        if secs:
            lines.append(
                "exact+minhash wall time per run (s): "
                + ", ".join(f"{round(float(k) * 100)}%: {v}" for k, v in secs.items() if k != "exact")
            )
        mm = ds["seconds"].get("exact+mmseqs", {})
        if mm:
            lines.append(
                f"exact+mmseqs wall time (one run read at every threshold): {next(iter(mm.values()))} s"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_data = Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--out", type=Path, default=REPO / "dedup" / "calibration.json")
    parser.add_argument(
        "--quick", action="store_true", help="exact and exact+minhash only; do not write --out"
    )
    parser.add_argument("--only", help="measure only this data set name")
    args = parser.parse_args(argv)

    datasets = {}
    for ds in DATASETS:
        if args.only and ds["name"] != args.only:
            continue
        print(f"measuring {ds['name']}", file=sys.stderr)
        datasets[ds["name"]] = measure(ds, args.data, args.quick)
    params = default_sketch_params("protein")
    table = {
        "kind": "protein",
        "generated_by": "python benchmarks/calibrate.py",
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "truth": "MMseqs2 easy-search (GROUND_TRUTH.md): best fident per query among alignments with qcov >= 0.8",
        "coverage": COVERAGE,
        "defaults": {
            "sketch_params": params.key(),
            "lsh": {
                key(t): dict(zip(("threshold", "bands", "rows"), lsh_settings(t), strict=True))
                for t in THRESHOLDS
            },
            "note": "recall holds for these LSH settings; an index banded differently must be measured again",
        },
        "versions": {
            "dedup": dedup.__version__,
            "mmseqs": dedup.mmseqs_version(),
        },
        "headline": HEADLINE,
        "recall": datasets[HEADLINE]["recall"] if HEADLINE in datasets else {},
        "precision_vs_mmseqs": datasets[HEADLINE]["precision_vs_mmseqs"] if HEADLINE in datasets else {},
        "datasets": datasets,
    }
    print(markdown(table))
    if not args.quick and not args.only:
        args.out.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(json.dumps({n: d["minhash_missed"] for n, d in datasets.items()}, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
