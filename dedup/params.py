"""Sketch parameters: the settings that travel with every signature.

Two signatures can only be compared when they were computed with equal
:class:`SketchParams`; :meth:`SketchParams.key` is the short stable string that
identifies them (and is what a database stores next to a signature or a band
key).
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HASH_NAME", "KINDS", "MAX_K", "SketchParams"]

#: Identifier of the shingle hash function defined in :mod:`dedup.shingle`.
#: A new, incompatible hash function gets a new name (``ll-shingle-v2``...).
HASH_NAME = "ll-shingle-v1"

#: Sequence kinds that can be sketched.
KINDS = ("protein", "dna", "rna", "text")

#: Largest k per kind: a protein k-mer packs 5 bits per residue and a DNA/RNA
#: k-mer 2 bits per base into one 64-bit word whose top bit is reserved (see
#: :mod:`dedup.shingle`). Text n-grams are hashed with BLAKE2b, any n works.
MAX_K = {"protein": 12, "dna": 31, "rna": 31, "text": 64}

_SCHEMES = ("affine32",)

# Defaults per kind. Protein k=5: at 90% identity about 0.9**5 = 59% of k-mers
# survive (Jaccard ~0.42) while unrelated proteins share almost none (20**5 =
# 3.2 million possible 5-mers). DNA k=16: 4**16 = 4.3e9 possible k-mers keeps
# chance matches rare in genome-sized references. Text: word 3-grams.
_DEFAULT_K = {"protein": 5, "dna": 16, "rna": 16, "text": 3}


@dataclass(frozen=True)
class SketchParams:
    """Settings of a MinHash sketch; equal params are needed to compare signatures.

    Args:
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        k: k-mer length in residues (for text: the word n-gram length).
        num_perm: number of MinHash permutations (hash values per signature).
        seed: seed of the permutations, as in ``datasketch.MinHash(seed=...)``.
        scheme: datasketch 2.0 permutation scheme; only ``"affine32"`` is supported.
        hash_name: identifier of the shingle hash function (:data:`HASH_NAME`).

    Raises:
        ValueError: when a field is out of range; the message names the allowed values.

    Examples:
        >>> p = SketchParams.default("protein")
        >>> p.key()
        'protein:k5:p128:s1:affine32:ll-shingle-v1'
        >>> SketchParams.from_key(p.key()) == p
        True
    """

    kind: str
    k: int
    num_perm: int = 128
    seed: int = 1
    scheme: str = "affine32"
    hash_name: str = HASH_NAME

    def __post_init__(self) -> None:
        for name in ("k", "num_perm", "seed"):  # accept numpy integers, store plain ints
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, name, int(value))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if type(self.k) is not int or not 1 <= self.k <= MAX_K[self.kind]:
            raise ValueError(
                f"k for kind {self.kind!r} must be an int from 1 to {MAX_K[self.kind]}, got {self.k!r}"
            )
        if type(self.num_perm) is not int or not 1 <= self.num_perm <= 4096:
            raise ValueError(f"num_perm must be an int from 1 to 4096, got {self.num_perm!r}")
        if type(self.seed) is not int or not 0 <= self.seed < 2**32:
            raise ValueError(
                f"seed must be an int from 0 to 2**32 - 1 (numpy RandomState seed), got {self.seed!r}"
            )
        if self.scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}, got {self.scheme!r}")
        if self.hash_name != HASH_NAME:
            raise ValueError(
                f"hash_name must be {HASH_NAME!r} (the only shingle hash implemented), got {self.hash_name!r}"
            )

    @classmethod
    def default(cls, kind: str) -> SketchParams:
        """Default parameters for a kind of sequence.

        Examples:
            >>> SketchParams.default("dna").k
            16
        """
        if kind not in _DEFAULT_K:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        return cls(kind=kind, k=_DEFAULT_K[kind])

    def key(self) -> str:
        """Short stable string identifying these params, e.g. for a database column.

        Examples:
            >>> SketchParams("dna", 21, num_perm=64).key()
            'dna:k21:p64:s1:affine32:ll-shingle-v1'
        """
        return f"{self.kind}:k{self.k}:p{self.num_perm}:s{self.seed}:{self.scheme}:{self.hash_name}"

    @classmethod
    def from_key(cls, key: str) -> SketchParams:
        """Parse a string made by :meth:`key`.

        Raises:
            ValueError: when the string is not a key made by :meth:`key`.

        Examples:
            >>> SketchParams.from_key("text:k5:p256:s7:affine32:ll-shingle-v1").num_perm
            256
        """
        parts = key.split(":")
        try:
            kind, k, p, s, scheme, hash_name = parts
            if not (k[0] == "k" and p[0] == "p" and s[0] == "s"):
                raise ValueError
            params = cls(kind, int(k[1:]), int(p[1:]), int(s[1:]), scheme, hash_name)
        except (ValueError, IndexError) as err:
            raise ValueError(
                f"not a sketch params key: {key!r}; expected 'kind:k<k>:p<num_perm>:s<seed>:<scheme>:<hash_name>' "
                f"as made by SketchParams.key() ({err})"
            ) from None
        if params.key() != key:  # e.g. "k05": refuse non-canonical spellings of the same params
            raise ValueError(f"not a canonical sketch params key: {key!r}; use {params.key()!r}")
        return params

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict.

        Examples:
            >>> SketchParams.default("protein").to_dict()["num_perm"]
            128
        """
        return asdict(self)
