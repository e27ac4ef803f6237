"""What verification produces: verified hits, the counters of a run, and the best hit per query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["TIERS", "Hit", "VerifyStats", "best_hits"]

#: Names of the detection tiers, cheapest first.
TIERS = ("exact", "minhash", "containment", "mmseqs")


@dataclass(frozen=True)
class Hit:
    """One verified overlap: a query record that matches a reference record.

    Attributes:
        query: identifier of the query record.
        reference: identifier of the reference record.
        identity: identical columns / alignment length (MMseqs2 ``fident``), 0..1.
        query_coverage: fraction of the query inside the alignment, 0..1.
        reference_coverage: fraction of the reference inside the alignment, 0..1.
        jaccard: estimated Jaccard similarity of the two signatures (``None`` for
            the exact, containment and mmseqs tiers, which do not use signatures).
        tier: ``"exact"``, ``"minhash"``, ``"containment"`` or ``"mmseqs"``: which tier found the pair.
        alignment_length: columns of the alignment (``None`` when not aligned).

    Examples:
        >>> h = Hit("q1", "r7", 0.95, 1.0, 0.9, 0.61, "minhash", 120)
        >>> h.to_dict()["tier"]
        'minhash'
    """

    query: str
    reference: str
    identity: float
    query_coverage: float
    reference_coverage: float
    jaccard: float | None
    tier: str
    alignment_length: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    def sort_key(self) -> tuple[float, float, float]:
        """Order of preference between hits of one query: identity, then coverage of each side."""
        return (self.identity, self.query_coverage, self.reference_coverage)


@dataclass
class VerifyStats:
    """Counters of a verification run: what each bound pruned and what was aligned.

    Examples:
        >>> s = VerifyStats()
        >>> s.candidates, s.aligned
        (0, 0)
    """

    candidates: int = 0
    pruned_length: int = 0
    pruned_composition: int = 0
    pruned_qgram: int = 0
    skipped_too_long: int = 0
    aligned: int = 0
    trimmed: int = 0
    accepted: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return asdict(self)

    def counters(self) -> dict[str, int]:
        """The integer counters (without ``extra``)."""
        return {name: getattr(self, name) for name in _COUNTERS}


_COUNTERS = (
    "candidates",
    "pruned_length",
    "pruned_composition",
    "pruned_qgram",
    "skipped_too_long",
    "aligned",
    "trimmed",
    "accepted",
)


def add_stats(into: VerifyStats, other: VerifyStats, minus: dict[str, int] | None = None) -> None:
    """Add ``other``'s counters (less ``minus``, a snapshot taken earlier) to ``into``.

    Examples:
        >>> a, b = VerifyStats(aligned=2), VerifyStats(aligned=5)
        >>> add_stats(a, b, minus={"aligned": 1})
        >>> a.aligned
        6
    """
    minus = minus or {}
    for name, value in other.counters().items():
        setattr(into, name, getattr(into, name) + value - minus.get(name, 0))


def best_hits(hits: Iterable[Hit]) -> dict[str, Hit]:
    """The best hit per query: highest identity, then query coverage, then reference coverage.

    Ties keep the first hit seen (so pass hits of cheaper tiers first).

    Examples:
        >>> a = Hit("q", "r1", 0.91, 0.9, 0.9, None, "minhash")
        >>> b = Hit("q", "r2", 0.97, 0.85, 0.5, None, "mmseqs")
        >>> best_hits([a, b])["q"].reference
        'r2'
    """
    best: dict[str, Hit] = {}
    for hit in hits:
        cur = best.get(hit.query)
        if cur is None or hit.sort_key() > cur.sort_key():
            best[hit.query] = hit
    return best
