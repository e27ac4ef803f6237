"""Sketching speed: dedup.sketch_batch vs the datasketch per-record loop vs Mash, one core.

Every method sketches the same first N proteins of Swiss-Prot (k-mer MinHash,
128 hash values) in its own child process pinned to one CPU, so that each
reports its own peak RSS. Run from the repository root:

    /work/venv/bin/python benchmarks/bench_sketch.py [--n 50000] [--fasta PATH] [--cpu 0]

Rows (the headline is "end-to-end": from the file, as Mash reads its file):
  dedup end-to-end    from the file: dedup.parsing.iter_records (parse, normalise, validate,
                      duplicate identifiers checked) + sketch_chunks, in one process
  dedup CLI           `python -m dedup sketch FILE --out TSV`: a whole fresh process (import, JIT
                      cache load, parse, sketch, write the signatures), like `mash sketch`
  dedup (numba)       kernel only: sketch_batch on pre-parsed in-memory strings (not a headline)
  dedup (numpy)       the fallback without numba, on a subset, extrapolated as seqs/s
  datasketch loop     per record: MinHash(num_perm=128, seed=1) + update_batch of k-mer bytes,
                      datasketch's default SHA1 hash, on a subset (seqs/s of that subset)
  datasketch, ours    the same loop with dedup.shingle.hashfunc: values identical to dedup's
  mash sketch         `mash sketch -a -i -k 5 -s 128 -p 1` on the same FASTA, the same k as ours
                      (C++, bottom-k sketch: one hash per k-mer, where k-permutation MinHash does
                      128), timed as a whole process like the dedup CLI row

The fast methods (dedup numba, end-to-end, CLI, Mash) run --repeat times (default 3)
and the fastest run is reported: the machine is shared, so slow runs measure the
neighbours. The first-call JIT cost of the numba kernel is measured separately, in a fresh
process, with an empty cache (compile) and with the on-disk cache (load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import LARGE

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FASTA = LARGE / "swissprot-2014.fasta"


def read_fasta(path: Path) -> list[str]:
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    with open(path) as fh:
        return [seq for _title, seq in SimpleFastaParser(fh)]


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def worker(method: str, fasta: Path, subset: int, k: int, num_perm: int) -> dict:
    """Run one method in this (child) process and return its measurements."""
    from dedup.params import SketchParams

    params = SketchParams("protein", k, num_perm=num_perm)
    if method == "jit":
        t0 = time.perf_counter()
        from dedup.sketch import sketch_batch

        sketch_batch(["MKVLAAGIV"], params, backend="numba")
        return {"seconds": time.perf_counter() - t0}
    if method == "mash":
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                "mash",
                "sketch",
                "-a",
                "-i",
                "-k",
                str(k),
                "-s",
                str(num_perm),
                "-p",
                "1",
                "-o",
                f"{tmp}/out",
                str(fasta),
            ]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            seconds = time.perf_counter() - t0
        return {
            "seconds": seconds,
            "n": len(read_fasta(fasta)),
            "rss": peak_rss_mib(resource.RUSAGE_CHILDREN),
        }
    if method == "cli":
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "dedup", "sketch", "--kind", "protein", "--k", str(k)]
            cmd += ["--num-perm", str(num_perm), "--out", f"{tmp}/out.tsv", str(fasta)]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            seconds = time.perf_counter() - t0
            with open(f"{tmp}/out.tsv") as fh:
                n = sum(1 for line in fh if line.strip()) - 1  # minus the header line
        return {"seconds": seconds, "n": n, "rss": peak_rss_mib(resource.RUSAGE_CHILDREN)}
    if method == "end_to_end":
        from dedup.parsing import iter_records
        from dedup.sketch import sketch_batch, sketch_chunks

        sketch_batch(["MKVLAAGIV"], params)  # load the compiled kernel before timing
        t0 = time.perf_counter()
        n = 0
        records = (r.sequence for r in iter_records(fasta, kind="protein"))
        for chunk in sketch_chunks(records, params, chunk_size=8192):
            n += chunk.shape[0]
        return {"seconds": time.perf_counter() - t0, "n": n, "rss": peak_rss_mib()}
    seqs = read_fasta(fasta)
    if subset:
        seqs = seqs[:subset]
    if method in ("numba", "numpy"):
        from dedup.sketch import sketch_batch

        sketch_batch(seqs[:10], params, backend=method)  # load the compiled kernel before timing
        t0 = time.perf_counter()
        sketch_batch(seqs, params, backend=method)
        return {"seconds": time.perf_counter() - t0, "n": len(seqs), "rss": peak_rss_mib()}
    if method in ("datasketch", "datasketch_ours"):
        import datasketch

        from dedup.shingle import hashfunc

        kwargs = {"hashfunc": hashfunc(params)} if method == "datasketch_ours" else {}
        t0 = time.perf_counter()
        for seq in seqs:
            m = datasketch.MinHash(num_perm=num_perm, seed=1, **kwargs)
            data = seq.encode()
            m.update_batch([data[i : i + k] for i in range(len(data) - k + 1)])
        return {"seconds": time.perf_counter() - t0, "n": len(seqs), "rss": peak_rss_mib()}
    raise ValueError(method)


def run_child(method: str, fasta: Path, subset: int, args, extra_env: dict | None = None) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    env.update(extra_env or {})
    cmd = [sys.executable, __file__, "--worker", method, "--fasta", str(fasta), "--subset", str(subset)]
    cmd += ["--k", str(args.k), "--num-perm", str(args.num_perm), "--cpu", str(args.cpu)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000, help="first N sequences of the FASTA (default 50,000)")
    ap.add_argument("--fasta", type=Path, default=DEFAULT_FASTA)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--datasketch-n", type=int, default=2_000, help="subset for the datasketch loops")
    ap.add_argument("--numpy-n", type=int, default=10_000, help="subset for the numpy fallback")
    ap.add_argument("--cpu", type=int, default=0, help="the one CPU every method is pinned to")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the fast methods; the fastest is reported")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--subset", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.cpu})  # children (and mash) inherit the single CPU
    if args.worker:
        print(json.dumps(worker(args.worker, args.fasta, args.subset, args.k, args.num_perm)))
        return
    if not args.fasta.exists():
        sys.exit(f"{args.fasta} not found: build it with ../shared/data/get-large.sh or pass --fasta")

    load_before = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory() as tmp:
        subset_fasta = Path(tmp) / "first.fasta"
        from Bio.SeqIO.FastaIO import SimpleFastaParser

        n = 0
        residues = 0
        with open(args.fasta) as fh, open(subset_fasta, "w") as out:
            for title, seq in SimpleFastaParser(fh):
                if n == args.n:
                    break
                out.write(f">{title}\n{seq}\n")
                n += 1
                residues += len(seq)
        rows = []
        jit_cold = run_child("jit", subset_fasta, 0, args, {"NUMBA_CACHE_DIR": f"{tmp}/numba-cache"})
        jit_warm = run_child("jit", subset_fasta, 0, args, {"NUMBA_CACHE_DIR": f"{tmp}/numba-cache"})
        methods = [
            ("dedup end-to-end from the file (iter_records + sketch_chunks)", "end_to_end", 0),
            ("python -m dedup sketch FILE --out TSV (whole process)", "cli", 0),
            ("dedup sketch_batch (numba), pre-parsed strings: kernel only", "numba", 0),
            (f"dedup sketch_batch (numpy), first {args.numpy_n}", "numpy", args.numpy_n),
            (f"datasketch loop, SHA1 hash, first {args.datasketch_n}", "datasketch", args.datasketch_n),
            (
                f"datasketch loop, dedup hashfunc, first {args.datasketch_n}",
                "datasketch_ours",
                args.datasketch_n,
            ),
            (f"mash sketch -a -i -k {args.k} -s {args.num_perm} -p 1 (whole process)", "mash", 0),
        ]
        for label, method, subset in methods:
            if method == "mash" and not any(
                (Path(d) / "mash").exists() for d in os.environ["PATH"].split(":")
            ):
                rows.append((label, None))
                continue
            repeats = args.repeat if method in ("numba", "end_to_end", "cli", "mash") else 1
            runs = [run_child(method, subset_fasta, subset, args) for _ in range(repeats)]
            rows.append((label, min(runs, key=lambda r: r["seconds"])))

    rate = {label: r["n"] / r["seconds"] for label, r in rows if r}
    mash = rate.get(methods[-1][0])
    ds = rate.get(methods[4][0])
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    print(
        f"machine: {cpu}, {os.cpu_count()} CPUs, pinned to CPU {args.cpu}; Python {platform.python_version()}"
    )
    print(f"data: first {n:,} sequences of {args.fasta.name} ({residues / n:.0f} residues mean); ", end="")
    print(
        f"k={args.k}, {args.num_perm} permutations; load average before {load_before}, after {os.getloadavg()[0]:.2f}"
    )
    print(f"command: python benchmarks/bench_sketch.py {' '.join(sys.argv[1:])}")
    print(
        f"first sketch in a fresh process (import dedup + numba JIT): {jit_cold['seconds']:.2f} s compiling, "
        f"{jit_warm['seconds']:.2f} s with the on-disk cache"
    )
    print()
    print("| method | sequences | seconds | seqs/s | x Mash | x datasketch | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        if r is None:
            print(f"| {label} | - | - | not installed | | | |")
            continue
        s = rate[label]
        xm = f"{s / mash:.2f}" if mash else "-"
        xd = f"{s / ds:.1f}" if ds else "-"
        print(f"| {label} | {r['n']:,} | {r['seconds']:.2f} | {s:,.0f} | {xm} | {xd} | {r['rss']:.0f} |")


if __name__ == "__main__":
    main()
