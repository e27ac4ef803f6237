"""Each disagreement of ours with the MMseqs2 ground truth in a bench_peers run, pair by pair.

For every pair and threshold of a finished ``bench_peers.py`` run (its ``--workdir``), the truth
queries our file run missed and the pairs it reported that the truth lacks ("false pairs"), each
with the two lengths and three measurements of the same pair:

- **ours**: the verifier's alignment (:meth:`dedup.verify.Verifier.align`, the compiled kernel, with
  MMseqs2's composition-bias correction since aligner v2): identity over aligned columns (MMseqs2's
  fident), query and reference coverage, columns, score;
- **Bio.Align**: ``PairwiseAligner`` with the project's scores (:func:`dedup.alignment.make_biopython_aligner`),
  its first optimal local alignment, measured the same way (the kernel's alignment without the
  correction, which Biopython cannot apply);
- **MMseqs2**: the pair alone, ``easy-search`` with the ground truth's options (GROUND_TRUTH.md:
  ``--alignment-mode 3 -s 7.5 -e 10``), once as is and once with ``--comp-bias-corr 0`` (no
  compositional-bias score correction); when it reports nothing, also without low-complexity
  masking (``--mask 0``) and, for a query shorter than 14 residues (the span of the default
  spaced k-mer), with contiguous 5-mers (``-k 5 --spaced-kmer-mode 0``). Each line is MMseqs2's fident, columns, qcov, its own score and that alignment
  re-scored with the project's scores without the correction (BLOSUM62, a gap of n costs 10 + n since
  aligner v2; run 4 of benchmarks/README used aligner v1's 11 + n).

Usage:
    python benchmarks/explain_peers.py --workdir /tmp/bench-peers --pairs main,examples
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_peers as bp
from _common import REPO

sys.path.insert(0, str(REPO))  # dedup from this checkout

GT = ["--alignment-mode", "3", "-s", "7.5", "-e", "10"]


def columns(a: str, b: str, coords) -> tuple[int, int]:
    """(columns, identical columns) of a Biopython alignment path."""
    cols = same = 0
    for (a0, b0), (a1, b1) in zip(coords.T[:-1], coords.T[1:], strict=True):
        if a1 > a0 and b1 > b0:
            cols += a1 - a0
            same += sum(a[a0 + i] == b[b0 + i] for i in range(a1 - a0))
        else:
            cols += max(a1 - a0, b1 - b0)
    return cols, same


def rescore(qaln: str, taln: str) -> float:
    """An MMseqs2 alignment (its qaln/taln strings) scored with the project's protein scores."""
    from dedup.alignment import scoring

    protein = scoring("protein")
    score, gap = 0.0, None
    for x, y in zip(qaln, taln, strict=True):
        if x == "-" or y == "-":
            side = "q" if x == "-" else "t"
            score -= 1 if gap == side else 12
            gap = side
        else:
            score += protein.matrix[protein.lut[ord(x)], protein.lut[ord(y)]]
            gap = None
    return score


def mmseqs_pair(q: str, r: str, qid: str, rid: str, extra: list[str]) -> str:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "q.fasta").write_text(f">{qid}\n{q}\n")
        Path(d, "r.fasta").write_text(f">{rid}\n{r}\n")
        fmt = "fident,alnlen,qcov,raw,qaln,taln"
        proc = subprocess.run(
            ["mmseqs", "easy-search", f"{d}/q.fasta", f"{d}/r.fasta", f"{d}/o.m8", f"{d}/tmp", *GT, *extra,
             "--threads", "1", "--format-output", fmt],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:  # e.g. "No k-mer could be extracted ... less than 14 residues."
            said = [
                ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith(("No k-mer", "Maybe"))
            ]
            return "failed: " + " ".join(said)
        rows = Path(d, "o.m8").read_text().split("\n")
    if not rows[0]:
        return "no alignment reported"
    fid, alnlen, qcov, raw, qaln, taln = rows[0].split("\t")
    return f"fident {fid} over {alnlen} columns, qcov {qcov}, MMseqs2 score {raw}, ours of it {rescore(qaln, taln):g}"


def explain(qid: str, rid: str, seqs: dict[str, str]) -> list[str]:
    from dedup.alignment import make_biopython_aligner
    from dedup.verify import Verifier

    q, r = seqs[qid], seqs[rid]
    a = Verifier(kind="protein", identity=0.0, coverage=0.0).align(qid, q, rid, r)
    out = [f"    {qid} ({len(q)} aa) vs {rid} ({len(r)} aa)"]
    if a is not None:
        out.append(
            f"      ours      : identity {a.identity:.4f} over {a.alignment_length} columns, qcov "
            f"{a.query_coverage:.4f}, rcov {a.reference_coverage:.4f}, score {a.score:g}"
        )
    aln = make_biopython_aligner("protein").align(q, r)[0]
    cols, same = columns(q, r, aln.coordinates)
    qspan = aln.coordinates[0][-1] - aln.coordinates[0][0]
    out.append(
        f"      Bio.Align : identity {same / cols:.4f} over {cols} columns, qcov {qspan / len(q):.4f}, "
        f"score {aln.score:g}"
    )
    as_is = mmseqs_pair(q, r, qid, rid, [])
    out.append(f"      MMseqs2   : {as_is}")
    out.append(f"        no comp-bias-corr: {mmseqs_pair(q, r, qid, rid, ['--comp-bias-corr', '0'])}")
    if as_is.startswith(("failed", "no alignment")):  # not seeded: low-complexity masking, or too short
        out.append(f"        no masking: {mmseqs_pair(q, r, qid, rid, ['--mask', '0'])}")
        if len(q) < 14:  # the default spaced k-mer spans 14 residues
            short = ["-k", "5", "--spaced-kmer-mode", "0"]
            out.append(f"        contiguous 5-mers: {mmseqs_pair(q, r, qid, rid, short)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workdir", type=Path, required=True, help="bench_peers.py's --workdir of a finished run"
    )
    ap.add_argument("--pairs", default="main,examples")
    ap.add_argument("--thresholds", default="0.95,0.9")
    args = ap.parse_args()
    for name in args.pairs.split(","):
        pair = bp.prepare(name, args.workdir)
        seqs = {}
        for prefix in ("q", "r"):
            for ident, seq in bp.read_fasta(pair[prefix]):
                seqs.setdefault(ident, seq)
        for t in (float(x) for x in args.thresholds.split(",")):
            truth_q, truth_pairs = bp.truth_at(pair, t)
            tsv = pair["dir"] / "run" / f"ours-{t}-file.tsv"
            ours: dict[str, str] = {}
            with open(tsv) as fh:
                next(fh)
                for line in fh:
                    f = line.split("\t")
                    if float(f[2]) + 1e-9 >= t and float(f[3]) + 1e-9 >= bp.COVERAGE:
                        ours[f[0]] = f[1]
            missed = sorted(truth_q - set(ours))
            false = sorted((q, r) for q, r in ours.items() if (q, r) not in truth_pairs)
            print(f"## {name} at >= {t:g}: {len(missed)} missed truth queries, {len(false)} false pairs")
            for q in missed:
                best = max((row for row in pair["truth"] if row[0] == q and row[3] + 1e-9 >= bp.COVERAGE),
                           key=lambda row: row[2])  # fmt: skip
                print(f"  missed: truth has {q} - {best[1]} at fident {best[2]:.3f}, qcov {best[3]:.3f}")
                print("\n".join(explain(q, best[1], seqs)))
            for q, r in false:
                rows = [row for row in pair["truth"] if row[:2] == (q, r)]
                said = f"fident {rows[0][2]:.3f}, qcov {rows[0][3]:.3f}" if rows else "no row for the pair"
                print(f"  false pair: ours {q} - {r}; truth: {said}")
                print("\n".join(explain(q, r, seqs)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
