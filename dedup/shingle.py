"""Shingling: a sequence becomes a set of 32-bit shingle hashes.

The shingle hash ``ll-shingle-v1`` (:data:`dedup.params.HASH_NAME`), precisely
enough to reimplement it:

1. **Shingles.**

   - *protein*: every window of ``k`` consecutive residues (k-mer). The sequence
     is read as ASCII (any other character counts as one unknown byte).
   - *dna* / *rna*: every window of ``k`` consecutive bases that contains only
     ``A C G T U`` (either case); windows holding any other character (``N``,
     IUPAC codes, gaps) are skipped, as Mash and sourmash do. ``U`` is ``T``.
     A k-mer and its reverse complement are the same shingle (canonical k-mers),
     so a read and its reverse complement have the same set.
   - *text*: the text is normalised with Unicode NFKC and ``str.casefold``,
     split into words with the regular expression ``\\w+``, and every ``k``
     consecutive words joined by single spaces make one shingle.
   - *short input*: a protein, DNA or RNA sequence shorter than ``k`` (but not
     empty) is one shingle, the whole sequence, so that short peptides still
     get a signature (DNA: only if every base is valid). A text of fewer than
     ``k`` words is one shingle of all its words. Empty input has no shingles
     and its signature holds only ``0xFFFFFFFF`` (as an empty datasketch MinHash).

2. **A 64-bit value per shingle.**

   - *protein*: each residue gets a 5-bit code: letters ``A``-``Z`` (either case)
     are 1-26, any other byte 31. ``v = sum(code[s_i] << 5 * (L - 1 - i))``,
     the first residue in the highest bits (``L`` = shingle length <= 12).
   - *dna* / *rna*: ``A=0, C=1, G=2, T=U=3``; ``fwd = sum(code[s_i] << 2 * (L - 1 - i))``,
     ``rev = sum((3 - code[s_i]) << 2 * i)`` (the reverse complement packed the
     same way), ``v = min(fwd, rev)``.
   - a short shingle (shorter than ``k``, see above) has bit 63 set:
     ``v |= 1 << 63``; it can never equal a full k-mer's value.
   - *text*: ``v = int.from_bytes(blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "little")``.

3. **To 32 bits.** ``h = fmix64(v) >> 32``, where ``fmix64`` is the MurmurHash3
   64-bit finalizer (all arithmetic modulo 2**64)::

       v ^= v >> 33; v *= 0xFF51AFD7ED558CCD; v ^= v >> 33; v *= 0xC4CEB9FE1A85EC53; v ^= v >> 33

``h`` is what :func:`shingle_hash` returns for the shingle's bytes and what a
``datasketch.MinHash(hashfunc=hashfunc(params))`` receives; datasketch's
``affine32`` scheme then applies its own ``fmix32`` and permutations (see
:mod:`dedup.sketch`).

Examples:
    >>> from dedup import _native
from dedup import _native
from dedup.params import SketchParams
    >>> p = SketchParams("dna", 4)
    >>> shingles("ACGTTN", p)
    [b'ACGT', b'CGTT']
    >>> shingle_hash(b"CGTT", p) == shingle_hash(b"AACG", p)  # reverse complements
    True
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np

from dedup import _native
from dedup.arrays import sorted_unique
from dedup.params import SketchParams

__all__ = [
    "batch_shingle_hashes",
    "batch_shingle_hashes64",
    "fmix64",
    "hashfunc",
    "normalise_text",
    "shingle_hash",
    "shingle_hashes",
    "shingles",
]

_M64 = (1 << 64) - 1
_SHORT_BIT = 1 << 63
_WORD_RE = re.compile(r"\w+")
_INVALID = 255


def _protein_table() -> np.ndarray:
    table = np.full(256, 31, dtype=np.uint8)
    for i in range(26):
        table[ord("A") + i] = table[ord("a") + i] = i + 1
    return table


def _nucleotide_table() -> np.ndarray:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for letters, code in (("Aa", 0), ("Cc", 1), ("Gg", 2), ("TtUu", 3)):
        for ch in letters:
            table[ord(ch)] = code
    return table


#: Residue code tables indexed by byte value (255: not a valid base).
PROTEIN_CODES = _protein_table()
NUCLEOTIDE_CODES = _nucleotide_table()


def fmix64(v: int) -> int:
    """MurmurHash3's 64-bit finalizer, a bijection on [0, 2**64).

    Examples:
        >>> hex(fmix64(1))
        '0xb456bcfc34c2cb2c'
    """
    v &= _M64
    v ^= v >> 33
    v = (v * 0xFF51AFD7ED558CCD) & _M64
    v ^= v >> 33
    v = (v * 0xC4CEB9FE1A85EC53) & _M64
    return v ^ (v >> 33)


def _fmix64_array(v: np.ndarray) -> np.ndarray:
    v = v ^ (v >> np.uint64(33))
    v = v * np.uint64(0xFF51AFD7ED558CCD)
    v = v ^ (v >> np.uint64(33))
    v = v * np.uint64(0xC4CEB9FE1A85EC53)
    return v ^ (v >> np.uint64(33))


def normalise_text(text: str) -> list[str]:
    """The words of a text as the text shingler sees them (NFKC, casefolded, ``\\w+``).

    Examples:
        >>> normalise_text("The QUICK, brown fox.")
        ['the', 'quick', 'brown', 'fox']
    """
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(sequence: str, params: SketchParams) -> list[bytes]:
    """The shingles of one sequence as bytes, in order, with repeats (reference, slow).

    Feed these to ``datasketch.MinHash(hashfunc=hashfunc(params))`` to get the
    same signature as :func:`dedup.sketch.sketch`. DNA/RNA k-mers are returned
    as read (not canonicalised); :func:`shingle_hash` canonicalises them.

    Examples:
        >>> from dedup.params import SketchParams
        >>> shingles("MKV", SketchParams("protein", 2))
        [b'MK', b'KV']
        >>> shingles("MK", SketchParams("protein", 5))  # shorter than k: one shingle
        [b'MK']
        >>> shingles("a b c d", SketchParams("text", 3))
        [b'a b c', b'b c d']
    """
    k = params.k
    if params.kind == "text":
        words = normalise_text(sequence)
        if not words:
            return []
        if len(words) < k:
            return [" ".join(words).encode("utf-8")]
        return [" ".join(words[i : i + k]).encode("utf-8") for i in range(len(words) - k + 1)]
    data = sequence.encode("ascii", "replace")
    if params.kind == "protein":
        if 0 < len(data) < k:
            return [data]
        return [data[i : i + k] for i in range(len(data) - k + 1)]
    valid = [NUCLEOTIDE_CODES[c] != _INVALID for c in data]
    if 0 < len(data) < k:
        return [data] if all(valid) else []
    return [data[i : i + k] for i in range(len(data) - k + 1) if all(valid[i : i + k])]


def shingle_hash(shingle: bytes, params: SketchParams) -> int:
    """The 32-bit hash of one shingle given as bytes (reference, slow).

    A shingle shorter than ``params.k`` (protein, DNA, RNA) is a short-input
    shingle (bit 63 set before mixing, see the module docstring).

    Raises:
        ValueError: a DNA/RNA shingle holds a character other than ACGTU.

    Examples:
        >>> from dedup.params import SketchParams
        >>> shingle_hash(b"MKVLA", SketchParams("protein", 5))
        1444231350
    """
    if params.kind == "text":
        v = int.from_bytes(hashlib.blake2b(shingle, digest_size=8).digest(), "little")
        return fmix64(v) >> 32
    if params.kind != "protein":
        for c in shingle:
            if NUCLEOTIDE_CODES[c] == _INVALID:
                raise ValueError(
                    f"DNA/RNA shingle {shingle!r} holds {chr(c)!r}; only ACGTU k-mers are shingles"
                )
    return fmix64(_pack(shingle, params)) >> 32


def hashfunc(params: SketchParams) -> Callable[[bytes], int]:
    """A ``hashfunc`` for ``datasketch.MinHash`` that hashes shingles as :func:`shingle_hash`.

    Examples:
        >>> import datasketch
        >>> from dedup.params import SketchParams
        >>> p = SketchParams("protein", 3)
        >>> m = datasketch.MinHash(num_perm=p.num_perm, seed=p.seed, scheme=p.scheme, hashfunc=hashfunc(p))
        >>> m.update_batch(shingles("MKVLAAGIV", p))
    """

    def _hash(shingle: bytes) -> int:
        return shingle_hash(shingle, params)

    return _hash


def shingle_hashes(sequence: str, params: SketchParams) -> np.ndarray:
    """The sorted unique uint32 shingle hashes of one sequence (vectorised).

    Examples:
        >>> from dedup.params import SketchParams
        >>> p = SketchParams("protein", 5)
        >>> shingle_hashes("MKVLAMKVLA", p).size  # MKVLA repeats
        5
        >>> int(shingle_hashes("MKVLA", p)[0]) == shingle_hash(b"MKVLA", p)
        True
    """
    flat, _offsets = batch_shingle_hashes([sequence], params)
    return sorted_unique(flat)


def batch_shingle_hashes(sequences: Sequence[str], params: SketchParams) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of many sequences at once, flat, with repeats.

    Returns:
        ``(hashes, offsets)``: uint32 hashes and int64 offsets of length
        ``len(sequences) + 1``; sequence ``i`` owns ``hashes[offsets[i]:offsets[i + 1]]``.

    Examples:
        >>> from dedup.params import SketchParams
        >>> h, off = batch_shingle_hashes(["MKVLA", "", "MK"], SketchParams("protein", 3))
        >>> off.tolist()
        [0, 3, 3, 4]
    """
    mixed, offsets = batch_shingle_hashes64(sequences, params)
    return (mixed >> np.uint64(32)).astype(np.uint32), offsets


def batch_shingle_hashes64(sequences: Sequence[str], params: SketchParams) -> tuple[np.ndarray, np.ndarray]:
    """:func:`batch_shingle_hashes` before step 3's shift: the full 64-bit ``fmix64(v)`` per shingle.

    ``fmix64`` is a bijection, so for protein (k <= 12) and DNA/RNA (k <= 31) two different
    k-mers never share a 64-bit value (what a FracMinHash set sketch needs, :mod:`dedup.screen`).

    Examples:
        >>> from dedup.params import SketchParams
        >>> p = SketchParams("protein", 5)
        >>> h64, _ = batch_shingle_hashes64(["MKVLA"], p)
        >>> int(h64[0] >> 32) == shingle_hash(b"MKVLA", p)
        True
    """
    n = len(sequences)
    if params.kind == "text":
        per_seq = [
            [
                fmix64(int.from_bytes(hashlib.blake2b(s, digest_size=8).digest(), "little"))
                for s in shingles(t, params)
            ]
            for t in sequences
        ]
        counts = np.fromiter((len(h) for h in per_seq), dtype=np.int64, count=n)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.fromiter((h for hs in per_seq for h in hs), dtype=np.uint64, count=int(offsets[-1]))
        return flat, offsets
    encoded = [s.encode("ascii", "replace") for s in sequences]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=n)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    k = params.k
    protein = params.kind == "protein"
    native = _native.shingles(  # the same hashes in one pass, where the C library is there
        buf, starts, k, protein, PROTEIN_CODES if protein else NUCLEOTIDE_CODES
    )
    if native is not None:
        return native
    codes = (PROTEIN_CODES if protein else NUCLEOTIDE_CODES)[buf]

    n_win = max(buf.size - k + 1, 0)
    seq_of_pos = np.repeat(np.arange(n, dtype=np.int64), lengths)
    win_seq = seq_of_pos[:n_win]
    valid = win_seq == seq_of_pos[k - 1 : k - 1 + n_win]
    bits = 5 if protein else 2
    fwd = np.zeros(n_win, dtype=np.uint64)
    if protein:
        for j in range(k):
            fwd = (fwd << np.uint64(bits)) | codes[j : j + n_win].astype(np.uint64)
        values = fwd
    else:
        bad = np.concatenate(([0], np.cumsum(codes == _INVALID, dtype=np.int64)))
        valid &= bad[k : k + n_win] == bad[:n_win]
        c64 = np.where(codes == _INVALID, 0, codes).astype(np.uint64)
        rev = np.zeros(n_win, dtype=np.uint64)
        for j in range(k):
            cj = c64[j : j + n_win]
            fwd = (fwd << np.uint64(2)) | cj
            rev |= (np.uint64(3) - cj) << np.uint64(2 * j)
        values = np.minimum(fwd, rev)
    values = values[valid]
    counts = np.bincount(win_seq[valid], minlength=n).astype(np.int64)

    short_idx = np.flatnonzero((lengths > 0) & (lengths < k))
    short_vals = []
    short_keep = []
    for i in short_idx.tolist():
        e = encoded[i]
        if protein or all(NUCLEOTIDE_CODES[c] != _INVALID for c in e):
            short_vals.append(_pack(e, params))
            short_keep.append(i)
    hashes = _fmix64_array(values)
    if short_keep:
        counts[short_keep] = 1
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        out = np.empty(int(offsets[-1]), dtype=np.uint64)
        is_short = np.zeros(out.size, dtype=bool)
        is_short[offsets[short_keep]] = True
        out[is_short] = _fmix64_array(np.array(short_vals, dtype=np.uint64))
        out[~is_short] = hashes
        return out, offsets
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return hashes, offsets


def _pack(shingle: bytes, params: SketchParams) -> int:
    """The 64-bit value of a protein/DNA shingle (step 2 of the module docstring)."""
    v = 0
    if params.kind == "protein":
        for c in shingle:
            v = (v << 5) | int(PROTEIN_CODES[c])
    else:
        rev = 0
        for i, c in enumerate(shingle):
            code = int(NUCLEOTIDE_CODES[c])
            v = (v << 2) | code
            rev |= (3 - code) << (2 * i)
        v = min(v, rev)
    if len(shingle) < params.k:
        v |= _SHORT_BIT
    return v
