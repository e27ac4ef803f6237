"""The measured recall of each method, per identity band, shipped in ``dedup/calibration.json``.

``python benchmarks/calibrate.py`` writes the file: for every method in
:func:`dedup.method.default_methods` it measures, per band of TRUE identity, the share of
planted mutants (truth by construction, ``benchmarks/planted.py``) that the method reports
at or above the band's lower edge, with a Wilson 95% interval, and the same on real pairs
with MMseqs2 ground truth. A method is looked up by its :meth:`dedup.method.Method.key`
only: a method that was never measured gets no numbers, only the name of the nearest
measured method (:func:`nearest_measured`).

Examples:
    >>> from dedup.method import Method
    >>> lookup(Method(kind="text")) is None
    True
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from .method import Method

__all__ = [
    "BANDS",
    "CALIBRATION_FILE",
    "band_of",
    "calibration_table",
    "lookup",
    "nearest_measured",
    "wilson",
]

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")

#: Identity bands ``(label, low, high)``: ``low <= identity < high``; the 100% band is identity 1.
BANDS: tuple[tuple[str, float, float], ...] = (
    ("100%", 1.0, math.inf),
    ("[95,100)", 0.95, 1.0),
    ("[90,95)", 0.90, 0.95),
    ("[80,90)", 0.80, 0.90),
    ("[70,80)", 0.70, 0.80),
    ("[50,70)", 0.50, 0.70),
    ("[30,50)", 0.30, 0.50),
)

#: Finer strata for the estimate (5 points wide below 100%): recall changes steeply inside a band
#: ([70,80) runs from about 0.4 to 0.9 for k=5), so the estimate weighs each found hit by the recall
#: of the identity it was found at, not by the band's average.
BINS: tuple[tuple[str, float, float], ...] = (("100%", 1.0, math.inf),) + tuple(
    (f"[{lo},{lo + 5})", lo / 100, (lo + 5) / 100) for lo in range(95, 25, -5)
)

_EPS = 1e-9


def band_of(identity: float, bands: tuple[tuple[str, float, float], ...] = BANDS) -> str | None:
    """The label of the band (or bin of :data:`BINS`) holding ``identity`` (``None`` below 30%).

    Examples:
        >>> band_of(1.0), band_of(0.949999), band_of(0.95), band_of(0.2)
        ('100%', '[90,95)', '[95,100)', None)
        >>> band_of(0.72, BINS)
        '[70,75)'
    """
    for label, low, high in bands:
        if low - _EPS <= identity < high - _EPS:
            return label
    return None


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default).

    Examples:
        >>> [round(x, 3) for x in wilson(90, 100)]
        [0.826, 0.945]
        >>> wilson(0, 0)
        (0.0, 1.0)
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@lru_cache(maxsize=1)
def calibration_table() -> dict[str, Any]:
    """The whole shipped calibration file (empty when missing)."""
    try:
        with open(CALIBRATION_FILE, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def lookup(method: Method) -> dict[str, Any] | None:
    """The calibration entry measured for exactly this method's key, or ``None``."""
    entry = calibration_table().get("methods", {}).get(method.key())
    return json.loads(json.dumps(entry)) if entry is not None else None


def nearest_measured(method: Method) -> dict[str, Any] | None:
    """The measured method of the same kind that differs from ``method`` in the fewest settings.

    Returns ``{"key", "label", "differs_in"}`` or ``None`` when nothing of that kind was measured.
    """
    best: tuple[int, str, dict[str, Any]] | None = None
    for key, entry in sorted(calibration_table().get("methods", {}).items()):
        if entry.get("method", {}).get("kind") != method.kind:
            continue
        diff = method.differences(entry["method"])
        if best is None or len(diff) < best[0]:
            best = (len(diff), key, {"key": key, "label": entry.get("label"), "differs_in": diff})
    return best[2] if best else None
