"""How often our alignment of a pair is MMseqs2's: identity and coverage of every ground-truth hit.

For every hit row of MMseqs2's ground truth (GROUND_TRUTH.md's command: ``--alignment-mode 3``,
default gap costs and composition-bias correction) with ``fident`` and ``qcov`` >= 0.5, the same
query and reference are aligned by ``dedup.verify.align_pair`` (the verifier's aligner), with and
without the composition-bias correction (``dedup/compbias.py``), and compared with MMseqs2's row:

- *same numbers*: our identity and query coverage equal MMseqs2's ``fident`` and ``qcov`` to its
  three decimals (within 0.0015);
- *same verdicts*: at every threshold of 95%, 90%, 80%, 70% and 50% with query coverage 0.8, the
  pair passes for both or for neither.

The rows that still differ with the correction are listed. Pairs: main, bind and deeploc from
``../shared/data/ground-truth``; examples and swissprot when ``bench_peers.py`` has computed their
truth in ``--workdir``. Nothing here is timed.

Usage::

    python benchmarks/mmseqs_agreement.py [--pairs main,bind,deeploc,examples] [--workdir /work/bench/peers]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import bench_peers as bp

sys.path.insert(0, str(bp.REPO))

from dedup.verify import align_pair  # noqa: E402

THRESHOLDS = (0.95, 0.9, 0.8, 0.7, 0.5)
FLOOR = 0.5


def passes(identity: float, coverage: float, t: float) -> bool:
    return identity + 1e-9 >= t and coverage + 1e-9 >= bp.COVERAGE


def agreement(pair: dict) -> tuple[int, dict[bool, int], dict[bool, int], list[str]]:
    seqs: dict[str, str] = {}
    for prefix in ("q", "r"):
        for ident, seq in bp.read_fasta(pair[prefix]):
            seqs.setdefault(ident, seq)
    rows = [row for row in pair["truth"] if row[2] >= FLOOR and row[3] >= FLOOR]
    same = {True: 0, False: 0}
    verdicts = {True: 0, False: 0}
    differ = []
    for q, r, fid, qcov in rows:
        qs, rs = seqs[q.split("~")[0]], seqs[r.split("~")[0]]
        for correct in (True, False):
            a = align_pair(qs, rs, bias_correction=correct)
            ident, cov = (a.identity, a.query_coverage) if a is not None else (0.0, 0.0)
            numbers = abs(ident - fid) < 0.0015 and abs(cov - qcov) < 0.0015
            same[correct] += numbers
            verdicts[correct] += all(passes(ident, cov, t) == passes(fid, qcov, t) for t in THRESHOLDS)
            if correct and not numbers:
                flag = (
                    ""
                    if all(passes(ident, cov, t) == passes(fid, qcov, t) for t in THRESHOLDS)
                    else "  VERDICT"
                )
                differ.append(
                    f"  {q} - {r}: MMseqs2 {fid:.3f} / {qcov:.3f}, ours {ident:.3f} / {cov:.3f}{flag}"
                )
    return len(rows), same, verdicts, differ


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="main,bind,deeploc,examples")
    ap.add_argument("--workdir", type=Path, default=Path("/work/bench/peers"))
    args = ap.parse_args()
    print("| pair | MMseqs2 hits (fident, qcov >= 0.5) | same numbers, corrected | same numbers, uncorrected "
          "| same verdicts, corrected | same verdicts, uncorrected |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    listed = []
    for name in args.pairs.split(","):
        n, same, verdicts, differ = agreement(bp.prepare(name, args.workdir))
        print(
            f"| {name} | {n:,} | {same[True]:,} | {same[False]:,} | {verdicts[True]:,} | {verdicts[False]:,} |"
        )
        listed.append((name, differ))
    for name, differ in listed:
        print(f"\n{name}: {len(differ)} rows with other numbers (corrected; VERDICT where a verdict differs)")
        print("\n".join(differ))


if __name__ == "__main__":
    main()
