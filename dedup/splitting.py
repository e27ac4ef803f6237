"""Leakage-free splits: a similarity graph, its connected components, whole components packed into parts.

A split "at 30% identity" made by clustering still leaks: two members of different clusters can be
more similar than the threshold (clustering bounds the distance to a representative, not between
clusters). Here no cluster representative is involved:

1. :func:`similarity_components` builds the graph of the records (an edge joins two records whose
   alignment reaches ``identity`` and covers ``coverage`` of the shorter one), from the tiers of
   :mod:`dedup.overlap`: identical sequences (``exact``), MinHash LSH candidates verified by alignment
   (``minhash``), and an all-against-all ``mmseqs easy-search`` (``mmseqs``) for thresholds below
   what k-mers see. The graph is never held whole: every edge goes straight into a union-find, and a
   MinHash candidate pair already in one component is not aligned at all.
2. :func:`assign_components` puts whole components into parts, largest first, each into the part
   whose share (per label, when stratified) is furthest below its target: a deterministic greedy
   bin-packing (ties broken by a seeded shuffle). No component straddles two parts, so no pair the
   tiers found crosses parts.

The guarantee holds for the pairs the tiers found, no more: what they miss is quantified by the
calibration (:func:`dedup.load_calibration`), and the result should be checked by search
afterwards (the registry's ``verify_split`` does).

Examples:
    >>> records = [("a", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ"),
    ...            ("b", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPWLSRVGDGTQDNLSGAEKAVQ"),
    ...            ("c", "GSHMLEDPVDAFQPATLLPAALGSEIAEALREAGYTRLHLGEGA")]
    >>> graph = similarity_components(records, identity=0.9, coverage=0.8, tiers=("exact", "minhash"))
    >>> graph.components()
    [[0, 1], [2]]
    >>> plan = assign_components([2, 1], {"train": 0.67, "test": 0.33}, tolerance=0.1)
    >>> plan.parts
    ['train', 'test']
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import mmseqs as _mmseqs
from .errors import DedupError
from .lsh import LSHIndex
from .overlap import default_sketch_params, lsh_settings
from .params import SketchParams
from .parsing import sequence_sha256
from .sketch import sketch_batch
from .verify import Verifier

__all__ = [
    "OVERSIZE_CHOICES",
    "ComponentGraph",
    "PartPlan",
    "SplitImpossible",
    "UnionFind",
    "assign_components",
    "parse_fractions",
    "similarity_components",
]

#: What to do with a component larger than the largest part can hold.
OVERSIZE_CHOICES = ("fail", "other")


class SplitImpossible(DedupError):
    """The fractions cannot be met with whole components; ``details`` says why and what to try.

    Attributes:
        details: JSON-ready facts: the largest components, targets, what was achieved.
    """

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class UnionFind:
    """Disjoint sets over ``0..n-1`` (union by size, path halving).

    Examples:
        >>> uf = UnionFind(4)
        >>> uf.union(0, 1), uf.union(1, 0), uf.find(1) == uf.find(0), uf.find(2) == uf.find(0)
        (True, False, True, False)
    """

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Join the sets of ``a`` and ``b``; ``True`` when they were apart."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return True


@dataclass
class ComponentGraph:
    """The connected components of a similarity graph over records.

    Attributes:
        identifiers: the records' identifiers, in input order.
        labels: for each record, the index of its component (components numbered by first record).
        identity: the identity threshold of an edge.
        coverage: the coverage threshold of an edge (of the shorter sequence).
        tiers: per tier: whether it ran (or why not), its settings and version, pairs aligned,
            edges found, and the edges that joined two components.
        seconds: wall time.
    """

    identifiers: list[str]
    labels: list[int]
    identity: float
    coverage: float
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def components(self) -> list[list[int]]:
        """Record indices per component, in order of first record."""
        out: list[list[int]] = [[] for _ in range(max(self.labels, default=-1) + 1)]
        for i, label in enumerate(self.labels):
            out[label].append(i)
        return out

    def sizes(self) -> list[int]:
        """Records per component."""
        counts = [0] * (max(self.labels, default=-1) + 1)
        for label in self.labels:
            counts[label] += 1
        return counts

    def method(self) -> dict[str, Any]:
        """What built the graph: thresholds, tiers, versions (for the split's provenance)."""
        sizes = sorted(self.sizes(), reverse=True)
        return {
            "identity": self.identity,
            "coverage": self.coverage,
            "coverage_definition": "aligned residues of the shorter sequence / its length",
            "tiers": self.tiers,
            "records": len(self.labels),
            "components": len(sizes),
            "largest_components": sizes[:10],
            "singletons": sum(1 for s in sizes if s == 1),
            "seconds": round(self.seconds, 3),
        }


def similarity_components(
    records: Sequence[tuple[str, str]],
    *,
    kind: str = "protein",
    identity: float = 0.3,
    coverage: float = 0.5,
    tiers: Iterable[str] = ("exact", "minhash", "mmseqs"),
    params: SketchParams | None = None,
    mmseqs_settings: _mmseqs.MmseqsSettings | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> ComponentGraph:
    """Connected components of the records' similarity graph at ``identity`` and ``coverage``.

    Records with identical sequences are always one component (the ``exact`` tier costs nothing).
    An edge of the ``mmseqs`` tier is any alignment of ``mmseqs easy-search`` (every record against
    every record) at the thresholds, with ``coverage`` of either sequence; a ``minhash`` edge is an
    LSH candidate pair verified by alignment with the shorter sequence as the query.

    Args:
        records: ``(identifier, normalised sequence)`` pairs.
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        identity: minimal identity of an edge, 0..1.
        coverage: minimal coverage of an edge (of the shorter sequence, or of either for mmseqs), 0..1.
        tiers: subset of ``"exact"``, ``"minhash"``, ``"mmseqs"``.
        params: sketch parameters of the MinHash tier.
        mmseqs_settings: how to run MMseqs2.
        progress: called with ``(stage, done, total)``.

    Raises:
        ValueError: an argument is out of range.
        dedup.MmseqsError: the mmseqs tier was asked for and could not run.
    """
    started = time.perf_counter()
    tiers = tuple(tiers)
    for t in tiers:
        if t not in ("exact", "minhash", "mmseqs"):
            raise ValueError(f"tiers must be among exact, minhash, mmseqs; got {t!r}")
    for name, value in (("identity", identity), ("coverage", coverage)):
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{name} must be a fraction above 0 and at most 1 (e.g. 0.3), got {value!r}")
    say = progress or (lambda _stage, _done, _total: None)
    ids = [identifier for identifier, _seq in records]

    # Nodes are distinct sequences; records sharing one are joined for free (the exact tier).
    node_of: dict[str, int] = {}
    seqs: list[str] = []
    record_node: list[int] = []
    for _identifier, seq in records:
        key = sequence_sha256(seq)
        node = node_of.get(key)
        if node is None:
            node = node_of[key] = len(seqs)
            seqs.append(seq)
        record_node.append(node)
    uf = UnionFind(len(seqs))
    report: dict[str, dict[str, Any]] = {
        "exact": {
            "ran": True,
            "settings": {"digest": "sha256 of the normalised sequence"},
            "edges": len(records) - len(seqs),
            "joins": len(records) - len(seqs),
        }
    }

    if "mmseqs" in tiers:
        settings = mmseqs_settings or _mmseqs.MmseqsSettings()
        reason = "mmseqs searches biological sequences, not text" if kind == "text" else None
        reason = reason or _mmseqs.unavailable_reason(settings.executable)
        if reason is not None:
            raise _mmseqs.MmseqsError(f"the mmseqs tier cannot run: {reason}")
        t0 = time.perf_counter()
        say("mmseqs all-against-all", 0, len(seqs))
        named = [(str(i), s) for i, s in enumerate(seqs)]
        hits = _mmseqs.mmseqs_search(named, named, kind=kind, identity=identity, settings=settings)
        edges = joins = 0
        for hit in hits:
            a, b = int(hit.query), int(hit.reference)
            if a == b or max(hit.query_coverage, hit.reference_coverage) + 1e-9 < coverage:
                continue
            edges += 1
            joins += uf.union(a, b)
        report["mmseqs"] = {
            "ran": True,
            "settings": settings.to_dict(),
            "version": _mmseqs.version(settings.executable),
            "edges": edges,
            "joins": joins,
            "seconds": round(time.perf_counter() - t0, 3),
        }
    else:
        report["mmseqs"] = {"ran": False, "reason": "not requested"}

    if "minhash" in tiers:
        report["minhash"] = _minhash_edges(seqs, uf, kind, identity, coverage, params, say)
    else:
        report["minhash"] = {"ran": False, "reason": "not requested"}

    # Components numbered in order of their first record.
    number: dict[int, int] = {}
    labels = []
    for node in record_node:
        root = uf.find(node)
        labels.append(number.setdefault(root, len(number)))
    return ComponentGraph(ids, labels, identity, coverage, report, time.perf_counter() - started)


def _minhash_edges(
    seqs: list[str],
    uf: UnionFind,
    kind: str,
    identity: float,
    coverage: float,
    params: SketchParams | None,
    say: Callable[[str, int, int | None], None],
) -> dict[str, Any]:
    t0 = time.perf_counter()
    params = params or default_sketch_params(kind)
    threshold, bands, rows = lsh_settings(identity, params.num_perm)
    sigs = sketch_batch(seqs, params)
    index = LSHIndex(params, bands=bands, rows=rows)
    index.add(list(range(len(seqs))), sigs)
    verifier = Verifier(kind=kind, identity=identity, coverage=coverage)
    aligned = edges = joins = skipped = 0
    chunk = 2048
    for lo in range(0, len(seqs), chunk):
        for offset, cands in enumerate(index.query_batch(sigs[lo : lo + chunk])):
            i = lo + offset
            for key in cands:
                j = int(str(key))  # the keys added are ints
                if j <= i:  # each unordered pair once, never a node with itself
                    continue
                if uf.find(i) == uf.find(j):  # already joined: the edge would change nothing
                    skipped += 1
                    continue
                # The shorter sequence is the query: its coverage is the larger of the two.
                q, r = (i, j) if len(seqs[i]) <= len(seqs[j]) else (j, i)
                aligned += 1
                if verifier.verify(str(q), seqs[q], str(r), seqs[r]) is not None:
                    edges += 1
                    joins += uf.union(i, j)
            verifier.forget("q", str(i))
        say("minhash candidates", min(lo + chunk, len(seqs)), len(seqs))
    return {
        "ran": True,
        "settings": {"sketch_params": params.key(), "lsh_threshold": threshold, "bands": bands, "rows": rows},
        "aligned_pairs": aligned,
        "skipped_already_joined": skipped,
        "edges": edges,
        "joins": joins,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def parse_fractions(text: str) -> dict[str, float]:
    """``"train=0.8,validation=0.1,test=0.1"`` -> ``{"train": 0.8, ...}``; fractions must sum to 1.

    Examples:
        >>> parse_fractions("train=0.8,test=0.2")
        {'train': 0.8, 'test': 0.2}
        >>> parse_fractions("train=0.8,test=0.3")
        Traceback (most recent call last):
        ...
        ValueError: fractions must sum to 1, these sum to 1.1 (train=0.8,test=0.3)
    """
    out: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name:
            raise ValueError(f"fractions are NAME=FRACTION pairs separated by commas, got {item!r}")
        try:
            fraction = float(value)
        except ValueError:
            raise ValueError(f"fraction of {name!r} is not a number: {value!r}") from None
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction of {name!r} must be between 0 and 1 (exclusive), got {value}")
        if name in out:
            raise ValueError(f"part {name!r} is given twice")
        out[name] = fraction
    if len(out) < 2:
        raise ValueError("a split needs at least two parts, e.g. train=0.8,test=0.2")
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, these sum to {round(total, 6)} ({text})")
    return out


@dataclass
class PartPlan:
    """Which part each component goes to, and what was achieved.

    Attributes:
        parts: the part of each component (``assignment[c]``), by name.
        targets: the requested fractions (of the records not in ``other``).
        achieved: the fraction of those records each part got.
        counts: records per part (``other`` included when used).
        label_fractions: per part, the fraction of each label (stratified plans only).
        oversized: components moved to ``other`` (index and size).
        tolerance: the largest allowed ``|achieved - target|``.
        seed: the seed of the tie-breaking shuffle.
    """

    parts: list[str]
    targets: dict[str, float]
    achieved: dict[str, float]
    counts: dict[str, int]
    label_fractions: dict[str, dict[str, float]]
    oversized: list[dict[str, int]]
    tolerance: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "targets": self.targets,
            "achieved": {k: round(v, 6) for k, v in self.achieved.items()},
            "counts": self.counts,
            "label_fractions": self.label_fractions,
            "oversized": self.oversized,
            "tolerance": self.tolerance,
            "seed": self.seed,
        }


def assign_components(
    sizes: Sequence[int],
    fractions: Mapping[str, float],
    *,
    seed: int = 0,
    tolerance: float = 0.02,
    labels: Sequence[Mapping[str, int]] | None = None,
    forbidden: Mapping[int, set[str]] | None = None,
    oversize: str = "fail",
    other_name: str = "other",
) -> PartPlan:
    """Assign whole components to parts so each part's share is within ``tolerance`` of its fraction.

    Largest components first (equal sizes in an order shuffled by ``seed``), each to the allowed
    part where it reduces the squared distance to the targets most: per label when ``labels`` gives
    each component's label counts (stratification), of the record counts otherwise.

    Args:
        sizes: records per component.
        fractions: part name -> target fraction (summing to 1).
        seed: seed of the tie-breaking shuffle; equal input and seed give an equal plan.
        tolerance: largest allowed ``|achieved - target|`` per part (a fraction of the records).
        labels: per component, ``{label: records}`` (sums equal to ``sizes``).
        forbidden: component -> parts it must not go to (e.g. the test part, for records that
            overlap prior training data).
        oversize: ``"fail"``: a component larger than the largest part (fraction plus tolerance)
            is an error; ``"other"``: such components go to a part named ``other_name`` and the
            fractions apply to the remaining records.
        other_name: name of that part.

    Raises:
        SplitImpossible: a component is too large (with ``oversize="fail"``), or the fractions are
            not met within the tolerance; the message gives the sizes and the choices.

    Examples:
        >>> plan = assign_components([5, 3, 1, 1], {"train": 0.6, "test": 0.4}, tolerance=0.1)
        >>> plan.parts, plan.counts
        (['train', 'test', 'train', 'test'], {'train': 6, 'test': 4})
        >>> assign_components([9, 1], {"train": 0.8, "test": 0.2}).parts
        Traceback (most recent call last):
        ...
        dedup.splitting.SplitImpossible: the largest component holds 9 of 10 records (90.0%), more than the largest part (train, 80% + 2% tolerance) can hold; choose a looser identity threshold, put such components in an 'other' part (oversize='other'), or accept this split cannot be made
    """
    if oversize not in OVERSIZE_CHOICES:
        raise ValueError(f"oversize must be one of {', '.join(OVERSIZE_CHOICES)}, got {oversize!r}")
    if other_name in fractions and oversize == "other":
        raise ValueError(f"part name {other_name!r} is reserved for oversized components; rename that part")
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"tolerance must be a fraction from 0 to 1, got {tolerance!r}")
    names = list(fractions)
    total = sum(sizes)
    if total == 0:
        raise SplitImpossible("there are no records to split")
    forbidden = forbidden or {}
    largest_part = max(names, key=lambda n: fractions[n])
    cap = (fractions[largest_part] + tolerance) * total
    order = list(range(len(sizes)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda c: -sizes[c])  # stable: the shuffle breaks ties

    parts: list[str] = [""] * len(sizes)
    oversized = [c for c in order if sizes[c] > cap]
    if oversized and oversize == "fail":
        c = oversized[0]
        raise SplitImpossible(
            f"the largest component holds {sizes[c]:,} of {total:,} records ({sizes[c] / total:.1%}), more than "
            f"the largest part ({largest_part}, {fractions[largest_part]:.0%} + {tolerance:.0%} tolerance) can "
            "hold; choose a looser identity threshold, put such components in an 'other' part "
            "(oversize='other'), or accept this split cannot be made",
            {
                "largest_components": [sizes[c] for c in oversized[:10]],
                "records": total,
                "part": largest_part,
                "capacity": int(cap),
            },
        )
    for c in oversized:
        parts[c] = other_name
    rest = [c for c in order if c not in set(oversized)]
    remaining = total - sum(sizes[c] for c in oversized)
    if remaining == 0:
        raise SplitImpossible(
            f"every record is in a component larger than any part ({', '.join(str(sizes[c]) for c in oversized)}"
            f" records); choose a looser identity threshold",
            {"largest_components": [sizes[c] for c in oversized[:10]], "records": total},
        )

    label_names = sorted({name for counts in (labels or []) for name in counts})
    label_totals = {lab: 0 for lab in label_names}
    if labels is not None:
        for c in rest:
            for lab, n in labels[c].items():
                label_totals[lab] += n
    target = {p: fractions[p] * remaining for p in names}
    target_label = {p: {lab: fractions[p] * label_totals[lab] for lab in label_names} for p in names}
    current = {p: 0 for p in names}
    current_label = {p: {lab: 0 for lab in label_names} for p in names}
    for c in rest:
        allowed = [p for p in names if p not in forbidden.get(c, set())]
        if not allowed:
            raise SplitImpossible(f"component {c} may go to no part: every part is forbidden to it")
        size = sizes[c]

        def cost(p: str, c: int = c, size: int = size) -> tuple[float, int]:
            delta = (current[p] + size - target[p]) ** 2 - (current[p] - target[p]) ** 2
            if labels is not None:
                for lab, n in labels[c].items():
                    have, want = current_label[p][lab], target_label[p][lab]
                    delta += (have + n - want) ** 2 - (have - want) ** 2
            return delta, names.index(p)

        best = min(allowed, key=cost)
        parts[c] = best
        current[best] += size
        if labels is not None:
            for lab, n in labels[c].items():
                current_label[best][lab] += n

    achieved = {p: current[p] / remaining for p in names}
    counts = dict(current)
    if oversized:
        counts[other_name] = total - remaining
    label_fractions: dict[str, dict[str, float]] = {}
    if labels is not None:
        for p in names:
            n = current[p] or 1
            label_fractions[p] = {lab: round(current_label[p][lab] / n, 6) for lab in label_names}
    plan = PartPlan(
        parts=parts,
        targets=dict(fractions),
        achieved=achieved,
        counts=counts,
        label_fractions=label_fractions,
        oversized=[{"component": c, "records": sizes[c]} for c in oversized],
        tolerance=tolerance,
        seed=seed,
    )
    off = {
        p: achieved[p] - fractions[p] for p in names if abs(achieved[p] - fractions[p]) > tolerance + 1e-12
    }
    if off:
        shown = ", ".join(f"{p} {achieved[p]:.1%} (target {fractions[p]:.0%})" for p in names)
        biggest = sorted(sizes, reverse=True)[:5]
        raise SplitImpossible(
            f"whole components cannot meet the fractions within {tolerance:.0%}: {shown}; the largest "
            f"components hold {', '.join(f'{s:,}' for s in biggest)} of {total:,} records. Choose a looser "
            "identity threshold, a larger tolerance, or an 'other' part for the largest components",
            {"achieved": plan.to_dict()["achieved"], "largest_components": biggest, "records": total},
        )
    return plan
