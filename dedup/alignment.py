"""Pairwise local alignment measured like MMseqs2, with two interchangeable backends.

Protein pairs are scored as MMseqs2 scores them: BLOSUM62, a gap of n residues costing 10 + n
(``--gap-open 11 --gap-extend 1``: the first residue 11, each further one 1), and MMseqs2's local
composition-bias correction of the query's scores (:mod:`dedup.compbias`). Other kinds are scored
as :mod:`dedup.verify` describes, without a correction.

- ``"numba"`` (default when a compiled kernel can run): the compiled kernel of
  :mod:`dedup._align_kernel`, its C port (:mod:`dedup._native`) where the machine has a C
  compiler, else compiled by numba (the name is kept from before the C port); 9 (numba) to 15 (C)
  times faster than Biopython per pair on one core (``benchmarks/README.md``, "Verification") and
  free of the GIL, so that threads verify pairs on every core. :attr:`AlignerSpec.backend_version`
  says which ran. It computes the first optimal local (Gotoh) alignment that
  ``Bio.Align.PairwiseAligner`` would yield with the same scores.
- ``"biopython"``: ``Bio.Align.PairwiseAligner``, the reference the kernel is
  checked against pair by pair (``tests/dedup/test_align_kernel.py``), and the path
  used without a compiled kernel. Biopython has no per-position scores, so it aligns protein
  without the composition-bias correction: a different method, and its key says so.

A method key names the aligner with :meth:`AlignerSpec.key` (``ll-gotoh-v2``, the scoring and
``+cbc`` where the correction applies): the backend is part of it only through that correction.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _align_kernel, _kernels

if TYPE_CHECKING:
    from Bio.Align import PairwiseAligner

__all__ = [
    "ALIGNER_NAME",
    "ALIGNER_VERSION",
    "BACKENDS",
    "AlignerSpec",
    "PairAlignment",
    "aligner_spec",
    "corrects_bias",
    "default_backend",
]

#: The aligner's name and version in method keys. Bump the version whenever an
#: alignment (and so an identity or coverage) could come out differently.
ALIGNER_NAME = "ll-gotoh"
ALIGNER_VERSION = "2"  # 2: MMseqs2's gap costs (10 + n) and composition-bias correction

#: Alignment backends: the compiled kernel and Biopython (the reference).
BACKENDS = ("numba", "biopython")


def _read_blosum62() -> tuple[str, np.ndarray]:
    """Biopython's BLOSUM62 (its alphabet and integer scores), read from Biopython's own data file.

    ``Bio.Align.substitution_matrices.load`` reads the same file, but importing ``Bio.Align``
    imports ``Bio.Seq`` and builds every genetic code of ``Bio.Data.CodonTable`` (about 40 ms at
    every start of ``python -m dedup``); the compiled aligner needs only the numbers.
    ``tests/dedup/test_alignment.py`` checks that they are Biopython's, entry for entry.
    """
    bio = importlib.util.find_spec("Bio")
    if bio is None or bio.origin is None:  # pragma: no cover - biopython is a dependency
        raise ImportError("biopython is not installed (pip install biopython)")
    path = Path(bio.origin).parent / "Align" / "substitution_matrices" / "data" / "BLOSUM62"
    lines = [
        line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    alphabet = "".join(lines[0])
    if [row[0] for row in lines[1:]] != list(alphabet):
        raise ValueError(f"{path}: rows are not in the order of the header {alphabet!r}")
    return alphabet, np.array([row[1:] for row in lines[1:]], dtype=np.int32)


_BLOSUM62_ALPHABET, _BLOSUM62_SCORES = _read_blosum62()
BLOSUM_ALPHABET = frozenset(_BLOSUM62_ALPHABET)


@dataclass(frozen=True)
class _Scoring:
    """Integer scores of one kind; gap penalties are positive (a gap of n costs open + (n - 1) * extend)."""

    name: str
    gap_open: int
    gap_extend: int
    matrix: np.ndarray | None = None  # int32 substitution matrix over the BLOSUM62 alphabet
    lut: np.ndarray | None = None  # residue code (< 128) -> matrix row; others score as X
    match: int = 2
    mismatch: int = -3
    composition_bias: bool = False  # MMseqs2's per-query-position correction (dedup.compbias)


@cache
def scoring(kind: str) -> _Scoring:
    """The scores of a kind: BLOSUM62 with gaps 10 + n and the bias correction for protein, +2/-3 with gaps 5 + 2n otherwise."""
    if kind == "protein":
        alphabet = _BLOSUM62_ALPHABET
        lut = np.full(128, alphabet.index("X"), dtype=np.int32)
        for i, ch in enumerate(alphabet):
            lut[ord(ch)] = i
        matrix = np.ascontiguousarray(_BLOSUM62_SCORES)
        return _Scoring("blosum62", 11, 1, matrix=matrix, lut=lut, composition_bias=True)
    return _Scoring("match2-mismatch3", 7, 2)


@dataclass(frozen=True)
class AlignerSpec:
    """Which aligner verifies candidate pairs, as data a method key can carry.

    Attributes:
        name: :data:`ALIGNER_NAME`.
        version: :data:`ALIGNER_VERSION`.
        kind: the sequence kind (it chooses the scoring).
        scoring: substitution scores, ``+cbc`` with the composition-bias correction, and gap
            penalties, e.g. ``blosum62+cbc:gap11+1``.
        backend: ``"numba"`` (the compiled kernel) or ``"biopython"`` (not part of :meth:`key`).
        backend_version: what the compiled kernel runs as (``c <library file>`` or ``numba <version>``),
            or Biopython's version.

    Examples:
        >>> aligner_spec("protein", "numba").key()
        'll-gotoh-v2:blosum62+cbc:gap11+1'
        >>> aligner_spec("protein", "biopython").key()  # no per-position scores in Biopython
        'll-gotoh-v2:blosum62:gap11+1'
    """

    name: str
    version: str
    kind: str
    scoring: str
    backend: str
    backend_version: str | None

    def key(self) -> str:
        """Name, version and scoring: what decides the alignments (the backend only through ``+cbc``)."""
        return f"{self.name}-v{self.version}:{self.scoring}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the key."""
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "scoring": self.scoring,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "key": self.key(),
        }


def default_backend() -> str:
    """``"numba"`` when the compiled kernel can run, else ``"biopython"``.

    Examples:
        >>> default_backend() in BACKENDS
        True
    """
    return "numba" if _align_kernel.AVAILABLE else "biopython"


def corrects_bias(kind: str, backend: str, requested: bool = True) -> bool:
    """Whether alignments of this kind on this backend apply the composition-bias correction
    (``requested=False`` turns it off).

    Examples:
        >>> corrects_bias("protein", "numba"), corrects_bias("protein", "biopython"), corrects_bias("dna", "numba")
        (True, False, False)
    """
    return requested and scoring(kind).composition_bias and backend == "numba"


def _backend_version(backend: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    if backend == "numba":
        return _kernels.compiled_backend()
    try:
        return version("biopython")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without metadata
        return None


def aligner_spec(kind: str, backend: str | None = None, *, bias_correction: bool = True) -> AlignerSpec:
    """The :class:`AlignerSpec` of a kind and backend (default: :func:`default_backend`)."""
    backend = backend or default_backend()
    s = scoring(kind)
    cbc = "+cbc" if corrects_bias(kind, backend, bias_correction) else ""
    return AlignerSpec(
        ALIGNER_NAME,
        ALIGNER_VERSION,
        kind,
        f"{s.name}{cbc}:gap{s.gap_open}+{s.gap_extend}",
        backend,
        _backend_version(backend),
    )


@dataclass(frozen=True)
class PairAlignment:
    """Identity and coverage of the best local alignment of two sequences.

    Coordinates are 0-based, end-exclusive, on the query and on the reference as
    given (for a ``"-"`` strand nucleotide hit, on the reverse complement of the
    reference).
    """

    identity: float
    query_coverage: float
    reference_coverage: float
    alignment_length: int
    identities: int
    score: float
    query_start: int
    query_end: int
    reference_start: int
    reference_end: int
    strand: str = "+"


def make_biopython_aligner(kind: str) -> PairwiseAligner:
    """The reference aligner: ``PairwiseAligner`` with the scores of :func:`scoring`."""
    from Bio.Align import PairwiseAligner, substitution_matrices

    s = scoring(kind)
    if s.matrix is not None:
        return PairwiseAligner(
            mode="local",
            substitution_matrix=substitution_matrices.load("BLOSUM62"),
            open_gap_score=-float(s.gap_open),
            extend_gap_score=-float(s.gap_extend),
        )
    return PairwiseAligner(
        mode="local",
        match_score=float(s.match),
        mismatch_score=float(s.mismatch),
        open_gap_score=-float(s.gap_open),
        extend_gap_score=-float(s.gap_extend),
    )


class Aligned:
    """One alignment: its measurement and its columns (for trimming)."""

    __slots__ = ("_columns", "measured", "query_units", "reference_units")

    def __init__(
        self,
        measured: PairAlignment,
        columns: tuple[np.ndarray, np.ndarray, np.ndarray],
        query_units: str,
        reference_units: str,
    ) -> None:
        self.measured = measured
        self._columns = columns
        self.query_units = query_units
        self.reference_units = reference_units

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per column: identical (0/1), a query residue consumed (0/1), a reference residue consumed (0/1)."""
        return self._columns


def codes_of(units: str) -> np.ndarray:
    """The code points of a string as int32 (any Unicode text: text units are private-use characters).

    Examples:
        >>> codes_of("MKV").tolist()
        [77, 75, 86]
    """
    return np.frombuffer(units.encode("utf-32-le"), dtype=np.uint32).astype(np.int32)


def score_codes(kind: str, codes: np.ndarray) -> np.ndarray:
    """Codes the kernel scores with: rows of BLOSUM62 for protein (unknown residues as X), else the codes."""
    s = scoring(kind)
    if s.lut is None:
        return codes
    return s.lut[np.minimum(codes, 127)]


def align_kernel(
    kind: str,
    q_codes: np.ndarray,
    q_score: np.ndarray,
    r_codes: np.ndarray,
    r_score: np.ndarray,
    q_units: str,
    r_units: str,
    strand: str,
    q_bias: np.ndarray | None = None,
) -> Aligned | None:
    """Align with the compiled kernel (thread-safe: it touches only its own arrays).

    ``q_bias`` is the query's composition-bias correction (:func:`dedup.compbias.composition_bias`),
    or ``None`` for none.
    """
    s = scoring(kind)
    res, ops = _align_kernel.gotoh_local(
        q_score,
        r_score,
        q_codes,
        r_codes,
        matrix=s.matrix,
        qbias=q_bias,
        match=s.match,
        mismatch=s.mismatch,
        gap_open=s.gap_open,
        gap_extend=s.gap_extend,
    )
    score, qs, qe, rs, re_, same, length = (int(x) for x in res)
    if score <= 0:
        return None
    measured = PairAlignment(
        identity=same / length if length else 0.0,
        query_coverage=(qe - qs) / len(q_codes),
        reference_coverage=(re_ - rs) / len(r_codes),
        alignment_length=length,
        identities=same,
        score=float(score),
        query_start=qs,
        query_end=qe,
        reference_start=rs,
        reference_end=re_,
        strand=strand,
    )
    return Aligned(measured, _columns_from_ops(ops, q_codes, r_codes, qs, rs), q_units, r_units)


def _columns_from_ops(
    ops: np.ndarray, q: np.ndarray, r: np.ndarray, qs: int, rs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dq = (ops != 2).astype(np.int64)
    dr = (ops != 1).astype(np.int64)
    qpos = qs + np.cumsum(dq) - 1
    rpos = rs + np.cumsum(dr) - 1
    diag = ops == 0
    same = np.zeros(len(ops), dtype=np.int64)
    same[diag] = q[qpos[diag]] == r[rpos[diag]]
    return same, dq, dr


def align_biopython(
    aligner: PairwiseAligner, q_text: str, r_text: str, q_units: str, r_units: str, strand: str
) -> Aligned | None:
    """Align with Biopython: the first optimal alignment, measured on the units (the residues as given)."""
    alignments = aligner.align(q_text, r_text)
    if alignments.score <= 0:
        return None
    coords = next(iter(alignments)).coordinates
    columns = _columns_from_coordinates(coords, q_units, r_units)
    same, dq, dr = columns
    qc, rc = coords[0], coords[1]
    q0, q1, r0, r1 = int(qc[0]), int(qc[-1]), int(rc[0]), int(rc[-1])
    length, matches = len(same), int(same.sum())
    measured = PairAlignment(
        identity=matches / length if length else 0.0,
        query_coverage=(q1 - q0) / len(q_units),
        reference_coverage=(r1 - r0) / len(r_units),
        alignment_length=length,
        identities=matches,
        score=float(alignments.score),
        query_start=q0,
        query_end=q1,
        reference_start=r0,
        reference_end=r1,
        strand=strand,
    )
    return Aligned(measured, columns, q_units, r_units)


def _columns_from_coordinates(
    coordinates: np.ndarray, query: str, reference: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    same: list[bool] = []
    dq: list[int] = []
    dr: list[int] = []
    qc, rc = coordinates[0].tolist(), coordinates[1].tolist()
    for i in range(len(qc) - 1):
        nq, nr = qc[i + 1] - qc[i], rc[i + 1] - rc[i]
        if nq and nr:
            a, b = query[qc[i] : qc[i + 1]], reference[rc[i] : rc[i + 1]]
            same.extend(x == y for x, y in zip(a, b, strict=True))
            dq.extend([1] * nq)
            dr.extend([1] * nr)
        else:
            n = nq + nr
            same.extend([False] * n)
            dq.extend([1 if nq else 0] * n)
            dr.extend([1 if nr else 0] * n)
    return np.array(same, dtype=np.int64), np.array(dq, dtype=np.int64), np.array(dr, dtype=np.int64)


def best_segment(aligned: Aligned, need_q: int, need_r: int, identity: float) -> PairAlignment | None:
    """The part of an alignment that spans >= need_q query and >= need_r reference residues with
    identity >= ``identity``, maximising ``identical - identity * columns``; ``None`` if there is none.

    Parts start and end on identical columns. With prefix sums ``W`` of ``same - identity``, a part
    ``[i, j]`` passes when ``W[j+1] - W[i] >= 0`` and its spans are long enough; for each end ``j``
    the admissible starts are a prefix of the columns, so a running minimum finds the best start.
    """
    full = aligned.measured
    same, dq, dr = aligned.columns()
    n = len(same)
    if n == 0:
        return None
    w = np.concatenate(([0.0], np.cumsum(same - identity)))
    qcum = np.concatenate(([0], np.cumsum(dq)))
    rcum = np.concatenate(([0], np.cumsum(dr)))
    start_w = np.where(same == 1, w[:-1], np.inf)  # value of W at a start column i (W[i])
    run_min = np.minimum.accumulate(start_w)
    ends = np.flatnonzero(same == 1)
    # last start i with qcum[j+1] - qcum[i] >= need_q (qcum[:-1] is non-decreasing)
    lim_q = np.searchsorted(qcum[:-1], qcum[ends + 1] - need_q, side="right") - 1
    lim_r = np.searchsorted(rcum[:-1], rcum[ends + 1] - need_r, side="right") - 1
    lim = np.minimum(lim_q, lim_r)
    ok = lim >= 0
    if not ok.any():
        return None
    ends, lim = ends[ok], lim[ok]
    excess = w[ends + 1] - run_min[lim]
    k = int(np.argmax(excess))
    if not excess[k] >= -1e-9:
        return None
    j = int(ends[k])
    i = int(np.argmin(start_w[: lim[k] + 1]))
    cols = j - i + 1
    matches = int(same[i : j + 1].sum())
    qs = full.query_start + int(qcum[i])
    qe = full.query_start + int(qcum[j + 1])
    rs = full.reference_start + int(rcum[i])
    re_ = full.reference_start + int(rcum[j + 1])
    return PairAlignment(
        identity=matches / cols,
        query_coverage=(qe - qs) / len(aligned.query_units),
        reference_coverage=(re_ - rs) / len(aligned.reference_units),
        alignment_length=cols,
        identities=matches,
        score=full.score,
        query_start=qs,
        query_end=qe,
        reference_start=rs,
        reference_end=re_,
        strand=full.strand,
    )
