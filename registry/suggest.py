"""Did-you-mean suggestions for unknown names, references and record identifiers (difflib)."""

import difflib
from collections.abc import Iterable


def close_matches(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.75) -> list[str]:
    """The candidates closest to ``word``, case-insensitively; a case typo (``5la7-a``) finds ``5LA7-A``.

    >>> close_matches("5la7-a", ["5LA7-A", "1ES5-A"])
    ['5LA7-A']
    >>> close_matches("flip-bnd", ["flip-bind", "deeploc"])
    ['flip-bind']
    """
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    lowered = word.lower()
    if lowered in by_lower and by_lower[lowered] != word:
        return [by_lower[lowered]]
    return [by_lower[m] for m in difflib.get_close_matches(lowered, list(by_lower), n=n, cutoff=cutoff)]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` (with a leading space), or ``""`` when nothing is close."""
    matches = close_matches(word, candidates)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"
