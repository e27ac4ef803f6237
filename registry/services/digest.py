"""The dataset version digest: sha256, full content, independent of record order and line wrapping.

Recipe (README, "Digest"): for every record, ``h = sha256(identifier + "\\t" + description + "\\t" +
sequence)`` over UTF-8, where ``sequence`` is the normalised sequence; sort the hex digests; the
version digest is ``sha256`` of the sorted hex digests, each followed by ``"\\n"``.
"""

import hashlib


def record_hash(identifier: str, description: str, sequence: str) -> str:
    return hashlib.sha256(f"{identifier}\t{description}\t{sequence}".encode()).hexdigest()


def version_digest(record_hashes: list[str]) -> str:
    """Order-free digest of a version from its records' hashes.

    >>> a = record_hash("P1", "", "MKV")
    >>> b = record_hash("P2", "", "MKL")
    >>> version_digest([a, b]) == version_digest([b, a])
    True
    """
    digest = hashlib.sha256()
    for value in sorted(record_hashes):
        digest.update(value.encode("ascii") + b"\n")
    return digest.hexdigest()
