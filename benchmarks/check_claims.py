"""Held-out check of the claims: planted mutants of another seed, claimed recall vs measured, per threshold.

Generates a planted set (``benchmarks/planted.py``) with a seed that ``calibrate.py`` does not use,
runs one shipped method on it through ``find_overlap`` and prints, per threshold, the recall the
report claims (estimated from the shipped per-bin recalls and this report's own hits) beside the
recall measured against the construction truth: queries with true identity >= t (and planted
fraction >= the coverage) that the report lists at >= t.

Usage::

    python benchmarks/check_claims.py [--seed 21] [--per-band 600] [--identity 0.5] [--kind protein] [--index-method]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import planted as planting  # noqa: E402

from dedup.method import Method, index_method  # noqa: E402
from dedup.overlap import find_overlap  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--per-band", type=int, default=600)
    ap.add_argument("--identity", type=float, default=0.5)
    ap.add_argument("--kind", default="protein")
    ap.add_argument("--index-method", action="store_true", help="the registry's method (dedup.index_method)")
    args = ap.parse_args()
    queries, references = planting.generate(args.kind, seed=args.seed, per_band=args.per_band, decoys=3000)
    method = (
        index_method(args.kind, identity=args.identity)
        if args.index_method
        else Method(kind=args.kind, identity=args.identity)
    )
    result = find_overlap([(q.query, q.sequence) for q in queries], references, method=method)
    if not result.calibration.get("measured"):
        raise SystemExit(f"method {method.key()} is not in the shipped calibration")
    reported = {h.query: h.identity for h in result.hits}
    truth = {q.query: q.identity for q in queries if q.true_at(method.coverage)}
    print(
        f"method {method.key()}; seed {args.seed}; {len(queries)} planted queries, {len(references)} references\n"
    )
    print("| identity >= | true | found | measured recall | claimed recall [interval] | claimed - measured |")
    print("|---|---|---|---|---|---|")
    for row in result.summary:
        if row.threshold >= 1.0 or row.queries is None or row.recall is None:
            continue
        true_t = [q for q, v in truth.items() if v + 1e-9 >= row.threshold]
        found = sum(reported.get(q, -1.0) + 1e-9 >= row.threshold for q in true_t)
        measured = found / len(true_t)
        low, high = row.recall_interval or (float("nan"), float("nan"))
        print(
            f"| {row.threshold:.0%} | {len(true_t)} | {found} | {measured:.3f} | "
            f"{row.recall:.3f} [{low:.3f}, {high:.3f}] | {row.recall - measured:+.3f} |"
        )


if __name__ == "__main__":
    main()
