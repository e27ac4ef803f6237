"""Overlap vs peers: the same pairs, the same files, each tool as its documentation recommends.

For every pair of real datasets (test queries vs a training reference) and every identity
threshold (default 95% and 90%), each tool is asked "which test records have a training record
at >= t identity?", in one run, back to back, each tool in a child process from the same plain
FASTA files (identifiers prefixed ``q_`` / ``r_`` so that the two sets never collide). Per tool
and threshold the table shows wall time, CPU time (user + sys of the child and its children,
``wait4``), peak RSS, the queries found, recall against MMseqs2's ground truth (fident >= t,
qcov >= 0.8; ``../shared/data/GROUND_TRUTH.md``), the recall of the non-exact hits on its own
(truth minus the queries with an identical reference sequence), false pairs (reported
query-reference pairs that are not in the truth) and the load average (1 min) before and after
the row.

The truth is MMseqs2's hits at fident >= t and qcov >= 0.8 plus every pair of identical sequences:
an identical pair has fident 1 and qcov 1 by the definition, but MMseqs2 cannot report some of them
(a peptide shorter than its 14-residue spaced k-mer, a low-complexity protein it masks entirely;
``benchmarks/README.md``, "The missed queries and false pairs"). The header of each threshold's
table says how many identical pairs were added that MMseqs2 does not report, so that MMseqs2's
recall falls by exactly those, and a tool that reports them is not charged a false pair.

Tools and parameters (written down in the printed table too):
  ours        ``python -m dedup overlap Q R --identity t --coverage 0.8 --threads <cores> --pairs-out``:
              whatever is merged (its default tiers); the CLI builds its in-memory index on every call.
              Before a pair's first row of ours, an untimed warm-up (``warm_ours``: 50 queries, 200
              references) fills numba's on-disk kernel cache, as an installed copy has it.
  ours-index  the same against ``python -m dedup index R -o ref.llidx``, built once per pair and
              timed apart (the "ours index" row), as MMseqs2's ``createdb`` + ``createindex`` are.
  mmseqs      the expert run: ``createdb`` (both sets) + ``createindex`` of the reference, timed
              as a separate "prep" row; then ``search --min-seq-id t -c 0.8 --cov-mode 2``
              ``--alignment-mode 3`` (without it MMseqs2 estimates the identity from the score: identical
              sequences came out at 0.91-0.99 on FLIP bind), ``--threads <cores>``, at the default sensitivity and at ``-s 1``, each on a fresh
              tmp directory, then ``convertalis`` (fident, qcov). Its databases and index are built
              once per pair ("mmseqs prep") and used at both thresholds.
  cd-hit-2d   ``cd-hit-2d -i R -i2 Q -c t -n 5 -d 0 -M 0 -T <cores>`` (db1 = the reference, db2 = the
              queries: the queries similar to the reference), pairs read from the .clstr file.
  mash        ``mash sketch -a -i -k 5 -s 1000 -p <cores>`` of both sets (k=5, as ours), then
              ``mash dist -d (1 - t)``: Mash's distance estimates the per-residue mutation rate.
  datasketch  the per-record loop: ``MinHash(num_perm=128)`` of each record's 5-mers,
              ``MinHashLSH(threshold=J(t), num_perm=128)`` over the reference, query each test
              record, keep candidates with estimated Jaccard >= J(t), where J(t) = c / (2 - c),
              c = t**5 (uniform substitutions at identity t keep t**5 of the 5-mers).
  sourmash    protein sketches per record (``sourmash.MinHash(n=0, ksize=5, is_protein=True,
              scaled=1)``, i.e. every 5-mer, sourmash's own hashing), then the containment of each
              query in each reference that shares a hash (an inverted hash index, what sourmash's
              RevIndex / branchwater ``manysearch`` do; the branchwater plugin has no wheel for this
              machine and cannot be built offline), kept at containment >= t**5. Runs in its own
              virtualenv (``--sourmash-python``, default ``/tmp/i8b-sourmash/bin/python``; create it
              with ``python3 -m venv /tmp/i8b-sourmash && /tmp/i8b-sourmash/bin/pip install
              sourmash==4.9.4``); never in the project's requirements.

Pairs: main (DeepFRI nrPDB-GO test vs FLIP secondary-structure train), bind (FLIP bind one_vs_many),
deeploc (DeepLoc 1.0 test vs its validation sample), examples (MMseqs2's example QUERY vs DB,
Debian ``mmseqs2-examples``), swissprot (DeepLoc 1.0 test vs Swiss-Prot 2014, 459,503 records,
``../large-data``). The issue-14 pairs are main, examples and swissprot. For examples and swissprot
the truth is computed here with the GROUND_TRUTH.md command and kept in --workdir, because it is
the reference, not a timed result. Tools that cannot run on a pair in reasonable time are listed
in ``SKIP`` and printed as "not run" with the reason. After the tables, a "Done when" table answers
the issue's questions from this run's rows alone (``print_verdicts``).

Usage:
    python benchmarks/bench_peers.py                                  # all pairs, all tools
    python benchmarks/bench_peers.py --pairs bind --tools ours,mash   # a quick check
    python benchmarks/bench_peers.py --pairs main,examples,swissprot  # the issue-14 table
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import LARGE, REPO, SHARED, compile_bytecode, loadavg, timed

SPLITS = SHARED / "splits"
TRUTH = SHARED / "ground-truth"
EXAMPLES = Path("/usr/share/doc/mmseqs2/example-data")
PAIRS = {
    "main": (
        SPLITS / "deepfri-nrpdb" / "nrPDB-GO_2019.06.18_test_sequences.fasta",
        SPLITS / "flip-secondary-structure" / "train.fasta",
        TRUTH / "deepfri-go-test_vs_flip-ss-train.hits.m8.gz",
    ),
    "bind": (
        SPLITS / "flip-bind" / "test.fasta",
        SPLITS / "flip-bind" / "train.fasta",
        TRUTH / "flip-bind.hits.m8.gz",
    ),
    "deeploc": (
        SPLITS / "deeploc1" / "deeploc_test_set.fasta",
        SPLITS / "deeploc1" / "deeploc_our_val_set.fasta",
        TRUTH / "deeploc1-test_vs_val.hits.m8.gz",
    ),
    "examples": (EXAMPLES / "QUERY.fasta.gz", EXAMPLES / "DB.fasta.gz", None),
    "swissprot": (SPLITS / "deeploc1" / "deeploc_test_set.fasta", LARGE / "swissprot-2014.fasta", None),
}
TOOLS = ["ours", "ours-index", "mmseqs", "cd-hit-2d", "mash", "datasketch", "sourmash"]
#: Tools not run on a pair, with the reason (printed in the table as "not run").
SKIP = {
    "swissprot": {
        "mash": "all-against-all `mash dist` of 2,768 x 459,503 sketches (1.3e9 pairs; the 500 x 20,000 "
        "examples pair, 1e7 pairs, takes it about 2 minutes): not measured",
        "datasketch": "a per-record Python loop over 459,503 references at each threshold: not measured",
        "sourmash": "a per-record scaled=1 inverted index of every 5-mer of 459,503 references in a Python "
        "dict: not measured",
    },
}
COVERAGE = 0.8
K = 5
TRUTH_CMD = [  # GROUND_TRUTH.md, verbatim
    "--alignment-mode", "3", "-s", "7.5", "-e", "10", "--max-seqs", "1000",
    "--format-output", "query,target,fident,pident,alnlen,qstart,qend,qlen,tstart,tend,tlen,qcov,tcov,evalue,bits",
]  # fmt: skip


def add(*runs: dict) -> dict:
    """Several commands as one row: times summed, the largest peak RSS."""
    return {
        "wall": sum(r["wall"] for r in runs),
        "cpu": sum(r["cpu"] for r in runs),
        "rss": max(r["rss"] for r in runs),
    }


def read_fasta(path: Path):
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        for title, seq in SimpleFastaParser(fh):
            # "|" out of identifiers: MMseqs2 reads "tr|ACC|NAME" as ACC, which would break the matching
            yield title.split()[0].replace("|", "_"), seq.replace(" ", "").upper().rstrip("*")


def prepare(name: str, workdir: Path) -> dict:
    """Plain FASTA copies of a pair (prefixed identifiers), the exact queries and the truth pairs."""
    qsrc, rsrc, truth_file = PAIRS[name]
    pdir = workdir / name
    pdir.mkdir(parents=True, exist_ok=True)
    seqs = {}
    for prefix, src in (("q", qsrc), ("r", rsrc)):
        out = pdir / f"{prefix}.fasta"
        seqs[prefix] = list(read_fasta(src))
        seen: dict[str, int] = {}
        with open(out, "w") as fh:  # a repeated identifier becomes ID~2, ID~3 (scored as ID)
            for ident, seq in seqs[prefix]:
                seen[ident] = seen.get(ident, 0) + 1
                suffix = f"~{seen[ident]}" if seen[ident] > 1 else ""
                fh.write(f">{prefix}_{ident}{suffix}\n{seq}\n")
    ref_ids: dict[str, list[str]] = {}
    for ident, seq in seqs["r"]:
        ref_ids.setdefault(seq, []).append(f"r_{ident}")
    identical = {(f"q_{i}", r) for i, s in seqs["q"] for r in ref_ids.get(s, ())}
    exact = {q for q, _ in identical}
    if truth_file is None:
        truth_file = pdir / "truth.hits.m8"
        if not truth_file.exists():  # the reference answer, computed once (not a timed result)
            tmp = pdir / "truth-tmp"
            subprocess.run(
                ["mmseqs", "easy-search", str(pdir / "q.fasta"), str(pdir / "r.fasta"), f"{truth_file}.part", str(tmp),
                 "--threads", str(os.cpu_count()), *TRUTH_CMD],
                check=True, capture_output=True,
            )  # fmt: skip
            os.replace(f"{truth_file}.part", truth_file)
    prefixed = truth_file.parent == pdir  # computed here, on the prefixed copies
    truth = []  # (query, target, fident, qcov) with prefixed identifiers
    opener = gzip.open if truth_file.suffix == ".gz" else open
    with opener(truth_file, "rt") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            q, r = (
                (f[0], f[1]) if prefixed else (f"q_{f[0].replace('|', '_')}", f"r_{f[1].replace('|', '_')}")
            )
            truth.append((q, r, float(f[2]), float(f[11])))
    return {
        "name": name,
        "dir": pdir,
        "q": pdir / "q.fasta",
        "r": pdir / "r.fasta",
        "n_q": len(seqs["q"]),
        "n_r": len(seqs["r"]),
        "exact": exact,
        "identical": identical,
        "truth": truth,
    }


def mmseqs_truth_at(pair: dict, t: float) -> set[tuple[str, str]]:
    """MMseqs2's hit pairs at fident >= t and qcov >= 0.8 (the ground truth file's rows)."""
    return {(q, r) for q, r, fid, qcov in pair["truth"] if fid + 1e-9 >= t and qcov + 1e-9 >= COVERAGE}


def truth_at(pair: dict, t: float) -> tuple[set[str], set[tuple[str, str]]]:
    """The true queries and pairs at t: MMseqs2's hits and every identical pair (see the module docstring)."""
    rows = mmseqs_truth_at(pair, t) | pair["identical"]
    return {q for q, _ in rows}, rows


# ---------------------------------------------------------------- tools (each returns (row, pairs))


def ours_prep(pair: dict, out: Path, cores: int) -> tuple[dict, Path]:
    """``python -m dedup index`` of the reference, in a fresh directory (what ``mmseqs createindex`` is to MMseqs2)."""
    idx = out / "ours.llidx"
    subprocess.run(["rm", "-rf", str(idx)], check=True)
    cmd = [sys.executable, "-m", "dedup", "index", str(pair["r"]), "-o", str(idx), "--quiet"]
    cmd += ["--threads", str(cores)]
    return timed(cmd, env={**os.environ, "PYTHONPATH": str(REPO)}), idx


def warm_ours(pair: dict, out: Path) -> None:
    """Fill numba's on-disk cache before anything of ours is timed (untimed; nothing kept).

    Our kernels are compiled on their first call in a checkout and cached on disk; every
    later process loads them (MMseqs2 ships compiled). A fresh checkout, or any edit of a
    kernel's module, would otherwise put one compile (about a second per kernel) into
    whichever row of ours runs first. The first 50 queries and 200 references of the pair,
    indexed and searched both ways, reach every kernel with the argument types of the rows.
    """
    warm = out / "warm"
    warm.mkdir()
    for name, n in (("q", 50), ("r", 200)):
        with open(pair[name]) as src, open(warm / f"{name}.fasta", "w") as dst:
            dst.writelines(itertools.islice(src, 2 * n))  # prepare() writes two lines per record
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = [sys.executable, "-m", "dedup"]
    subprocess.run([*run, "index", str(warm / "r.fasta"), "-o", str(warm / "r.llidx"), "--quiet"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    for ref in ("r.fasta", "r.llidx"):
        subprocess.run([*run, "overlap", str(warm / "q.fasta"), str(warm / ref), "--quiet"], env=env,
                       check=True, capture_output=True)  # fmt: skip
    subprocess.run(["rm", "-rf", str(warm)], check=True)


def run_ours(
    pair: dict, t: float, out: Path, cores: int, index: Path | None = None
) -> list[tuple[dict, set]]:
    """``python -m dedup overlap`` against the FASTA file (index built in memory) or a prebuilt index."""
    tsv = out / f"ours-{t}-{'index' if index else 'file'}.tsv"
    cmd = [
        sys.executable,
        "-m",
        "dedup",
        "overlap",
        str(pair["q"]),
        str(index or pair["r"]),
        "--identity",
        str(t),
    ]
    cmd += ["--coverage", str(COVERAGE), "--threads", str(cores), "--pairs-out", str(tsv), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    row = timed(cmd, env=env)
    pairs = set()
    with open(tsv) as fh:
        next(fh)
        for line in fh:
            f = line.split("\t")
            if float(f[2]) + 1e-9 >= t and float(f[3]) + 1e-9 >= COVERAGE:
                pairs.add((f[0], f[1]))
    if index:
        tool, params = (
            "ours (prebuilt index)",
            "python -m dedup overlap Q ref.llidx --coverage 0.8 (default tiers)",
        )
    else:
        tool, params = (
            "ours",
            "python -m dedup overlap Q R.fasta --coverage 0.8 (default tiers; index built in memory)",
        )
    return [({**row, "tool": tool, "params": f"{params} --threads {cores}"}, pairs)]


def mmseqs_prep(pair: dict, out: Path, cores: int) -> tuple[dict, Path, Path]:
    """createdb of both sets and createindex of the reference, in a fresh directory."""
    d = out / "mmseqs"
    subprocess.run(["rm", "-rf", str(d)], check=True)
    d.mkdir(parents=True)
    qdb, rdb = d / "qdb", d / "rdb"
    runs = [
        timed(["mmseqs", "createdb", str(pair["q"]), str(qdb)]),
        timed(["mmseqs", "createdb", str(pair["r"]), str(rdb)]),
        timed(["mmseqs", "createindex", str(rdb), str(d / "tmp-index"), "--threads", str(cores)]),
    ]
    return add(*runs), qdb, rdb


def run_mmseqs(pair: dict, t: float, out: Path, cores: int, qdb: Path, rdb: Path) -> list[tuple[dict, set]]:
    rows = []
    for label, extra in (("default -s 5.7", []), ("-s 1", ["-s", "1"])):
        tag = f"{t}-{'s1' if extra else 'def'}"
        res, tmp, m8 = (
            out / "mmseqs" / f"res-{tag}",
            out / "mmseqs" / f"tmp-{tag}",
            out / "mmseqs" / f"{tag}.m8",
        )
        search = ["mmseqs", "search", str(qdb), str(rdb), str(res), str(tmp), "--min-seq-id", str(t)]
        search += ["-c", str(COVERAGE), "--cov-mode", "2", "--alignment-mode", "3", "--threads", str(cores)]
        search += extra
        conv = ["mmseqs", "convertalis", str(qdb), str(rdb), str(res), str(m8)]
        conv += ["--format-output", "query,target,fident,qcov", "--threads", str(cores)]
        row = add(timed(search), timed(conv))
        pairs = set()
        with open(m8) as fh:
            for line in fh:
                q, r, fid, qcov = line.rstrip("\n").split("\t")
                if float(fid) + 1e-9 >= t and float(qcov) + 1e-9 >= COVERAGE:
                    pairs.add((q, r))
        params = (
            f"search --min-seq-id {t} -c 0.8 --cov-mode 2 --alignment-mode 3 {' '.join(extra) or '(-s 5.7)'}"
        )
        rows.append(({**row, "tool": f"mmseqs {label}", "params": params}, pairs))
    return rows


def run_cdhit(pair: dict, t: float, out: Path, cores: int) -> list[tuple[dict, set]]:
    prefix = out / f"cdhit-{t}"
    cmd = ["cd-hit-2d", "-i", str(pair["r"]), "-i2", str(pair["q"]), "-o", str(prefix), "-c", str(t)]
    cmd += ["-n", "5", "-d", "0", "-M", "0", "-T", str(cores)]
    row = timed(cmd)
    pairs = set()
    rep = None
    with open(str(prefix) + ".clstr") as fh:
        for line in fh:
            if line.startswith(">Cluster"):
                rep = None
                continue
            name = line.split(">", 1)[1].split("...", 1)[0]
            if line.rstrip().endswith("*"):
                rep = name
            elif name.startswith("q_") and rep is not None:
                pairs.add((name, rep))
    params = f"cd-hit-2d -i REF -i2 QUERY -c {t} -n 5 -d 0 -M 0 -T {cores}"
    return [({**row, "tool": "cd-hit-2d", "params": params}, pairs)]


def run_mash(pair: dict, t: float, out: Path, cores: int) -> list[tuple[dict, set]]:
    d = out / f"mash-{t}"
    d.mkdir(exist_ok=True)
    sketch = ["mash", "sketch", "-a", "-i", "-k", str(K), "-s", "1000", "-p", str(cores)]
    r1 = timed([*sketch, "-o", str(d / "r"), str(pair["r"])])
    r2 = timed([*sketch, "-o", str(d / "q"), str(pair["q"])])
    dist_out = d / "dist.tsv"
    with open(dist_out, "w") as fh:
        cmd = ["mash", "dist", "-p", str(cores), "-d", f"{1 - t:.4f}", str(d / "r.msh"), str(d / "q.msh")]
        r3 = timed(cmd, stdout=fh)
    pairs = set()
    with open(dist_out) as fh:
        for line in fh:
            ref, query, *_ = line.split("\t")
            pairs.add((query, ref))
    params = f"mash sketch -a -i -k 5 -s 1000; mash dist -d {1 - t:.2f}"
    return [({**add(r1, r2, r3), "tool": "mash k=5", "params": params}, pairs)]


def run_worker_tool(tool: str, python: str, pair: dict, t: float, out: Path) -> list[tuple[dict, set]]:
    tsv = out / f"{tool}-{t}.tsv"
    cmd = [python, __file__, "--worker", tool, "--query", str(pair["q"]), "--reference", str(pair["r"])]
    cmd += ["--identity", str(t), "--out", str(tsv)]
    row = timed(cmd)
    with open(tsv) as fh:
        pairs = {tuple(line.rstrip("\n").split("\t")[:2]) for line in fh}
    c = t**K
    if tool == "datasketch":
        params = (
            f"MinHash(num_perm=128) per record, MinHashLSH(threshold={c / (2 - c):.3f}), est. Jaccard >= it"
        )
    else:
        params = f"MinHash(ksize=5, is_protein, scaled=1) per record, containment >= {c:.3f}"
    return [({**row, "tool": tool, "params": params}, pairs)]


# ---------------------------------------------------------------- peer workers (child processes)


def plain_fasta(path: str):
    name, parts = None, []
    with open(path) as fh:
        for line in fh:
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(parts)
                name, parts = line[1:].split()[0], []
            else:
                parts.append(line.strip())
    if name is not None:
        yield name, "".join(parts)


def worker_datasketch(args) -> None:
    from datasketch import MinHash, MinHashLSH

    c = args.identity**K
    threshold = c / (2 - c)

    def sketch(seq: str) -> MinHash:
        m = MinHash(num_perm=128)
        data = seq.encode()
        m.update_batch([data[i : i + K] for i in range(max(1, len(data) - K + 1))])
        return m

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    refs = {}
    for name, seq in plain_fasta(args.reference):
        refs[name] = sketch(seq)
        lsh.insert(name, refs[name])
    with open(args.out, "w") as fh:
        for name, seq in plain_fasta(args.query):
            m = sketch(seq)
            for ref in lsh.query(m):
                if m.jaccard(refs[ref]) >= threshold:
                    fh.write(f"{name}\t{ref}\n")


def worker_sourmash(args) -> None:
    from collections import Counter, defaultdict

    import sourmash

    def sketch(seq: str):
        mh = sourmash.MinHash(n=0, ksize=K, is_protein=True, scaled=1)
        mh.add_protein(seq)
        return mh

    index = defaultdict(list)
    for name, seq in plain_fasta(args.reference):
        for h in sketch(seq).hashes:
            index[h].append(name)
    c = args.identity**K
    with open(args.out, "w") as fh:
        for name, seq in plain_fasta(args.query):
            hashes = sketch(seq).hashes
            if not hashes:
                continue
            shared = Counter(ref for h in hashes for ref in index.get(h, ()))
            for ref, n in shared.items():
                if n / len(hashes) >= c:  # containment of the query in the reference
                    fh.write(f"{name}\t{ref}\n")


# ---------------------------------------------------------------- table


def score(pair: dict, t: float, pairs: set) -> dict:
    truth_q, truth_pairs = truth_at(pair, t)
    pairs = {(q.split("~")[0], r.split("~")[0]) for q, r in pairs}
    found = {q for q, _ in pairs}
    nonexact = truth_q - pair["exact"]
    return {
        "found": len(found),
        "truth": len(truth_q),
        "recall": len(found & truth_q) / len(truth_q) if truth_q else None,
        "nonexact_truth": len(nonexact),
        "nonexact_recall": len(found & nonexact) / len(nonexact) if nonexact else None,
        "false_pairs": len(pairs - truth_pairs),
        "false_queries": len(found - truth_q),
    }


PREP_OF = {  # a search row and the index build it reuses
    "ours (prebuilt index)": "ours index (python -m dedup index)",
    "mmseqs default -s 5.7": "mmseqs prep (createdb x2 + createindex)",
    "mmseqs -s 1": "mmseqs prep (createdb x2 + createindex)",
}


def verdict_row(pair: str, t: float, rs: list[dict], prep: dict[str, dict]) -> str:
    """One row of the "Done when" table from one pair and threshold's rows (see print_verdicts)."""
    by = {r["tool"]: r for r in rs}
    ours, ours_ix = by.get("ours"), by.get("ours (prebuilt index)")

    def total(r: dict, key: str) -> float:  # with the index build it reuses
        return r[key] + (prep[PREP_OF[r["tool"]]][key] if r["tool"] in PREP_OF else 0.0)

    def pick(r: dict | None, key: str, f=str) -> str:
        return "-" if r is None or r[key] is None else f(r[key])

    def best(rows: list[dict], cost) -> str:
        if not rows:
            return "-"
        r = min(rows, key=cost)
        return f"{r['tool']} {cost(r):.2f}"

    best_recall = max(r["recall"] or 0 for r in rs)
    top = ", ".join(r["tool"] for r in rs if (r["recall"] or 0) >= best_recall - 1e-12)
    fewest = min(r["false_pairs"] for r in rs)
    least = ", ".join(r["tool"] for r in rs if r["false_pairs"] == fewest)
    good = [r for r in rs if (r["recall"] or 0) >= 0.99 - 1e-12]
    mm_rss = [r["rss"] for r in [*rs, *prep.values()] if r["tool"].startswith("mmseqs")]
    our_rss = [r["rss"] for r in [*rs, *prep.values()] if r["tool"].startswith("ours")]
    ours_search = f"{pick(ours_ix, 'wall', '{:.2f}'.format)} / {pick(ours_ix, 'cpu', '{:.2f}'.format)}"
    e2e = [f"{total(r, 'wall'):.2f} / {total(r, 'cpu'):.2f}" if r else "-" for r in (ours, ours_ix)]
    return (
        f"| {pair} | {t:g} | {best_recall:.3f} ({top}) | {pick(ours, 'recall', fmt)} / {pick(ours_ix, 'recall', fmt)} "
        f"| {fewest} ({least}) | {pick(ours, 'false_pairs')} / {pick(ours_ix, 'false_pairs')} "
        f"| {best(good, lambda r: r['wall'])} | {best(good, lambda r: r['cpu'])} | {ours_search} "
        f"| {best(good, lambda r: total(r, 'wall'))} | {best(good, lambda r: total(r, 'cpu'))} "
        f"| {e2e[0]} ; {e2e[1]} | {max(our_rss, default=0):.0f} / {max(mm_rss, default=0):.0f} |"
    )


def print_verdicts(rows: list[dict]) -> None:
    """The issue's "Done when" questions, answered from this run's rows only.

    Per pair and threshold: the best recall and ours (file / prebuilt index); the fewest false
    pairs and ours; among the rows with recall >= 0.99 the shortest wall time and the least CPU
    time (user + sys), for the search alone (a prebuilt index not counted) and end to end (its
    build added: ``ours index`` + ``ours (prebuilt index)``, ``mmseqs prep`` + search); peak RSS
    of ours against MMseqs2's (the largest of its prep and searches).
    """
    print("\n### Done when: this run's answers\n")
    print(
        "| pair | t | best recall (tools) | ours / ours index recall | fewest false pairs (tools) "
        "| ours / ours index false pairs | recall >= 0.99: shortest wall s, search only "
        "| least CPU s, search only | ours index wall / CPU s | shortest wall s, end to end "
        "| least CPU s, end to end | ours file ; ours index + build, wall / CPU s "
        "| peak RSS MiB, ours / mmseqs |"
    )
    print("|---|---:|---|---|---|---|---|---|---|---|---|---|---|")
    for pair, t in dict.fromkeys((r["pair"], r["t"]) for r in rows if not r.get("prep")):
        rs = [r for r in rows if r["pair"] == pair and r.get("t") == t and not r.get("prep")]
        if all(r["recall"] is None for r in rs):
            continue
        prep = {r["tool"]: r for r in rows if r["pair"] == pair and r.get("prep")}
        print(verdict_row(pair, t, rs, prep))


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default=",".join(PAIRS))
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--thresholds", default="0.95,0.9")
    ap.add_argument("--workdir", type=Path, default=REPO / "var" / "bench-peers")
    ap.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="threads for the tools that take them"
    )
    ap.add_argument("--sourmash-python", default="/tmp/i8b-sourmash/bin/python")
    ap.add_argument("--json", type=Path, help="also write every row as JSON here")
    ap.add_argument("--verdicts-from", type=Path, help="print the Done-when table of a saved --json run")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--query", help=argparse.SUPPRESS)
    ap.add_argument("--reference", help=argparse.SUPPRESS)
    ap.add_argument("--identity", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        {"datasketch": worker_datasketch, "sourmash": worker_sourmash}[args.worker](args)
        return
    if args.verdicts_from:
        print_verdicts(json.loads(args.verdicts_from.read_text()))
        return
    compile_bytecode()
    tools = args.tools.split(",")
    thresholds = [float(x) for x in args.thresholds.split(",")]
    if "sourmash" in tools and not Path(args.sourmash_python).exists():
        sys.exit(
            f"{args.sourmash_python} not found: see --help for the sourmash virtualenv (or drop it from --tools)"
        )
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    mm = subprocess.run(["mmseqs", "version"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs; threads for the tools: {args.threads}; MMseqs2 {mm}")
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}")
    all_rows: list[dict] = []

    def save(rows: list[dict]) -> None:  # after every row, so an interrupted run keeps what it measured
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))

    for name in args.pairs.split(","):
        pair = prepare(name, args.workdir)
        out = pair["dir"] / "run"
        subprocess.run(["rm", "-rf", str(out)], check=True)  # nothing from an earlier run is reused
        out.mkdir()
        print(
            f"\n### {name}: {pair['n_q']:,} queries vs {pair['n_r']:,} references; exact {len(pair['exact'])}"
        )
        # The reusable indexes, built once per pair in this run (timed apart, as a user builds them once).
        prep_rows = []
        ours_idx = qdb = rdb = None
        if "ours" in tools or "ours-index" in tools:
            warm_ours(pair, out)
        if "ours-index" in tools:
            before = loadavg()
            row, ours_idx = ours_prep(pair, out, args.threads)
            prep_rows.append(
                ("ours index (python -m dedup index)", row, before, loadavg(), f"--threads {args.threads}")
            )
        if "mmseqs" in tools:
            before = loadavg()
            row, qdb, rdb = mmseqs_prep(pair, out, args.threads)
            prep_rows.append(
                (
                    "mmseqs prep (createdb x2 + createindex)",
                    row,
                    before,
                    loadavg(),
                    f"--threads {args.threads}",
                )
            )
        if prep_rows:
            print("\nIndexes (built once, used at both thresholds):\n")
            print("| step | wall s | CPU s | peak RSS MiB | load 1-min before/after | parameters |")
            print("|---|---:|---:|---:|---|---|")
            for label, row, before, after, params in prep_rows:
                all_rows.append({"pair": name, "tool": label, "prep": True, **row, "load": [before, after]})
                save(all_rows)
                print(f"| {label} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['rss']:.0f} "
                      f"| {before:.1f}/{after:.1f} | {params} |", flush=True)  # fmt: skip
        skipped = {tool: why for tool, why in SKIP.get(name, {}).items() if tool in tools}
        for t in thresholds:
            tq, tp = truth_at(pair, t)
            added = tp - mmseqs_truth_at(pair, t)
            extra = (
                f"; {len(added)} identical pairs that MMseqs2 does not report added "
                f"({', '.join(f'{q} = {r}' for q, r in sorted(added)[:4])}{', ...' if len(added) > 4 else ''})"
                if added
                else ""
            )
            print(f"\n>= {t:.0%}: truth {len(tq)} queries ({len(tq - pair['exact'])} non-exact{extra})\n")
            print(
                "| tool | wall s | CPU s | peak RSS MiB | found | recall | non-exact recall "
                "| false pairs | false queries | load 1-min before/after | parameters |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
            for tool in tools:
                if tool in skipped:
                    print(f"| {tool} | | | | | | | | | | not run: {skipped[tool]} |", flush=True)
                    continue
                before = loadavg()
                if tool == "ours":
                    results = run_ours(pair, t, out, args.threads)
                elif tool == "ours-index":
                    results = run_ours(pair, t, out, args.threads, index=ours_idx)
                elif tool == "mmseqs":
                    assert qdb is not None and rdb is not None
                    results = run_mmseqs(pair, t, out, args.threads, qdb, rdb)
                elif tool == "cd-hit-2d":
                    results = run_cdhit(pair, t, out, args.threads)
                elif tool == "mash":
                    results = run_mash(pair, t, out, args.threads)
                elif tool == "datasketch":
                    results = run_worker_tool(tool, sys.executable, pair, t, out)
                elif tool == "sourmash":
                    results = run_worker_tool(tool, args.sourmash_python, pair, t, out)
                else:
                    sys.exit(f"unknown tool {tool!r}; choose from {', '.join(TOOLS)}")
                after = loadavg()
                for row, pairs in results:
                    s = score(pair, t, pairs)
                    all_rows.append({"pair": name, "t": t, **row, **s, "load": [before, after]})
                    save(all_rows)
                    print(
                        f"| {row['tool']} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['rss']:.0f} | {s['found']} "
                        f"| {fmt(s['recall'])} | {fmt(s['nonexact_recall'])} | {s['false_pairs']} "
                        f"| {s['false_queries']} | {before:.1f}/{after:.1f} | `{row['params']}` |",
                        flush=True,
                    )
    print_verdicts(all_rows)


if __name__ == "__main__":
    main()
