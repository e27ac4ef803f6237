"""Fragments inside longer references: recall with and without the containment tier.

MMseqs2's own example pair (Debian ``mmseqs2``: ``QUERY.fasta.gz``, 500 queries, against
``DB.fasta.gz``, 20,000 references). Ground truth is computed here, in this run, with
``mmseqs easy-search`` exactly as ``../shared/data/GROUND_TRUTH.md`` describes (cached in
``--workdir`` for reruns): a query counts at threshold t when it has an alignment with
``fident >= t`` and ``qcov >= 0.8``. Then ``find_overlap`` runs with the tiers of each row at
identity 0.9 (coverage 0.8) and this script counts, per threshold:

- recall: truth queries (MMseqs2 best fident >= t) that we report at >= t, over truth queries;
- false: queries we report at >= t whose MMseqs2 best is below t (or absent).

Usage::

    python benchmarks/bench_containment.py                 # both rows
    python benchmarks/bench_containment.py --workdir /tmp/ll-bench-containment
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import REPO, loadavg

sys.path.insert(0, str(REPO))

from dedup.overlap import find_overlap, read_sequences  # noqa: E402

EXAMPLES = Path("/usr/share/doc/mmseqs2/example-data")
THRESHOLDS = (0.95, 0.9)
COVERAGE = 0.8
FORMAT = "query,target,fident,pident,alnlen,qstart,qend,qlen,tstart,tend,tlen,qcov,tcov,evalue,bits"


def plain_fasta(name: str, workdir: Path) -> Path:
    out = workdir / name.replace(".gz", "")
    if not out.exists():
        with gzip.open(EXAMPLES / name, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def truth(query: Path, db: Path, workdir: Path) -> tuple[dict[str, float], float | None]:
    """Best MMseqs2 fident per query (qcov >= 0.8); the easy-search seconds (None if cached)."""
    hits = workdir / "truth.m8"
    seconds = None
    if not hits.exists():
        t0 = time.perf_counter()
        subprocess.run(
            ["mmseqs", "easy-search", str(query), str(db), str(hits), str(workdir / "mmseqs-tmp"),
             "--alignment-mode", "3", "-s", "7.5", "-e", "10", "--max-seqs", "1000", "--threads", "2",
             "--format-output", FORMAT],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
    best: dict[str, float] = {}
    with open(hits, encoding="utf-8") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if float(f[11]) + 1e-9 >= COVERAGE:
                best[f[0]] = max(best.get(f[0], -1.0), float(f[2]))
    return best, seconds


def accession(identifier: str) -> str:
    """The name MMseqs2 reports for a UniProt header (``tr|A7TBS3|A7TBS3_NEMVE`` -> ``A7TBS3``)."""
    parts = identifier.split("|")
    return parts[1] if len(parts) >= 3 and parts[0] in ("sp", "tr") else identifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/ll-bench-containment")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    qpath, dbpath = plain_fasta("QUERY.fasta.gz", workdir), plain_fasta("DB.fasta.gz", workdir)
    best, mm_seconds = truth(qpath, dbpath, workdir)
    queries = read_sequences(qpath, kind="protein")
    references = read_sequences(dbpath, kind="protein")
    qlen = {accession(q): len(s) for q, s in queries}
    print(f"# MMseqs2 example pair: {len(queries)} queries vs {len(references)} references")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if mm_seconds is not None:
        print(f"# ground truth: mmseqs easy-search in {mm_seconds:.1f} s")
    print()
    print("| tiers | identity | truth | found | recall | false | wall s | CPU s | load 1-min before/after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for tiers in (("exact", "minhash"), ("exact", "minhash", "containment")):
        before, r0, t0 = loadavg(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        result = find_overlap(queries, references, identity=0.9, coverage=COVERAGE, tiers=tiers)
        wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        load = f"{before:.1f}/{loadavg():.1f}"
        ours = {accession(h.query): h for h in result.hits}
        for t in THRESHOLDS:
            want = {q for q, f in best.items() if f + 1e-9 >= t}
            got = {q for q, h in ours.items() if h.identity + 1e-9 >= t}
            found = len(want & got)
            false = sorted(got - want)
            print(
                f"| {'+'.join(tiers)} | >= {t:.0%} | {len(want)} | {found} | {found / len(want):.3f} | "
                f"{len(false)} | {wall:.1f} | {cpu:.1f} | {load} |"
            )
            for q in sorted(want - got):
                print(f"|   missed {q} ({qlen[q]} aa, MMseqs2 fident {best[q]:.3f}) | | | | | | | | |")
            for q in false:
                h = ours[q]
                print(
                    f"|   false {q} -> {h.reference} ({h.tier}, identity {h.identity:.3f}, "
                    f"MMseqs2 best {best.get(q, float('nan')):.3f}) | | | | | | | | |"
                )
        c = result.tiers["containment"]
        if c.ran:
            frag = [h for h in result.hits if h.tier == "containment"]
            print(
                f"|   containment tier: {c.queries} queries, {c.stats.get('aligned_pairs', 0)} pairs aligned, "
                f"{len(frag)} hits, reference coverage "
                + ", ".join(f"{h.query} {h.query_coverage:.2f}/{h.reference_coverage:.2f}" for h in frag)
                + f", {c.seconds:.1f} s | | | | | | | | |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
