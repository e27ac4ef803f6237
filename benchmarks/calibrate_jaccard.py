"""Measure the Jaccard-to-identity relation on real pairs; write dedup/jaccard_identity.json.

A check against a sketch-only training set (``leakledger sketch``) cannot align: the registry
has signatures and lengths, not residues. Its MinHash tier takes the LSH candidates of each query
(the registry's banding, Jaccard >= 0.05), reads an identity interval for each from this
relation, and reports the candidate with the highest estimate (``Relation.best``). This script
measures the relation on real train/test pairs with MMseqs2 ground truth
(``../shared/data/ground-truth``) with exactly that candidate generation: for every candidate
pair, the Jaccard estimated from the default protein signatures, the pair's length class
(reference shorter than 0.8 x the query, similar, longer than 1.25 x) and the aligned identity
(MMseqs2's best ``fident`` for the pair among alignments covering >= 80% of the test sequence; 0
when there is none: the full check would not report the pair). Test sequences with an identical
training sequence are left out (the exact tier finds them, certain).

Per class and Jaccard bin: the 5%, 50% and 95% quantiles of the aligned identity. The error is
measured out of sample, per test sequence, as a report uses the relation: the test sequences are
split in two halves by a hash of their identifier, the quantiles fitted on one half predict the
other (both ways), and the shipped numbers say how often the test sequence's true best identity
(over its candidates) fell inside the interval of the chosen candidate, how far the median was
from it, and the counts at each threshold (median at or above it, the interval's ends, the truth).
The shipped quantiles are fitted on all sequences.

Tried and not used: the best Jaccard per test sequence without length classes (held-out median
error 0.053 but intervals [0, 0.9] for Jaccard 0.2-0.7, where test sequences contain a shorter
training sequence and fail the coverage rule), and the query's containment estimated from Jaccard
and the two lengths (median error 0.153).

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

from dedup.jaccard_identity import LENGTH_CLASSES, MIN_PAIRS, Relation, length_class  # noqa: E402
from dedup.lsh import band_keys, lsh_params  # noqa: E402
from dedup.method import INDEX_LSH_THRESHOLD  # noqa: E402
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


def candidate_pairs(data: Path, queries_file: str, refs_file: str, m8: str, params: SketchParams) -> dict:
    """Per non-identical test sequence: its LSH candidate pairs ``(jaccard, qlen, rlen, identity)``.

    Candidates are the training sequences sharing a band key with it under the registry's banding
    (:data:`dedup.method.INDEX_LSH_THRESHOLD`) with Jaccard >= the MinHash floor: exactly what the
    registry's MinHash tier sees. ``identity`` is MMseqs2's best ``fident`` for the pair among
    alignments covering >= 80% of the test sequence, 0 when there is none.
    """
    queries = read_sequences(data / queries_file, kind="protein")
    refs = read_sequences(data / refs_file, kind="protein")
    qseq = dict(queries)
    rseq = dict(refs)
    ref_shas = {sequence_sha256(s) for s in rseq.values()}
    q_ids = [q for q in sorted(qseq) if sequence_sha256(qseq[q]) not in ref_shas]
    r_ids = sorted(rseq)
    qsig = sketch_batch([qseq[q] for q in q_ids], params)
    rsig = sketch_batch([rseq[r] for r in r_ids], params)
    bands, rows = lsh_params(INDEX_LSH_THRESHOLD, params.num_perm)
    qkeys = band_keys(qsig, bands, rows)
    rkeys = band_keys(rsig, bands, rows)
    buckets: dict[tuple[int, int], list[int]] = {}
    for ri, keys in enumerate(rkeys.tolist()):
        for b, key in enumerate(keys):
            buckets.setdefault((b, key), []).append(ri)
    aligned: dict[tuple[str, str], float] = {}
    with gzip.open(data / m8, "rt") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            ident = float(f[2]) if float(f[11]) + 1e-9 >= COVERAGE else 0.0
            aligned[(f[0], f[1])] = max(aligned.get((f[0], f[1]), 0.0), ident)
    out: dict[str, list[tuple[float, int, int, float]]] = {}
    for qi, q in enumerate(q_ids):
        cands = {ri for b, key in enumerate(qkeys[qi].tolist()) for ri in buckets.get((b, key), ())}
        rows_q = []
        for ri in sorted(cands):
            j = float(np.mean(qsig[qi] == rsig[ri]))
            if j + 1e-12 < MIN_JACCARD:
                continue
            r = r_ids[ri]
            rows_q.append((j, len(qseq[q]), len(rseq[r]), aligned.get((q, r), 0.0)))
        if rows_q:
            out[q] = rows_q
    return out


def fit(per_q: dict[str, list[tuple]]) -> dict[str, list[dict]]:
    """Per length class and Jaccard bin: quantiles of the pairs' aligned identity."""
    classes: dict[str, list[dict]] = {}
    pairs = [p for rows in per_q.values() for p in rows]
    for name, _lo, _hi in LENGTH_CLASSES:
        bins = []
        for i in range(len(EDGES) - 1):
            last = i == len(EDGES) - 2
            ident = np.array(
                [
                    p[3]
                    for p in pairs
                    if length_class(p[1], p[2]) == name
                    and EDGES[i] - 1e-12 <= p[0]
                    and (p[0] < EDGES[i + 1] - 1e-12 or last)
                ]
            )
            entry: dict = {"jaccard": [EDGES[i], EDGES[i + 1]], "n": int(ident.size)}
            if ident.size >= MIN_PAIRS:
                q05, q50, q95 = np.quantile(ident, [0.05, 0.5, 0.95])
                entry.update(
                    identity_q05=round(float(q05), 4),
                    identity_q50=round(float(q50), 4),
                    identity_q95=round(float(q95), 4),
                    below_coverage=round(float(np.mean(ident == 0.0)), 4),
                )
            bins.append(entry)
        classes[name] = bins
    return classes


def held_out_error(per_q: dict[str, list[tuple]], params: SketchParams) -> dict:
    """Fit on one half of the test sequences, predict the other (both ways), as the MinHash tier predicts."""
    halves: list[dict] = [{}, {}]
    for q, rows in per_q.items():
        halves[int(hashlib.sha256(q.encode()).hexdigest(), 16) % 2][q] = rows
    inside = total = unpredicted = 0
    abs_err: list[float] = []
    counts = {t: {"true": 0, "median": 0, "low": 0, "high": 0} for t in THRESHOLDS}
    for k in (0, 1):
        relation = Relation(params.key(), {n: tuple(b) for n, b in fit(halves[k]).items()}, {})
        for rows in halves[1 - k].values():
            truth = max(p[3] for p in rows)
            chosen = relation.best([(p[0], p[1], p[2]) for p in rows])
            if chosen is None:
                unpredicted += 1
                continue
            lo, mid, hi = chosen[1]
            total += 1
            inside += lo - 1e-9 <= truth <= hi + 1e-9
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
        "counts_at_threshold": {f"{t:.2f}": c for t, c in counts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=REPO / "dedup" / "jaccard_identity.json")
    args = parser.parse_args()
    params = SketchParams.default("protein")
    started = time.perf_counter()
    per_q: dict[str, list[tuple]] = {}
    sources = []
    for name, q, r, m8 in PAIRS:
        got = candidate_pairs(args.data, q, r, m8, params)
        per_q.update({f"{name}:{qid}": rows for qid, rows in got.items()})
        n_pairs = sum(len(v) for v in got.values())
        sources.append(
            {
                "pair": name,
                "queries": q,
                "references": r,
                "ground_truth": m8,
                "test_sequences": len(got),
                "pairs": n_pairs,
            }
        )
        print(f"{name}: {len(got)} test sequences with LSH candidates, {n_pairs} candidate pairs")
    entry = {
        "params": params.key(),
        "classes": fit(per_q),
        "error": held_out_error(per_q, params),
        "sources": sources,
        "coverage": COVERAGE,
        "min_jaccard": MIN_JACCARD,
        "candidates": f"LSH candidates of the registry's banding (threshold {INDEX_LSH_THRESHOLD}) with Jaccard >= "
        f"{MIN_JACCARD}; per query the candidate with the highest estimated identity (Relation.best)",
        "truth": "MMseqs2 easy-search fident, best over the pair's alignments covering >= 80% of the test "
        "sequence (0 when none covers it); GROUND_TRUTH.md",
        "interval": "5% to 95% quantiles of the aligned identity of candidate pairs in the same length class "
        "and Jaccard bin",
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
        f"{len(per_q)} test sequences; held out: the 90% interval holds the true identity for "
        f"{err['interval_coverage']:.1%}, median |error| of the median {err['median_absolute_error']:.3f}"
    )
    for t, c in err["counts_at_threshold"].items():
        print(f"  >= {t}: true {c['true']}, median {c['median']}, interval [{c['low']}, {c['high']}]")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
