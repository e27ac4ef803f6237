"""Shingling and the documented shingle hash (ll-shingle-v1), on real sequences."""

import hashlib
import re
import unicodedata

import numpy as np
import pytest
from Bio import SeqIO
from Bio.Seq import reverse_complement

from dedup.params import SketchParams
from dedup.shingle import batch_shingle_hashes, hashfunc, shingle_hash, shingle_hashes, shingles
from tests.conftest import FIXTURES

GLOBINS = FIXTURES / "hmmer_tutorial" / "globins45.fa"
NUCLEOTIDES = sorted((FIXTURES / "biopython_fasta").glob("*.nu"))
README_TEXT = (FIXTURES / "casp16_phase0" / "README.upstream.md").read_text(encoding="utf-8")


def globins() -> list[str]:
    return [str(r.seq) for r in SeqIO.parse(GLOBINS, "fasta")]


def nucleotides() -> list[str]:
    return [str(r.seq) for path in NUCLEOTIDES for r in SeqIO.parse(path, "fasta")]


# An outsider's implementation written from the dedup.shingle module docstring only.
M64 = (1 << 64) - 1


def doc_fmix64(v):
    v ^= v >> 33
    v = (v * 0xFF51AFD7ED558CCD) & M64
    v ^= v >> 33
    v = (v * 0xC4CEB9FE1A85EC53) & M64
    return v ^ (v >> 33)


def doc_hash(shingle: str, kind: str, k: int) -> int:
    if kind == "text":
        v = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "little")
        return doc_fmix64(v) >> 32
    if kind == "protein":
        v = 0
        for ch in shingle:
            code = ord(ch.upper()) - 64 if ch.isascii() and ch.isalpha() else 31
            v = v * 32 + code
    else:
        code = {"A": 0, "C": 1, "G": 2, "T": 3, "U": 3}
        fwd = sum(code[ch.upper()] * 4 ** (len(shingle) - 1 - i) for i, ch in enumerate(shingle))
        rev = sum((3 - code[ch.upper()]) * 4**i for i, ch in enumerate(shingle))
        v = min(fwd, rev)
    if len(shingle) < k:
        v += 2**63
    return doc_fmix64(v) >> 32


def doc_text_shingles(text: str, n: int) -> list[str]:
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
    if 0 < len(words) < n:
        return [" ".join(words)]
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


@pytest.mark.parametrize("k", [1, 3, 5, 12])
def test_protein_hash_matches_the_documented_definition(k):
    params = SketchParams("protein", k)
    for seq in globins()[:10]:
        expected = {doc_hash(seq[i : i + k], "protein", k) for i in range(len(seq) - k + 1)}
        assert set(shingle_hashes(seq, params).tolist()) == expected


@pytest.mark.parametrize("k", [4, 16, 31])
def test_dna_hash_matches_the_documented_definition(k):
    params = SketchParams("dna", k)
    for seq in nucleotides():
        windows = [seq[i : i + k] for i in range(len(seq) - k + 1)]
        expected = {doc_hash(w, "dna", k) for w in windows if set(w.upper()) <= set("ACGT")}
        assert set(shingle_hashes(seq, params).tolist()) == expected


def test_text_hash_matches_the_documented_definition():
    params = SketchParams("text", 3)
    expected = {doc_hash(s, "text", 3) for s in doc_text_shingles(README_TEXT, 3)}
    assert len(expected) > 50
    assert set(shingle_hashes(README_TEXT, params).tolist()) == expected


def test_shingle_hashes_are_the_unique_hashes_of_the_reference_shingles():
    params = SketchParams("protein", 5)
    for seq in globins():
        reference = np.unique([shingle_hash(s, params) for s in shingles(seq, params)]).astype(np.uint32)
        got = shingle_hashes(seq, params)
        assert got.dtype == np.uint32
        assert np.array_equal(got, reference)


def test_dna_kmers_are_canonical_on_real_sequences():
    params = SketchParams("dna", 16)
    for seq in nucleotides():
        assert np.array_equal(shingle_hashes(seq, params), shingle_hashes(reverse_complement(seq), params))
        # and the reverse alone (no complement) is a different set
        assert not np.array_equal(shingle_hashes(seq, params), shingle_hashes(seq[::-1], params))


def test_rna_u_is_t_and_case_is_ignored():
    seq = nucleotides()[0]
    params = SketchParams("rna", 11)
    assert np.array_equal(shingle_hashes(seq.replace("T", "U"), params), shingle_hashes(seq.lower(), params))


def test_dna_windows_with_unknown_bases_are_skipped():
    seq = nucleotides()[0][:60]
    params = SketchParams("dna", 8)
    with_n = seq[:30] + "N" + seq[31:]
    expected = {
        shingle_hash(seq[i : i + 8].encode(), params) for i in range(len(seq) - 7) if not i <= 30 < i + 8
    }
    assert set(shingle_hashes(with_n, params).tolist()) == expected
    assert shingles("NNNNNNNNNN", params) == []
    assert shingle_hashes("NNNNNNNNNN", params).size == 0
    with pytest.raises(ValueError, match="only ACGTU"):
        shingle_hash(b"ACGTNACG", params)


def test_short_sequences_are_one_shingle_distinct_from_full_kmers():
    params = SketchParams("protein", 5)
    peptide = "GIGK"  # shorter than k
    assert shingles(peptide, params) == [b"GIGK"]
    short = shingle_hashes(peptide, params)
    assert short.size == 1
    assert int(short[0]) == doc_hash("GIGK", "protein", 5)
    # "AGIGK" packs "A" (code 1) on top, so it cannot equal GIGK's value; the top bit separates them anyway
    assert int(short[0]) != shingle_hash(b"AGIGK", params)
    dna = SketchParams("dna", 16)
    assert shingle_hashes("ACGTACG", dna).size == 1
    assert np.array_equal(shingle_hashes("ACGTTTG", dna), shingle_hashes("CAAACGT", dna))
    assert shingle_hashes("ACGNACG", dna).size == 0
    assert shingle_hashes("", params).size == 0


def test_protein_case_is_ignored_and_unknown_characters_share_code_31():
    params = SketchParams("protein", 3)
    seq = globins()[0]
    assert np.array_equal(shingle_hashes(seq.lower(), params), shingle_hashes(seq, params))
    assert shingle_hash(b"A*C", params) == shingle_hash(b"A-C", params)
    assert shingle_hash(b"A*C", params) != shingle_hash(b"AXC", params)


def test_text_normalisation_ignores_case_punctuation_and_compatibility_forms():
    params = SketchParams("text", 2)
    assert np.array_equal(
        shingle_hashes("The ﬁrst  Protein, again!", params), shingle_hashes("the first protein again", params)
    )
    assert shingles("one two", SketchParams("text", 3)) == [b"one two"]
    assert shingles(" ... ", params) == []


def test_batch_windows_never_span_two_sequences():
    params = SketchParams("protein", 5)
    seqs = globins()[:6] + ["", "MKV", "MKVLAG"]
    flat, offsets = batch_shingle_hashes(seqs, params)
    assert offsets.tolist()[0] == 0 and offsets[-1] == flat.size
    for i, seq in enumerate(seqs):
        one = [shingle_hash(s, params) for s in shingles(seq, params)]
        assert flat[offsets[i] : offsets[i + 1]].tolist() == one


def test_hashfunc_is_shingle_hash_for_datasketch():
    params = SketchParams("dna", 16)
    fn = hashfunc(params)
    seq = nucleotides()[1]
    for s in shingles(seq, params)[:50]:
        assert fn(s) == shingle_hash(s, params) == doc_hash(s.decode(), "dna", 16)
