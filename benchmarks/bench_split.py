"""make_split against DataSAIL: time, peak RSS, cross-part hits by MMseqs2, achieved fractions.

For each data set, in the same run on the same file (identifiers made unique, first occurrence kept):

- ``make_split`` as a user runs it: ``manage.py register_dataset`` into a fresh SQLite database,
  then ``manage.py make_split --identity T --fractions ...`` (graph, packing, registration with
  its standing checks, verification), timed alone with ``/usr/bin/time`` (wall, max RSS of the
  command or its largest child, e.g. mmseqs).
- DataSAIL 1.4.0, C1e with MMseqs2 (``e_sim="mmseqs"``, as its documentation shows), installed by
  this script into its own virtualenv (``--datasail-venv``, default ``var/bench-datasail``), never
  into the project's; its Python API is called with the same fractions and threads.

Then every split is measured the same way, by MMseqs2 alone (the ground truth's command, -s 7.5,
coverage of the later part's record >= 50% with ``-c 0.5 --cov-mode 2``): for each part after the
first (train, validation, test), its records with a hit at >= 30/50/70/90% identity (fident) in
the parts before it; and the fractions each part got.

Usage:

    python benchmarks/bench_split.py                                  # FLIP bind, at 30%
    python benchmarks/bench_split.py --datasets bind,ss --identity 0.3
    python benchmarks/bench_split.py --datasets swissprot --swissprot-n 100000 --identity 0.5 --skip-datasail
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data"))
LARGE = Path(os.environ.get("LEAKLEDGER_LARGE_DATA", REPO.parent / "large-data"))
DATASETS = {
    "bind": REPO / "fixtures" / "flip_bind_split" / "one_vs_many.fasta",
    "ss": SHARED / "splits" / "flip-secondary-structure" / "train.fasta",
    "swissprot": LARGE / "swissprot-2014.fasta",
}
PARTS = ("train", "validation", "test")
THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
DATASAIL = "datasail==1.4.0"

DATASAIL_RUNNER = r"""
import sys, time
from datasail.sail import datasail
fasta, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
fractions = [float(x) for x in sys.argv[4].split(",")]
e_splits, _f, _i = datasail(
    techniques=["C1e"], splits=fractions, names=["train", "validation", "test"][: len(fractions)],
    e_type="P", e_data=fasta, e_sim="mmseqs", threads=threads, output=out,
)
with open(out + "/assignment.tsv", "w") as fh:
    for k, v in e_splits["C1e"][0].items():
        fh.write(f"{k}\t{v}\n")
"""


def read_fasta(path: Path) -> dict[str, str]:
    records: dict[str, str] = {}
    ident, chunks = None, []
    with open(path) as fh:
        for line in fh:
            if line.startswith(">"):
                if ident is not None and ident not in records:
                    records[ident] = "".join(chunks)
                ident, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if ident is not None and ident not in records:
        records[ident] = "".join(chunks)
    return records


def prepare(name: str, work: Path, n: int | None) -> Path:
    """The data set as a FASTA with unique identifiers (a seeded random sample of n for swissprot)."""
    records = read_fasta(DATASETS[name])
    if n is not None and n < len(records):
        keys = sorted(random.Random(0).sample(sorted(records), n))
        records = {k: records[k] for k in keys}
    out = work / f"{name}.fasta"
    out.write_text("".join(f">{k}\n{v}\n" for k, v in records.items()))
    return out


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, int, str]:
    """Run under /usr/bin/time: (wall seconds, max RSS in MB, stdout). Raises with stderr's tail on failure."""
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %M", *cmd], capture_output=True, text=True, env=env, cwd=cwd
    )
    match = re.findall(r"TIME ([\d.]+) (\d+)", proc.stderr)
    if proc.returncode != 0 or not match:
        tail = " | ".join(proc.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"{' '.join(map(str, cmd[:3]))} ... failed ({proc.returncode}): {tail}")
    wall, rss = match[-1]
    return float(wall), int(rss) // 1024, proc.stdout


def run_make_split(fasta: Path, work: Path, identity: float, fractions: str, threads: int, extra: list[str]):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'make.sqlite3'}",
        "LEAKLEDGER_DATA_DIR": str(work / "var"),
    }
    env.pop("CELERY_BROKER_URL", None)
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [*manage, "register_dataset", str(fasta), "--name", "bench", "--kind", "protein"],
        env=env,
        check=True,
        capture_output=True,
    )
    cmd = [*manage, "make_split", "bench@1", "--name", "made", "--identity", str(identity)]
    cmd += ["--fractions", fractions, "--threads", str(threads), "--oversize", "other", "--json", *extra]
    wall, rss, out = timed(cmd, env=env)
    result = json.loads(out)
    dump = (
        "from registry.models import SplitMembership as M; import json; print(json.dumps(dict("
        "M.objects.filter(part__split__name='made').values_list('record__identifier', 'part__name'))))"
    )
    shell = subprocess.run(
        [*manage, "shell", "-c", dump], env=env, check=True, capture_output=True, text=True
    )
    assignment = json.loads(shell.stdout.strip().splitlines()[-1])  # the last line: Django may log before it
    att = result["attestation"]
    return (
        wall,
        rss,
        assignment,
        {
            "attested_violations": att["violation_count"],
            "claim_holds": att["claim"]["holds"],
            "graph_seconds": result["provenance"]["graph"]["seconds"],
            "rounds": len(result["provenance"].get("rounds", [])),
            "components": result["provenance"]["graph"]["components"],
            "largest": result["provenance"]["graph"]["largest_components"][:3],
        },
    )


def ensure_datasail(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    check = subprocess.run([str(python), "-c", "import datasail"], capture_output=True)
    if check.returncode != 0:
        print(f"installing {DATASAIL} into {venv} (about 1.2 GB) ...", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "-q", DATASAIL], check=True)
    return python


def run_datasail(python: Path, fasta: Path, work: Path, fractions: str, threads: int):
    out = work / "datasail"
    out.mkdir(exist_ok=True)
    script = work / "run_datasail.py"
    script.write_text(DATASAIL_RUNNER)
    values = ",".join(v.split("=")[1] for v in fractions.split(","))
    env = {**os.environ, "PATH": f"{python.parent}:{os.environ['PATH']}"}
    wall, rss, _ = timed(
        [str(python), str(script), str(fasta), str(out), str(threads), values], env=env, cwd=work
    )
    assignment = dict(line.split("\t") for line in (out / "assignment.tsv").read_text().splitlines())
    return wall, rss, assignment


def cross_part_hits(records: dict[str, str], assignment: dict[str, str], work: Path, threads: int) -> dict:
    """Per threshold: records of a later part with an MMseqs2 hit in the parts before it."""
    counts = {t: 0 for t in THRESHOLDS}
    names = [p for p in PARTS if p in set(assignment.values())]
    for i, later in enumerate(names[1:], start=1):
        earlier = set(names[:i])
        q = work / "q.fasta"
        t = work / "t.fasta"
        q.write_text("".join(f">{k}\n{records[k]}\n" for k, p in assignment.items() if p == later))
        t.write_text("".join(f">{k}\n{records[k]}\n" for k, p in assignment.items() if p in earlier))
        out = work / "hits.m8"
        subprocess.run(
            [
                "mmseqs",
                "easy-search",
                q,
                t,
                out,
                work / "mmtmp",
                "--alignment-mode",
                "3",
                "-s",
                "7.5",
                "-e",
                "10",
            ]
            + ["--max-seqs", "1000", "--threads", str(threads), "-v", "1", "-c", "0.5", "--cov-mode", "2"]
            + ["--format-output", "query,target,fident"],
            check=True,
        )
        best: dict[str, float] = {}
        for line in out.read_text().splitlines():
            query, _target, fident = line.split("\t")
            best[query] = max(best.get(query, 0.0), float(fident))
        for threshold in THRESHOLDS:
            counts[threshold] += sum(1 for v in best.values() if v >= threshold)
    return counts


def fractions_of(assignment: dict[str, str], total: int) -> str:
    got = {p: sum(1 for v in assignment.values() if v == p) for p in sorted(set(assignment.values()))}
    text = " ".join(f"{p} {n / total:.3f}" for p, n in got.items())
    missing = total - len(assignment)
    return text + (f" (unassigned {missing})" if missing else "")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="bind", help="comma-separated among bind, ss, swissprot")
    parser.add_argument("--swissprot-n", type=int, default=100_000)
    parser.add_argument("--identity", type=float, default=0.3)
    parser.add_argument("--fractions", default="train=0.8,validation=0.1,test=0.1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-datasail", action="store_true")
    parser.add_argument("--datasail-venv", type=Path, default=REPO / "var" / "bench-datasail")
    parser.add_argument(
        "--make-split-args",
        action="append",
        help="extra make_split arguments, e.g. '--graph-sensitivity 4'; repeat for several make_split rows",
    )
    args = parser.parse_args()
    rows = []
    for name in args.datasets.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bench-split-{name}-") as tmp:
            work = Path(tmp)
            fasta = prepare(name, work, args.swissprot_n if name == "swissprot" else None)
            records = read_fasta(fasta)
            total = len(records)
            t0 = time.perf_counter()
            for variant in args.make_split_args or [""]:
                run_dir = work / f"make-{len(rows)}"
                run_dir.mkdir()
                wall, rss, assignment, info = run_make_split(
                    fasta, run_dir, args.identity, args.fractions, args.threads, variant.split()
                )
                hits = cross_part_hits(records, assignment, work, args.threads)
                rows.append(
                    [
                        name,
                        total,
                        f"make_split {variant}".strip(),
                        wall,
                        rss,
                        hits,
                        fractions_of(assignment, total),
                        info,
                    ]
                )
                print(json.dumps({"row": rows[-1][:5] + rows[-1][6:], "hits": hits}), file=sys.stderr)
            if not args.skip_datasail:
                try:
                    python = ensure_datasail(args.datasail_venv)
                    wall, rss, assignment = run_datasail(python, fasta, work, args.fractions, args.threads)
                    hits = cross_part_hits(records, assignment, work, args.threads)
                    rows.append(
                        [
                            name,
                            total,
                            "DataSAIL C1e mmseqs",
                            wall,
                            rss,
                            hits,
                            fractions_of(assignment, total),
                            {},
                        ]
                    )
                except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
                    rows.append([name, total, "DataSAIL C1e mmseqs", None, None, None, f"failed: {exc}", {}])
            print(f"{name}: done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(
        f"\nidentity {args.identity}, fractions {args.fractions}, {args.threads} threads; cross-part hits by "
        "MMseqs2 -s 7.5, coverage >= 50% of the later part's record\n"
    )
    print(
        "| data | records | method | wall s | peak RSS MB | hits >=30% | >=50% | >=70% | >=90% | fractions | notes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, total, method, wall, rss, hits, fractions, info in rows:
        h = [str(hits[t]) if hits else "-" for t in THRESHOLDS]
        w = f"{wall:.1f}" if wall is not None else "-"
        r = str(rss) if rss is not None else "-"
        notes = ", ".join(f"{k} {v}" for k, v in info.items())
        print(f"| {name} | {total:,} | {method} | {w} | {r} | {' | '.join(h)} | {fractions} | {notes} |")


if __name__ == "__main__":
    main()
