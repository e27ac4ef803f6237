"""Verification of candidate pairs by pairwise alignment.

Every candidate pair that a sketch tier proposes is aligned (local, Gotoh) and
measured the way MMseqs2 measures its hits, so that the numbers of the MinHash
tier and of the MMseqs2 tier mean the same thing:

- **identity** (MMseqs2 ``fident``): identical columns / alignment length, where
  the alignment length counts every column of the local alignment: matches,
  mismatches and gap columns (an insertion or deletion of n residues adds n
  columns). Columns outside the local alignment (unaligned ends) do not count.
- **query coverage** (MMseqs2 ``qcov``): residues of the query inside the local
  alignment (``qend - qstart + 1``) / query length; **reference coverage**
  (``tcov``) likewise for the reference.

Scoring, per kind:

- ``protein``: as MMseqs2 aligns (``--gap-open 11 --gap-extend 1``, ``--comp-bias-corr 1``):
  BLOSUM62, a gap of n residues costing 10 + n (the first residue 11, each further one 1; Biopython
  ``open_gap_score=-11``, ``extend_gap_score=-1``), and each query position's scores corrected for
  the composition of the 40 residues around it (:mod:`dedup.compbias`). With these scores our
  alignment is MMseqs2's: of MMseqs2's ground-truth hits at fident and qcov >= 0.5, 1,128 of 1,133
  on the main calibration pair (2,017 of 2,049 on MMseqs2's example pair) come out with the same
  ``fident`` and ``qcov`` to its 3 decimals, and 1,133 of 1,133 (2,048 of 2,049) with the same verdict
  at 95, 90, 80, 70 and 50% (``python benchmarks/mmseqs_agreement.py``; without the correction
  1,036 and 1,123).
  Residues outside BLOSUM62's alphabet (U, O, J...) are scored as ``X`` but compared as themselves
  for identity.
- ``dna`` / ``rna``: match +2, mismatch -3, gap 5 + 2n (blastn's defaults); both
  strands are aligned and the better scoring one is kept, because the sketches of
  these kinds are strand-free (canonical k-mers).
- ``text``: the unit is the **word** as :func:`dedup.shingle.normalise_text`
  cuts it (NFKC, casefolded, ``\\w+``), not the character: these words are what
  the text sketches shingle, and word identity is what "the same sentence with a few
  words changed" means. Scoring as for nucleotides (+2/-3, gap 5 + 2n).

Cheap bounds come first, so that only plausible pairs reach the aligner. With
identity ``t``, query coverage ``c``, reference coverage ``cr``, query length
``q`` and reference length ``r`` (a local alignment spanning ``sq`` query and
``sr`` reference residues, ``m`` identical columns, alignment length ``L``):

1. **length**: ``m <= min(sq, sr)`` and ``m >= t * L >= t * max(sq, sr)``, so a
   pair can only pass when ``r >= t * c * q`` and ``q >= t * cr * r``.
2. **composition**: ``m`` is at most the residues the two sequences have in
   common as multisets (sum over residues of the smaller count), which must reach
   ``t * c * q`` and ``t * cr * r``. (Skipped for nucleotides: strands differ.)
3. **q-gram** (shared k-mers): each of the ``L - m <= m (1 - t) / t`` non-identical
   columns destroys at most ``k`` of the query span's k-mers, so at least
   ``sq (1 - k (1 - t) / t) - k + 1`` query k-mer positions occur in the reference.
   Used only when that coefficient is positive (it is for protein ``k=3`` at
   ``t >= 0.8``).

Each bound's count of pruned pairs is kept in :class:`VerifyStats`. None of the
bounds can reject a pair that would pass: they only save time.

**Trimming.** The best-scoring local alignment can run past the end of a
near-identical region into a diverged one (a domain boundary, a tag), and then
its identity falls below the threshold although a part of it would pass. When
the full alignment covers enough but is not identical enough, the verifier looks
for the part of its path (starting and ending on identical columns) that still
covers ``c`` of the query (and ``cr`` of the reference) with identity ``>= t``,
and reports that part (counted in ``VerifyStats.trimmed``). It is off by default
(``Verifier(trim=True)``, ``find_overlap(trim=True)``): MMseqs2 reports the
identity of its best-scoring alignment only, and on the main calibration pair
(measured with aligner v1, before the composition-bias correction) trimming reports 9 more queries at >= 95% than MMseqs2 has (595 vs 586, all real
alignments, but not what the ground truth counts), while without it the counts
stay within the measured recall.

**Aligners.** The alignment is the first optimal local alignment under these scores, the one
:class:`Bio.Align.PairwiseAligner` yields first. A compiled kernel
(:mod:`dedup._align_kernel`, in C or numba) computes it 9 (numba) to 15 (C) times faster
on one core (``benchmarks/README.md``, "Verification") and without the GIL, so :meth:`Verifier.verify_many` aligns pairs on several
threads. Biopython stays the reference (``backend="biopython"``) and the path used
without a compiled kernel; it has no per-position scores, so it aligns protein without the
composition-bias correction (``bias_correction=False``, a method of its own key). Without the
correction both give identical alignments on every real candidate pair tested
(``tests/dedup/test_align_kernel.py``), so a verdict never depends on the number of threads.
:attr:`Verifier.spec` names the aligner for method keys.

The module is split by concept: :mod:`dedup.hits` (hits, counters, best per
query), :mod:`dedup.alignment` (scoring, backends, measurement, trimming),
:mod:`dedup.bounds` (per-sequence data and the bounds), :mod:`dedup.verifier`
(the :class:`Verifier`); their public names are re-exported from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .alignment import AlignerSpec, PairAlignment, aligner_spec
from .compbias import composition_bias
from .hits import TIERS, Hit, VerifyStats, add_stats, best_hits
from .verifier import DEFAULT_MAX_CELLS, Verifier  # noqa: F401  (DEFAULT_MAX_CELLS: dedup.verify's name)

__all__ = [
    "TIERS",
    "AlignerSpec",
    "Hit",
    "PairAlignment",
    "Verifier",
    "VerifyStats",
    "align_pair",
    "aligner_spec",
    "composition_bias",
    "best_hits",
    "verify_candidates",
    "verify_pairs",
]


def align_pair(
    query: str,
    reference: str,
    *,
    kind: str = "protein",
    backend: str | None = None,
    bias_correction: bool = True,
) -> PairAlignment | None:
    """Best local alignment of two normalised sequences, measured like MMseqs2.

    Args:
        query: the query sequence (normalised; for text: words separated by spaces).
        reference: the reference sequence.
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        backend: ``"numba"`` or ``"biopython"`` (default: numba when installed).
        bias_correction: MMseqs2's composition-bias correction of protein scores (default; the
            Biopython backend cannot apply it): see "Scoring" above.

    Returns:
        The :class:`PairAlignment`, or ``None`` when no positive-scoring local
        alignment exists.

    Examples:
        >>> a = align_pair("MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKAHFSRQLEERLG")
        >>> round(a.identity, 3), a.query_coverage, round(a.reference_coverage, 3)
        (0.955, 1.0, 0.786)
        >>> plain = align_pair("MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKAHFSRQLEERLG", bias_correction=False)
        >>> align_pair("MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKAHFSRQLEERLG", backend="biopython") == plain
        True
        >>> align_pair("the cat sat on the mat", "a cat sat on the mat today", kind="text").identities
        5
    """
    v = Verifier(
        kind=kind, identity=0.0, coverage=0.0, backend=backend, threads=1, bias_correction=bias_correction
    )
    return v.align("q", query, "r", reference)


def verify_pairs(
    pairs: Iterable[tuple[str, str, str, str]],
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    stats: VerifyStats | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> list[Hit]:
    """Verify ``(query_id, query_seq, reference_id, reference_seq)`` pairs by alignment.

    Args:
        pairs: candidate pairs with their sequences.
        kind: sequence kind.
        identity: minimal identity of a kept pair (fraction).
        coverage: minimal query coverage (fraction).
        reference_coverage: minimal reference coverage (fraction).
        stats: if given, its counters are increased by this run's.
        threads: alignment threads (default: every CPU); the hits do not depend on it.
        backend: ``"numba"`` or ``"biopython"`` (default: numba when installed).

    Returns:
        Every pair that passes, as :class:`Hit` with ``tier="minhash"`` (all of them,
        not only the best per query: see :func:`best_hits`).

    Examples:
        >>> pairs = [("q1", "MKTAYIAKQRQISFVKSHFSRQ", "r1", "MKTAYIAKQRQISFVKSHFSRQ"),
        ...          ("q1", "MKTAYIAKQRQISFVKSHFSRQ", "r2", "GGGGGGGGGGGGGGGGGGGGGGGG")]
        >>> [(h.reference, h.identity) for h in verify_pairs(pairs)]
        [('r1', 1.0)]
    """
    verifier = Verifier(
        kind=kind,
        identity=identity,
        coverage=coverage,
        reference_coverage=reference_coverage,
        threads=threads,
        backend=backend,
    )
    results = verifier.verify_many((qid, qs, rid, rs, None) for qid, qs, rid, rs in pairs)
    if stats is not None:
        add_stats(stats, verifier.stats)
    return [h for h in results if h is not None]


def verify_candidates(
    query_seqs: Mapping[str, str],
    reference_seqs: Mapping[str, str],
    candidate_pairs: Iterable[tuple[str, str] | tuple[str, str, float | None]],
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    signatures: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    stats: VerifyStats | None = None,
    verifier: Verifier | None = None,
    threads: int | None = None,
) -> list[Hit]:
    """Verify candidate pairs found elsewhere (e.g. an LSH band-key join in a database).

    Args:
        query_seqs: query identifier -> normalised sequence.
        reference_seqs: reference identifier -> normalised sequence.
        candidate_pairs: ``(query_id, reference_id)`` or ``(query_id, reference_id, jaccard)``
            tuples; duplicates are verified once.
        kind: sequence kind.
        identity: minimal identity (fraction).
        coverage: minimal query coverage (fraction).
        reference_coverage: minimal reference coverage (fraction).
        signatures: optional ``(query_signatures, reference_signatures)`` mappings of
            identifier -> object with a ``jaccard(other)`` method (a
            :class:`dedup.sketch.Signature`) to fill ``Hit.jaccard`` when the pairs do
            not carry it.
        stats: if given, its counters are increased by this run's.
        verifier: reuse a :class:`Verifier` (its settings win over the arguments).
        threads: alignment threads of a new verifier (default: every CPU).

    Returns:
        Every passing pair as a :class:`Hit` (``tier="minhash"``), in input order.

    Raises:
        KeyError: when a pair names an identifier missing from the mappings.

    Examples:
        >>> q = {"q1": "MKTAYIAKQRQISFVKSHFSRQ"}
        >>> r = {"r1": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", "r2": "GGGG"}
        >>> hits = verify_candidates(q, r, [("q1", "r1", 0.6), ("q1", "r2"), ("q1", "r1")])
        >>> [(h.reference, h.identity, h.jaccard) for h in hits]
        [('r1', 1.0, 0.6)]
    """
    v = verifier or Verifier(
        kind=kind,
        identity=identity,
        coverage=coverage,
        reference_coverage=reference_coverage,
        threads=threads,
    )
    seen: set[tuple[str, str]] = set()
    items: list[tuple[str, str, str, str, float | None]] = []
    for pair in candidate_pairs:
        qid, rid = pair[0], pair[1]
        if (qid, rid) in seen:
            continue
        seen.add((qid, rid))
        jac = pair[2] if len(pair) > 2 else None
        if jac is None and signatures is not None:
            jac = float(signatures[0][qid].jaccard(signatures[1][rid]))
        items.append((qid, query_seqs[qid], rid, reference_seqs[rid], jac))
    before = v.stats.counters()
    results = v.verify_many(items)
    if stats is not None:
        add_stats(stats, v.stats, minus=before)
    return [h for h in results if h is not None]
