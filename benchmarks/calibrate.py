"""Measure the recall of every default method per band of TRUE identity; write dedup/calibration.json.

For each ``(label, method)`` of :func:`dedup.method.default_methods` (the library's defaults,
the registry's standing and ad-hoc methods, with and without MMseqs2, protein and DNA), this
runs the method through :func:`dedup.find_overlap` (the same pipeline every front end runs)
on two sources of truth and counts, per identity band b = [low, high), how many of the
queries whose TRUE identity lies in b the method reports with identity >= low:

- ``planted``: mutants of real sequences planted at known identity among shuffled decoys
  (``benchmarks/planted.py``, seeds below): truth by construction, a few thousand per
  band. Protein: Swiss-Prot 2014; DNA: the fly upstream regions (both strands). The MMseqs2
  tier is calibrated here, never against itself.
- ``real`` (protein): the real pairs with MMseqs2 ground truth in
  ``../shared/data/ground-truth`` (best ``fident`` per query among alignments covering the
  query at the method's coverage).

The shipped recall of a band is the planted one, with its Wilson 95% interval; the real
pairs are reported beside it, and the leave-one-source-out error says how well the bands of
one source predict the per-threshold recall of the other. Text has no ground truth: not
measured. The aligner is part of every method key (:func:`dedup.method.aligner_id`):
after a change of aligner, re-running this script is all it takes.

Usage::

    python benchmarks/calibrate.py [--data ../shared/data] [--out dedup/calibration.json]
                                   [--per-band 1500] [--only LABEL-SUBSTRING]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import planted as planting  # noqa: E402

import dedup  # noqa: E402
from dedup.calibration import BANDS, BINS, band_of, wilson  # noqa: E402
from dedup.claims import DEFAULT_THRESHOLDS  # noqa: E402
from dedup.method import Method, aligner_id, default_methods  # noqa: E402
from dedup.overlap import find_overlap, read_sequences  # noqa: E402
from dedup.parsing import sequence_sha256  # noqa: E402

SEEDS = {"protein": 8, "dna": 9}
PER_BAND = {"protein": 1000, "dna": 400}
DECOYS = {"protein": 5_000, "dna": 3_000}
#: Methods with the MMseqs2 tier are measured on the first planted queries of each band only:
#: MMseqs2 at -s 7.5 costs minutes per thousand queries, and its recall is near 1 (tight intervals
#: at this size). Their real pairs are not used: that truth is MMseqs2 itself.
MMSEQS_PER_BAND = 250

# Filled by main() before the worker processes fork (they inherit them).
PLANTED: dict = {}
REAL: dict = {}
DATA = Path(".")

REAL_PAIRS = [
    (
        "deepfri-go-test_vs_flip-ss-train",
        "splits/deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta",
        "splits/flip-secondary-structure/train.fasta",
        "ground-truth/deepfri-go-test_vs_flip-ss-train.hits.m8.gz",
    ),
    (
        "flip-bind",
        "splits/flip-bind/test.fasta",
        "splits/flip-bind/train.fasta",
        "ground-truth/flip-bind.hits.m8.gz",
    ),
    (
        "deeploc1-test_vs_val",
        "splits/deeploc1/deeploc_test_set.fasta",
        "splits/deeploc1/deeploc_our_val_set.fasta",
        "ground-truth/deeploc1-test_vs_val.hits.m8.gz",
    ),
]


def band_counts(
    truth: dict[str, float], reported: dict[str, float], identity_floor: float, bands=BANDS
) -> dict[str, list[int]]:
    """Per band: [queries whose true identity is in it, of which reported at >= the band's low edge]."""
    out = {name: [0, 0] for name, low, _h in bands if low + 1e-9 >= identity_floor}
    lows = {n: lo for n, lo, _h in bands}
    for q, true in truth.items():
        name = band_of(true, bands)
        if name not in out:
            continue
        out[name][0] += 1
        if reported.get(q, -1.0) + 1e-9 >= lows[name]:
            out[name][1] += 1
    return out


def per_threshold(
    truth: dict[str, float], reported: dict[str, float], identity_floor: float
) -> dict[str, dict]:
    """Recall at >= t: of the queries with true identity >= t, the share reported at >= t."""
    out = {}
    for t in DEFAULT_THRESHOLDS:
        if t < identity_floor - 1e-9 or t >= 1.0:
            continue
        true_t = [q for q, v in truth.items() if v + 1e-9 >= t]
        hit = sum(reported.get(q, -1.0) + 1e-9 >= t for q in true_t)
        low, high = wilson(hit, len(true_t))
        out[f"{t:.2f}"] = {
            "n": len(true_t),
            "found": hit,
            "recall": round(hit / len(true_t), 4) if true_t else None,
            "low": round(low, 4),
            "high": round(high, 4),
        }
    return out


def bands_table(counts: dict[str, list[int]]) -> dict[str, dict]:
    out = {}
    for name, (n, found) in counts.items():
        low, high = wilson(found, n)
        out[name] = {
            "n": n,
            "found": found,
            "recall": round(found / n, 4) if n else None,
            "low": round(low, 4),
            "high": round(high, 4),
        }
    return out


def predict(bands: dict[str, dict], weights: dict[str, list[int]], floor: float) -> dict[str, float | None]:
    """Per-threshold recall predicted from band recalls, weighted by another source's true band counts."""
    out: dict[str, float | None] = {}
    lows = {n: lo for n, lo, _h in BANDS}
    for t in DEFAULT_THRESHOLDS:
        if t < floor - 1e-9 or t >= 1.0:
            continue
        num = den = 0.0
        for name, (n, _f) in weights.items():
            if lows[name] + 1e-9 < t or not n:
                continue
            r = bands.get(name, {}).get("recall")
            if r is None:
                return {**out, f"{t:.2f}": None}
            num += n * r
            den += n
        out[f"{t:.2f}"] = round(num / den, 4) if den else None
    return out


def run(method: Method, queries, references) -> tuple[dict[str, float], float, dict]:
    started = time.perf_counter()
    result = find_overlap(queries, references, method=method)
    reported = {h.query: h.identity for h in result.hits}
    tiers = {name: r.to_dict() for name, r in result.tiers.items()}
    if result.method.key() != method.key():
        raise SystemExit(f"tiers did not all run for {method.key()}: {tiers}")
    return reported, time.perf_counter() - started, tiers


def real_truth(data: Path, queries, references, m8: str, coverage: float) -> dict[str, float]:
    ref_shas = {sequence_sha256(s) for _r, s in references}
    best: dict[str, float] = {q: 1.0 for q, s in queries if sequence_sha256(s) in ref_shas}
    with gzip.open(data / m8, "rt") as fh:
        for line in fh:
            f = line.split("\t")
            if float(f[11]) + 1e-9 >= coverage:
                best[f[0]] = max(best.get(f[0], -1.0), float(f[2]))
    return best


def measure(label_method: tuple[str, Method]) -> tuple[str, dict]:
    label, method = label_method
    t0 = time.perf_counter()
    planted, references = PLANTED[method.kind]
    if "mmseqs" in method.tiers:
        seen: dict[str, int] = {}
        sample = []
        for p in planted:
            band = p.query.split("_")[0]
            seen[band] = seen.get(band, 0) + 1
            if seen[band] <= MMSEQS_PER_BAND:
                sample.append(p)
        planted = sample
    truth = {p.query: p.identity for p in planted if p.true_at(method.coverage)}
    sources_seq = dict(references)
    identical = {p.query for p in planted if p.sequence == sources_seq.get(p.source)}
    reported, secs, tiers = run(method, [(p.query, p.sequence) for p in planted], references)
    p_counts = band_counts(truth, reported, method.identity)
    sources = {
        "planted": {
            "seed": SEEDS[method.kind],
            "queries": len(planted),
            "true_at_coverage": len(truth),
            "seconds": round(secs, 1),
            "bands": bands_table(p_counts),
            "bins": {
                **bands_table(band_counts(truth, reported, method.identity, BINS)),
                # identity 1 but not identical to the source (fragments, flanked): the exact tier
                # cannot find these; identical copies are certain and not counted here.
                "100% not identical": bands_table(
                    band_counts(
                        {q: v for q, v in truth.items() if q not in identical},
                        reported,
                        1.0,
                        BANDS[:1],
                    )
                )["100%"],
            },
            "per_threshold": per_threshold(truth, reported, method.identity),
        }
    }
    r_counts: dict[str, list[int]] = {}
    if method.kind == "protein" and "mmseqs" not in method.tiers:
        per_pair = {}
        r_truth_all: dict[str, float] = {}
        r_rep_all: dict[str, float] = {}
        for name, (queries, refs, m8) in REAL.items():
            rt = real_truth(DATA, queries, refs, m8, method.coverage)
            rep, rsecs, _ = run(method, queries, refs)
            per_pair[name] = round(rsecs, 1)
            r_truth_all.update({f"{name}/{q}": v for q, v in rt.items()})
            r_rep_all.update({f"{name}/{q}": v for q, v in rep.items()})
        r_counts = band_counts(r_truth_all, r_rep_all, method.identity)
        sources["real"] = {
            "truth": "MMseqs2 14-7e284 easy-search -s 7.5 (GROUND_TRUTH.md); 30% row is a lower bound",
            "pairs": per_pair,
            "bands": bands_table(r_counts),
            "per_threshold": per_threshold(r_truth_all, r_rep_all, method.identity),
        }
        loso = {}
        for held, other in (("real", "planted"), ("planted", "real")):
            weights = r_counts if held == "real" else p_counts
            pred = predict(sources[other]["bands"], weights, method.identity)
            meas = sources[held]["per_threshold"]
            loso[held] = {
                t: None
                if pred.get(t) is None or meas[t]["recall"] is None
                else round(pred[t] - meas[t]["recall"], 4)
                for t in meas
            }
        sources["leave_one_source_out_error"] = {
            "meaning": "predicted (other source's band recalls, weighted by this source's true band counts) "
            "minus measured recall at >= t",
            **loso,
        }
    return method.key(), {
        "label": label,
        "method": method.to_dict(),
        "recall": {
            "source": f"planted mutants (benchmarks/planted.py, seed {SEEDS[method.kind]})",
            "bands": sources["planted"]["bands"],
            "bins": sources["planted"]["bins"],
            "per_threshold": sources["planted"]["per_threshold"],
        },
        "sources": sources,
        "tiers": {n: {k: t[k] for k in ("ran", "version", "seconds", "stats")} for n, t in tiers.items()},
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "dedup" / "calibration.json")
    ap.add_argument("--per-band", type=int, help="planted queries per band (default: protein 1500, DNA 500)")
    ap.add_argument("--only", help="measure only methods whose label contains this")
    ap.add_argument("--workers", type=int, default=2, help="methods measured at once (default 2)")
    args = ap.parse_args()
    if not args.data.is_dir():
        args.data = Path("/work/shared/data")
    started = time.perf_counter()
    methods = [(label, m) for label, m in default_methods() if not args.only or args.only in label]
    planted_sets = {}
    for kind in sorted({m.kind for _l, m in methods}):
        t0 = time.perf_counter()
        per_band = args.per_band or PER_BAND[kind]
        planted, references = planting.generate(
            kind, seed=SEEDS[kind], per_band=per_band, decoys=DECOYS[kind]
        )
        planted_sets[kind] = (planted, references)
        print(
            f"planted {kind}: {len(planted)} queries, {len(references)} references "
            f"(seed {SEEDS[kind]}, {time.perf_counter() - t0:.1f} s)",
            file=sys.stderr,
        )
    real_sets = {}
    for name, q, r, m8 in REAL_PAIRS:
        real_sets[name] = (
            read_sequences(args.data / q, kind="protein"),
            read_sequences(args.data / r, kind="protein"),
            m8,
        )

    global DATA
    DATA = args.data
    PLANTED.update(planted_sets)
    REAL.update(real_sets)
    # The slowest first, two at a time (2 cores); each worker runs one method end to end.
    methods.sort(key=lambda lm: ("mmseqs" not in lm[1].tiers, lm[1].identity))
    entries = {}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for key, entry in pool.map(measure, methods):
            entries[key] = entry
            print(f"{entry['label']}: {entry['seconds']} s", file=sys.stderr)
    entries = {m.key(): entries[m.key()] for _l, m in sorted(methods, key=lambda lm: lm[0])}

    table = {
        "format": 2,
        "generated_by": "python benchmarks/calibrate.py" + (f" --only {args.only!r}" if args.only else ""),
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "dedup": dedup.__version__,
        "aligner": aligner_id(),
        "bands": [name for name, _l, _h in BANDS],
        "band_recall": "share of the queries whose TRUE identity is in the band that the method reports "
        "with identity >= the band's low edge (any reference), at the method's query coverage",
        "not_measured": {"text": "no ground truth for text", "rna": "no RNA ground truth (DNA is measured)"},
        "seconds": round(time.perf_counter() - started, 1),
        "methods": entries,
    }
    if args.only and args.out.exists():  # keep the other methods' entries
        old = json.loads(args.out.read_text())
        table["methods"] = {**old.get("methods", {}), **entries}
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    print_markdown(table, entries)
    print(f"\nwrote {args.out} in {table['seconds']} s", file=sys.stderr)


def print_markdown(table: dict, entries: dict) -> None:
    print(f"Machine: {table['machine']}; aligner {table['aligner']}; {table['seconds']} s.\n")
    for key, e in entries.items():
        print(f"#### {e['label']} (`{key}`)\n")
        srcs = [s for s in ("planted", "real") if s in e["sources"]]
        print("| band | " + " | ".join(f"{s}: found / n, recall [95% CI]" for s in srcs) + " |")
        print("|---|" + "---|" * len(srcs))
        for name in e["recall"]["bands"]:
            cells = []
            for s in srcs:
                b = e["sources"][s]["bands"][name]
                cells.append(
                    f"{b['found']} / {b['n']}, {b['recall']:.3f} [{b['low']:.3f}, {b['high']:.3f}]"
                    if b["n"]
                    else "0 / 0"
                )
            print(f"| {name} | " + " | ".join(cells) + " |")
        if "leave_one_source_out_error" in e["sources"]:
            lo = e["sources"]["leave_one_source_out_error"]
            print(
                "\nLeave-one-source-out error (predicted - measured), per threshold: "
                + "; ".join(
                    f"{held}: "
                    + ", ".join(f">={float(t):.0%} {v:+.3f}" for t, v in lo[held].items() if v is not None)
                    for held in ("real", "planted")
                )
            )
        print()


if __name__ == "__main__":
    main()
