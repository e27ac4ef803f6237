"""What a sketch-only file gives away: invert MinHash signatures back to k-mers, and hashes back to peptides.

A ``.llsk`` file (``leakledger sketch``) holds per record the sha256 of the normalised sequence,
its length and its MinHash signature. The permutations are public (they must be: a registry
compares signatures made by different owners), and a protein 5-mer has only 20**5 = 3.2 million
values. So anyone can compute, for every permutation, the value of every 5-mer, and look each
signature value up: a value is the minimum over the sequence's 5-mers, so the 5-mer that
produced it is found (32-bit values, 3.2 million 5-mers: a collision is rare). This script does
exactly that for a real training set and reports, per sequence, the share of its distinct 5-mers
(standard amino acids) recovered, and how many sequences are recovered whole (every distinct
5-mer), by length. It also times hashing every peptide of length 1 to 6 (what inverts the sha256
of a short peptide).

Usage::

    python benchmarks/sketch_reveals.py [FASTA]   (records repeated verbatim are sketched once)
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dedup.llsk import read_sketch, write_sketch  # noqa: E402
from dedup.params import SketchParams  # noqa: E402
from dedup.shingle import batch_shingle_hashes  # noqa: E402
from dedup.sketch import EMPTY_VALUE, _fmix32, permutations  # noqa: E402

AMINO = "ACDEFGHIKLMNPQRSTVWY"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "fasta", nargs="?", type=Path, default=REPO / "fixtures" / "flip_bind_split" / "train.fasta"
    )
    args = parser.parse_args()
    params = SketchParams.default("protein")
    started = time.perf_counter()
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "sketch_reveals.llsk"
    write_sketch(args.fasta, out, kind="protein", skip_identical_duplicates=True)
    sk = read_sketch(out)
    from dedup.parsing import iter_records

    residues = {}
    for rec in iter_records(args.fasta, kind="protein", allow_duplicate_ids=True):
        residues.setdefault(rec.identifier, rec.sequence)

    # Every 5-mer of the standard amino acids, and its shingle hash.
    t0 = time.perf_counter()
    kmers = ["".join(p) for p in itertools.product(AMINO, repeat=params.k)]
    hashes, offsets = batch_shingle_hashes(kmers, params)
    assert (np.diff(offsets) == 1).all()
    mixed = _fmix32(hashes.astype(np.uint32))
    a, b = permutations(params.num_perm, params.seed)
    table_seconds = time.perf_counter() - t0
    # Per permutation: the value of every 5-mer, sorted, and each signature value looked up.
    sigs = sk.signatures.values
    recovered: list[set[int]] = [set() for _ in range(len(sk))]
    t0 = time.perf_counter()
    for i in range(params.num_perm):
        values = mixed * a[i] + b[i]
        order = np.argsort(values, kind="stable")
        sorted_values = values[order]
        col = sigs[:, i]
        pos = np.searchsorted(sorted_values, col)
        pos = np.minimum(pos, len(sorted_values) - 1)
        hit = (sorted_values[pos] == col) & (col != EMPTY_VALUE)
        for row in np.flatnonzero(hit).tolist():
            recovered[row].add(int(order[pos[row]]))
    invert_seconds = time.perf_counter() - t0
    shares, whole, by_len = [], 0, {}
    false_kmers = 0
    for row, ident in enumerate(sk.identifiers):
        seq = residues[ident]
        truth = {seq[j : j + params.k] for j in range(len(seq) - params.k + 1)}
        truth = {t for t in truth if all(c in AMINO for c in t)}
        got = {kmers[x] for x in recovered[row]}
        false_kmers += len(got - truth)
        share = len(got & truth) / len(truth) if truth else 1.0
        shares.append(share)
        whole += share >= 1.0
        bucket = "<100" if len(seq) < 100 else "100-199" if len(seq) < 200 else ">=200"
        by_len.setdefault(bucket, []).append(share)
    # Brute force of short peptides from their sha256 (the exact-tier hash).
    t0 = time.perf_counter()
    n = 0
    for length in range(1, 6):
        for p in itertools.product(AMINO, repeat=length):
            hashlib.sha256("".join(p).encode()).digest()
            n += 1
    brute_seconds = time.perf_counter() - t0
    print(f"{args.fasta}: {len(sk):,} sequences, {params.key()}")
    print(
        f"  5-mer table: {len(kmers):,} 5-mers hashed in {table_seconds:.1f} s; 128 lookups in {invert_seconds:.1f} s"
    )
    print(
        f"  distinct 5-mers recovered per sequence: median {np.median(shares):.1%}, mean {np.mean(shares):.1%}; "
        f"{whole:,} of {len(sk):,} sequences recovered whole; {false_kmers} false 5-mers"
    )
    for bucket in ("<100", "100-199", ">=200"):
        vals = by_len.get(bucket, [])
        if vals:
            print(
                f"  length {bucket}: {len(vals):,} sequences, median share {np.median(vals):.1%}, "
                f"whole {sum(v >= 1.0 for v in vals):,}"
            )
    print(f"  sha256 of every peptide of length 1-5 ({n:,}): {brute_seconds:.1f} s in pure Python, one core")
    print(f"  total {time.perf_counter() - started:.1f} s, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
