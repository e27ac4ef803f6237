"""Does a file's content look like the kind it is registered as? Nucleotides and labels are not protein.

Every nucleotide letter is also an amino-acid letter, and so are DSSP's ``C``/``E``/``H``: a cDNA file,
lowercase genomic DNA or a column of secondary-structure labels passes the protein alphabet. The
parser cannot tell; the composition can. Real proteins have about 26% ``A``, ``C``, ``G``, ``T``,
``N`` together and use 20 letters, so a protein file of at least ``MIN_RESIDUES`` residues with >= 90%
of them nucleotide codes, or with three distinct letters or fewer, is refused, with the kind it
probably is and the ``--force-kind`` escape. The reverse case (protein registered as DNA) is refused
by the parser ("L is not a nucleotide code").
"""

from collections import Counter
from collections.abc import Iterable

from ..errors import InputRejected

NUCLEOTIDE_FRACTION = 0.9
MAX_LABEL_ALPHABET = 3
MIN_RESIDUES = 20
#: the composition is taken over the first residues only (a file does not change kind halfway)
SAMPLE_RESIDUES = 1_000_000
_NUCLEOTIDES = "ACGTUN"


def composition(sequences: Iterable[str], *, limit: int = SAMPLE_RESIDUES) -> Counter:
    counts: Counter = Counter()
    seen = 0
    for seq in sequences:
        counts.update(seq)
        seen += len(seq)
        if seen >= limit:
            break
    return counts


def kind_check(sequences: Iterable[str], *, kind: str, source: str) -> None:
    """Raise ``InputRejected`` when normalised protein ``sequences`` look like nucleotides or labels."""
    if kind != "protein":
        return
    counts = composition(sequences)
    total = sum(counts.values())
    if total < MIN_RESIDUES:
        return
    escape = "pass --force-kind (API: force_kind=true) to register it as protein anyway"
    nucleotide = sum(counts[c] for c in _NUCLEOTIDES)
    if nucleotide >= NUCLEOTIDE_FRACTION * total:
        likely = "rna" if counts["U"] > counts["T"] else "dna"
        raise InputRejected(
            f"{source}: {nucleotide / total:.0%} of its residues are A, C, G, T, U or N: it looks like "
            f"{likely.upper()}, not protein. Register it with --kind {likely}, or {escape}.",
            fields={"kind": [f"looks like {likely}"]},
            code="kind_mismatch",
        )
    if len(counts) <= MAX_LABEL_ALPHABET:
        letters = ", ".join(sorted(counts))
        raise InputRejected(
            f"{source}: its sequences use only {len(counts)} letter(s) ({letters}): they look like "
            "per-residue labels (e.g. DSSP secondary structure C/E/H), not protein sequences. Register the "
            f"sequences they annotate instead, or {escape}.",
            fields={"kind": ["looks like labels"]},
            code="kind_mismatch",
        )
