"""Measure the Jaccard-to-identity relation on real pairs; write dedup/jaccard_identity.json.

A check against a sketch-only training set (``leakledger sketch``) cannot align: the registry
has signatures, not residues. Its MinHash tier reports, per query, the best Jaccard estimated
from two signatures, and an identity interval read from this relation. This script measures
it, per Jaccard bin, on real train/test pairs with MMseqs2 ground truth
(``../shared/data/ground-truth``): for every test sequence, ``jaccard`` is the highest
Jaccard estimated from the default protein signatures (``dedup.params.SketchParams.default``)
against the training sequences MMseqs2 aligned it to, and ``identity`` is its best
``fident`` among the alignments covering at least 80% of it (0 when none covers it: the
full check would not report it at any identity). Test sequences with an identical training
sequence are left out (the exact tier finds them, certain) and so are those whose best
Jaccard is below 0.05 (the registry's MinHash floor).

Per bin: the 5%, 50% and 95% quantiles of ``identity``. The error is measured out of
sample: the test sequences are split in two halves by a hash of their identifier, the
quantiles fitted on one half predict the other (both ways) and the shipped numbers say how
often the true identity fell inside the predicted 90% interval and how far the median was
from it; the counts at each threshold (median at or above it, and the interval's ends) are
compared with the true counts. The shipped quantiles are fitted on all sequences.

The pair ``flip-bind`` is not used: the test of sketch-only checks runs on it.

Usage::

    python benchmarks/calibrate_jaccard.py [--data ../shared/data] [--out dedup/jaccard_identity.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import SHARED  # noqa: E402

from dedup.overlap import read_sequences  # noqa: E402
from dedup.params import SketchParams  # noqa: E402
from dedup.parsing import sequence_sha256  # noqa: E402
from dedup.sketch import sketch_batch  # noqa: E402

PAIRS = [
    (
        "deepfri-go-test_vs_flip-ss-train",
        "splits/deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta",
        "splits/flip-secondary-structure/train.fasta",
        "ground-truth/deepfri-go-test_vs_flip-ss-train.hits.m8.gz",
    ),
    (
        "deeploc1-test_vs_val",
        "splits/deeploc1/deeploc_test_set.fasta",
        "splits/deeploc1/deeploc_our_val_set.fasta",
        "ground-truth/deeploc1-test_vs_val.hits.m8.gz",
    ),
]
EDGES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
THRESHOLDS = (0.95, 0.9, 0.8, 0.7, 0.5, 0.3)
COVERAGE = 0.8
MIN_JACCARD = 0.05


def per_query(data: Path, queries_file: str, refs_file: str, m8: str, params: SketchParams) -> list[tuple]:
    """``(query id, best Jaccard, best covering identity)`` of each non-identical test sequence."""
    queries = read_sequences(data / queries_file, kind="protein")
    refs = read_sequences(data / refs_file, kind="protein")
    qseq = dict(queries)
    rseq = dict(refs)
    ref_shas = {sequence_sha256(s) for s in rseq.values()}
    q_ids = sorted(qseq)
    r_ids = sorted(rseq)
    qsig = dict(zip(q_ids, sketch_batch([qseq[q] for q in q_ids], params), strict=True))
    rsig = dict(zip(r_ids, sketch_batch([rseq[r] for r in r_ids], params), strict=True))
    best_j: dict[str, float] = {}
    best_i: dict[str, float] = {}
    with gzip.open(data / m8, "rt") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            q, t = f[0], f[1]
            if q not in qsig or t not in rsig:
                continue
            j = float(np.mean(qsig[q] == rsig[t]))
            best_j[q] = max(best_j.get(q, 0.0), j)
            ident = float(f[2]) if float(f[11]) + 1e-9 >= COVERAGE else 0.0
            best_i[q] = max(best_i.get(q, 0.0), ident)
    out = []
    for q in q_ids:
        if sequence_sha256(qseq[q]) in ref_shas or best_j.get(q, 0.0) < MIN_JACCARD:
            continue
        out.append((q, best_j[q], best_i.get(q, 0.0)))
    return out


def bin_of(j: float) -> int:
    for i in range(len(EDGES) - 1):
        if j < EDGES[i + 1] or i == len(EDGES) - 2:
            return i
    return len(EDGES) - 2


def fit(rows: list[tuple]) -> list[dict]:
    bins = []
    for i in range(len(EDGES) - 1):
        ident = np.array([r[2] for r in rows if bin_of(r[1]) == i])
        entry = {"jaccard": [EDGES[i], EDGES[i + 1]], "n": int(ident.size)}
        if ident.size:
            q05, q50, q95 = np.quantile(ident, [0.05, 0.5, 0.95])
            entry.update(
                identity_q05=round(float(q05), 4),
                identity_q50=round(float(q50), 4),
                identity_q95=round(float(q95), 4),
                below_coverage=round(float(np.mean(ident == 0.0)), 4),
            )
        bins.append(entry)
    return bins


def predict(bins: list[dict], j: float) -> tuple[float, float, float] | None:
    b = bins[bin_of(j)]
    if not b["n"]:
        return None
    return b["identity_q05"], b["identity_q50"], b["identity_q95"]


def held_out_error(rows: list[tuple]) -> dict:
    halves = [[], []]
    for r in rows:
        halves[int(hashlib.sha256(r[0].encode()).hexdigest(), 16) % 2].append(r)
    inside = total = 0
    abs_err: list[float] = []
    per_bin: dict[int, list[int]] = {}
    counts = {t: {"true": 0, "median": 0, "low": 0, "high": 0} for t in THRESHOLDS}
    unpredicted = 0
    for k in (0, 1):
        bins = fit(halves[k])
        for _q, j, truth in halves[1 - k]:
            pred = predict(bins, j)
            if pred is None:
                unpredicted += 1
                continue
            lo, mid, hi = pred
            total += 1
            ok = lo - 1e-9 <= truth <= hi + 1e-9
            inside += ok
            per_bin.setdefault(bin_of(j), [0, 0])
            per_bin[bin_of(j)][0] += 1
            per_bin[bin_of(j)][1] += ok
            abs_err.append(abs(mid - truth))
            for t in THRESHOLDS:
                c = counts[t]
                c["true"] += truth + 1e-9 >= t
                c["median"] += mid + 1e-9 >= t
                c["low"] += lo + 1e-9 >= t
                c["high"] += hi + 1e-9 >= t
    return {
        "queries": total,
        "not_predicted": unpredicted,
        "interval_coverage": round(inside / total, 4) if total else None,
        "median_absolute_error": round(float(np.median(abs_err)), 4) if abs_err else None,
        "mean_absolute_error": round(float(np.mean(abs_err)), 4) if abs_err else None,
        "interval_coverage_per_bin": {
            f"[{EDGES[i]:g},{EDGES[i + 1]:g})": round(v[1] / v[0], 4) for i, v in sorted(per_bin.items())
        },
        "counts_at_threshold": {f"{t:.2f}": c for t, c in counts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=REPO / "dedup" / "jaccard_identity.json")
    args = parser.parse_args()
    params = SketchParams.default("protein")
    started = time.perf_counter()
    rows: list[tuple] = []
    sources = []
    for name, q, r, m8 in PAIRS:
        got = per_query(args.data, q, r, m8, params)
        rows.extend((f"{name}:{qid}", j, i) for qid, j, i in got)
        sources.append(
            {"pair": name, "queries": q, "references": r, "ground_truth": m8, "test_sequences": len(got)}
        )
        print(f"{name}: {len(got)} test sequences with best Jaccard >= {MIN_JACCARD}")
    entry = {
        "params": params.key(),
        "bins": fit(rows),
        "error": held_out_error(rows),
        "sources": sources,
        "coverage": COVERAGE,
        "min_jaccard": MIN_JACCARD,
        "truth": "MMseqs2 easy-search fident, best over alignments covering >= 80% of the test sequence "
        "(0 when none covers it); GROUND_TRUTH.md",
        "interval": "5% to 95% quantiles of the true identity of test sequences whose best Jaccard is in the bin",
    }
    out = {
        "generated_by": "python benchmarks/calibrate_jaccard.py",
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
        "seconds": round(time.perf_counter() - started, 1),
        "relations": {params.key(): entry},
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    err = entry["error"]
    print(
        f"{len(rows)} test sequences; held out: the 90% interval holds the true identity for "
        f"{err['interval_coverage']:.1%}, median |error| of the median {err['median_absolute_error']:.3f}"
    )
    for t, c in err["counts_at_threshold"].items():
        print(f"  >= {t}: true {c['true']}, median {c['median']}, interval [{c['low']}, {c['high']}]")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
