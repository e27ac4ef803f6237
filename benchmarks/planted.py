"""Planted mutants of real sequences at known identity, among shuffled decoys: truth by construction.

For each identity band (100%, [95,100), [90,95), [80,90), [70,80), [50,70), [30,50)) this
draws ``per_band`` real source sequences, picks a target identity uniformly inside the band
and mutates the source into a query: substitutions (residues drawn from the sources'
composition) and short indels (length 1-3, one event in ``1 / indel_share``), placed at
random, until identical columns / alignment columns (MMseqs2 ``fident`` of the construction
alignment) reaches the target. The identity recorded is that of the construction, computed
exactly. Three designs, so that the Jaccard of real use is covered:

- ``full`` (50%): the query is the mutant of the whole source;
- ``fragment`` (25%): the mutant of a window of 40-90% of the source (a short query inside
  a long reference);
- ``flanked`` (25%): the mutant of the whole source with a shuffled foreign flank, so that the
  planted part is a fraction ``f`` of the query, ``f`` in [0.55, 0.75) or [0.85, 1.0): a true
  match at query coverage 0.5 always, at coverage 0.8 only when ``f >= 0.85``.

References: every source, plus ``decoys`` shuffled real sequences (composition kept, order
destroyed). DNA: regions of the fly upstream file, cut to windows; half the queries are
reverse-complemented (the tiers must find both strands).

The queries and references are deterministic given the seed and the input file.

Usage (writes two FASTA files and a TSV of the truth)::

    python benchmarks/planted.py --kind protein --out /tmp/planted --seed 8 --per-band 1500
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

from _common import LARGE

BANDS = (
    ("100%", 1.0, 1.0),
    ("[95,100)", 0.95, 1.0),
    ("[90,95)", 0.90, 0.95),
    ("[80,90)", 0.80, 0.90),
    ("[70,80)", 0.70, 0.80),
    ("[50,70)", 0.50, 0.70),
    ("[30,50)", 0.30, 0.50),
)
SWISSPROT = LARGE / "swissprot-2014.fasta"
FLY_UPSTREAM = LARGE / "dm3-upstream2000.fa"
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


@dataclass(frozen=True)
class Planted:
    """One planted query: its true partner, identity and the fraction of it that is planted."""

    query: str
    sequence: str
    source: str
    band: str
    identity: float
    planted_fraction: float
    design: str
    strand: str = "+"

    def true_at(self, coverage: float) -> bool:
        """A true match at this query coverage rule (the planted part covers enough of the query)."""
        return self.planted_fraction + 1e-9 >= coverage


def band_of(identity: float) -> str:
    """The band of an exact construction identity (bands are closed below, open above)."""
    for band, low, high in BANDS:
        if identity >= 1.0 - 1e-12 and band == "100%":
            return band
        if low - 1e-12 <= identity < high - 1e-12:
            return band
    return "<30%"


def read_fasta(path: Path, *, kind: str, min_len: int, max_len: int) -> list[tuple[str, str]]:
    """Plain records of a FASTA file, upper-cased, with only standard letters, within the lengths."""
    letters = set("ACDEFGHIKLMNPQRSTVWY") if kind == "protein" else set("ACGT")
    out: list[tuple[str, str]] = []
    name, parts = None, []

    def flush() -> None:
        if name is not None:
            seq = "".join(parts).upper()
            if min_len <= len(seq) <= max_len and set(seq) <= letters:
                out.append((name, seq))

    with open(path, encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith(">"):
                flush()
                name, parts = line[1:].split()[0], []
            else:
                parts.append(line.strip())
    flush()
    return out


def mutate(
    seq: str, identity: float, rng: random.Random, alphabet: str, weights: list[float], indel_share: float
) -> tuple[str, float]:
    """A mutant of ``seq`` whose construction alignment has identity about ``identity``; returns it and the exact value."""
    n = len(seq)
    sub = [False] * n
    deleted = [False] * n
    inserted = [0] * (n + 1)  # residues inserted before position i
    cols, nonid = n, 0
    untouched = list(range(n))
    rng.shuffle(untouched)
    while nonid < (1.0 - identity) * cols - 1e-9 and untouched:
        if rng.random() < indel_share:
            length = min(1 + int(rng.expovariate(1.5)), 3)
            if rng.random() < 0.5:  # insertion: adds columns and non-identical columns
                pos = rng.randrange(1, n)
                inserted[pos] += length
                cols += length
                nonid += length
            else:
                start = untouched.pop()
                for i in range(start, min(start + length, n)):
                    if not (sub[i] or deleted[i]):
                        deleted[i] = True
                        nonid += 1
            continue
        i = untouched.pop()
        if sub[i] or deleted[i]:
            continue
        sub[i] = True
        nonid += 1
    out = []
    for i, residue in enumerate(seq):
        for _ in range(inserted[i]):
            out.append(rng.choices(alphabet, weights)[0])
        if deleted[i]:
            continue
        if sub[i]:
            choice = residue
            while choice == residue:
                choice = rng.choices(alphabet, weights)[0]
            out.append(choice)
        else:
            out.append(residue)
    return "".join(out), (cols - nonid) / cols


def shuffled(seq: str, rng: random.Random) -> str:
    letters = list(seq)
    rng.shuffle(letters)
    return "".join(letters)


def generate(
    kind: str, *, seed: int, per_band: int, decoys: int, indel_share: float = 0.1, source: Path | None = None
) -> tuple[list[Planted], list[tuple[str, str]]]:
    """``(planted queries, references)`` for a kind (``protein`` or ``dna``)."""
    rng = random.Random(seed)
    if kind == "protein":
        pool = read_fasta(source or SWISSPROT, kind=kind, min_len=50, max_len=1000)
    else:
        pool = read_fasta(source or FLY_UPSTREAM, kind=kind, min_len=600, max_len=100_000)
    rng.shuffle(pool)
    need = per_band * len(BANDS)
    if len(pool) < need + decoys:
        raise SystemExit(f"{len(pool)} usable sequences, need {need + decoys}")
    sources, rest = pool[:need], pool[need : need + decoys]
    if kind == "dna":  # windows of 200-600 bases: alignments stay cheap, composition stays real
        sources = [(n, _window(s, rng, 200, 600)) for n, s in sources]
        rest = [(n, _window(s, rng, 200, 600)) for n, s in rest]
    counts: dict[str, int] = {}
    for _n, s in sources[:2000]:
        for c in s:
            counts[c] = counts.get(c, 0) + 1
    alphabet = "".join(sorted(counts))
    weights = [counts[c] for c in alphabet]
    planted: list[Planted] = []
    for b, (band, low, high) in enumerate(BANDS):
        for j in range(per_band):
            name, seq = sources[b * per_band + j]
            target = 1.0 if band == "100%" else rng.uniform(low, high)
            design = rng.choices(("full", "fragment", "flanked"), (0.5, 0.25, 0.25))[0]
            part = seq
            if design == "fragment":
                width = max(30, int(len(seq) * rng.uniform(0.4, 0.9)))
                start = rng.randrange(0, len(seq) - width + 1)
                part = seq[start : start + width]
            mutant, ident = (
                mutate(part, target, rng, alphabet, weights, indel_share) if target < 1.0 else (part, 1.0)
            )
            fraction = 1.0
            if design == "flanked":
                fraction = rng.uniform(0.55, 0.75) if rng.random() < 0.5 else rng.uniform(0.85, 1.0)
                flank_len = max(1, round(len(mutant) * (1 - fraction) / fraction))
                donor = rest[rng.randrange(len(rest))][1]
                flank = shuffled(donor, rng)[:flank_len]
                flank_len = len(flank)
                mutant = flank + mutant if rng.random() < 0.5 else mutant + flank
                fraction = (len(mutant) - flank_len) / len(mutant)
            strand = "+"
            if kind == "dna" and rng.random() < 0.5:
                mutant, strand = mutant.translate(_COMPLEMENT)[::-1], "-"
            planted.append(
                Planted(f"planted{b}_{j}", mutant, name, band_of(ident), ident, fraction, design, strand)
            )
    references = list(sources) + [(f"decoy{i}", shuffled(s, rng)) for i, (_n, s) in enumerate(rest)]
    rng.shuffle(references)
    return planted, references


def _window(seq: str, rng: random.Random, low: int, high: int) -> str:
    width = min(len(seq), rng.randint(low, high))
    start = rng.randrange(0, len(seq) - width + 1)
    return seq[start : start + width]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=("protein", "dna"), default="protein")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--per-band", type=int, default=1500)
    ap.add_argument("--decoys", type=int, default=10_000)
    ap.add_argument(
        "--out",
        type=Path,
        required=True,
        help="prefix: writes PREFIX.query.fasta, .reference.fasta, .truth.tsv",
    )
    args = ap.parse_args()
    planted, references = generate(args.kind, seed=args.seed, per_band=args.per_band, decoys=args.decoys)
    with open(f"{args.out}.query.fasta", "w") as fh:
        fh.writelines(f">{p.query}\n{p.sequence}\n" for p in planted)
    with open(f"{args.out}.reference.fasta", "w") as fh:
        fh.writelines(f">{n}\n{s}\n" for n, s in references)
    with open(f"{args.out}.truth.tsv", "w") as fh:
        fh.write("query\tsource\tband\tidentity\tplanted_fraction\tdesign\tstrand\n")
        fh.writelines(
            f"{p.query}\t{p.source}\t{p.band}\t{p.identity:.4f}\t{p.planted_fraction:.4f}\t{p.design}\t{p.strand}\n"
            for p in planted
        )
    print(f"{len(planted)} planted queries, {len(references)} references -> {args.out}.*")


if __name__ == "__main__":
    main()
