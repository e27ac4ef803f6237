"""MinHash signatures: identical to datasketch on real sequences, both backends, serialisation."""

import os
import subprocess
import sys
from itertools import islice

import datasketch
import numpy as np
import pytest
from Bio import SeqIO
from Bio.Seq import reverse_complement

from dedup import _kernels
from dedup.errors import ParameterMismatchError
from dedup.params import SketchParams
from dedup.shingle import hashfunc, shingles
from dedup.sketch import Signature, estimate_jaccard, permutations, sketch, sketch_batch, sketch_chunks
from tests.conftest import FIXTURES, REPO, shared_data_path

BACKENDS = ["numpy"] + (["numba"] if _kernels.AVAILABLE else [])


def read(path, limit=None):
    return [str(r.seq) for r in islice(SeqIO.parse(path, "fasta"), limit)]


GLOBINS = read(FIXTURES / "hmmer_tutorial" / "globins45.fa")
PDB_CHAINS = read(FIXTURES / "deepfri_examples" / "pdb_chains.fasta")
CASP = read(FIXTURES / "casp16_phase0" / "all_casp16_phase0.fasta")
NUCLEOTIDES = [s for p in sorted((FIXTURES / "biopython_fasta").glob("*.nu")) for s in read(p)]
TEXTS = [
    para
    for path in (FIXTURES / "README.txt", FIXTURES / "casp16_phase0" / "README.upstream.md")
    for para in path.read_text(encoding="utf-8").split("\n\n")
]


def datasketch_minhash(seq: str, params: SketchParams) -> datasketch.MinHash:
    m = datasketch.MinHash(
        num_perm=params.num_perm, seed=params.seed, scheme=params.scheme, hashfunc=hashfunc(params)
    )
    m.update_batch(shingles(seq, params))
    return m


CASES = [
    (SketchParams("protein", 5), GLOBINS + PDB_CHAINS + ["GIGK", "M", ""]),
    (SketchParams("protein", 3, num_perm=64, seed=42), GLOBINS[:15] + CASP[:10]),
    (SketchParams("dna", 16), NUCLEOTIDES + ["ACGTACG", "ACGTNNNNNNNNNNNNNNNNNNNACGT"]),
    (SketchParams("rna", 9, num_perm=200, seed=7), [s.replace("T", "U") for s in NUCLEOTIDES]),
    (SketchParams("text", 3), TEXTS),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("params", "seqs"), CASES, ids=lambda x: x.key() if isinstance(x, SketchParams) else ""
)
def test_signatures_equal_datasketch_minhash_on_real_sequences(params, seqs, backend):
    ours = sketch_batch(seqs, params, backend=backend)
    assert ours.dtype == np.uint32 and ours.shape == (len(seqs), params.num_perm)
    for i, seq in enumerate(seqs):
        assert np.array_equal(ours[i], datasketch_minhash(seq, params).hashvalues), (i, seq[:30])


def test_permutations_are_datasketchs():
    for num_perm, seed in [(128, 1), (7, 0), (256, 12345)]:
        a, b = permutations(num_perm, seed)
        assert np.array_equal(datasketch.MinHash(num_perm=num_perm, seed=seed).permutations, np.array([a, b]))


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed: only the numpy path exists")
@pytest.mark.parametrize("params", [SketchParams("protein", k) for k in (1, 2, 5, 8, 12)])
def test_numba_and_numpy_backends_agree_on_real_proteins(params):
    seqs = CASP + PDB_CHAINS + GLOBINS + ["", "X", "*", "mkvl", "B" * 40]
    assert np.array_equal(
        sketch_batch(seqs, params, backend="numba"), sketch_batch(seqs, params, backend="numpy")
    )


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed: only the numpy path exists")
@pytest.mark.parametrize("k", [1, 5, 16, 21, 31])
def test_numba_and_numpy_backends_agree_on_real_dna(k):
    params = SketchParams("dna", k)
    seqs = NUCLEOTIDES + [s.lower()[: k - 1] for s in NUCLEOTIDES] + ["", "N", "ACGTRYACGTACGTAAAANCC" * 3]
    assert np.array_equal(
        sketch_batch(seqs, params, backend="numba"), sketch_batch(seqs, params, backend="numpy")
    )


@pytest.mark.shared_data
@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed: only the numpy path exists")
def test_numba_and_numpy_backends_agree_on_a_larger_real_set():
    data = shared_data_path() / "splits"
    seqs = read(data / "flip-bind" / "train.fasta") + read(
        data / "deepfri-nrpdb" / "nrPDB-GO_2019.06.18_test_sequences.fasta"
    )
    params = SketchParams.default("protein")
    assert np.array_equal(
        sketch_batch(seqs, params, backend="numba"), sketch_batch(seqs, params, backend="numpy")
    )


def test_numpy_path_is_used_and_correct_without_compiled_kernels():
    """Without numba and without the C port the numpy path runs, and gives datasketch's values."""
    code = (
        "import numpy as np; from dedup import _kernels; from dedup.sketch import sketch_batch;"
        "from dedup.params import SketchParams; assert not _kernels.AVAILABLE;"
        "print(sketch_batch(['GIGKFLHSAKKFGKAFVGEIMNS'], SketchParams('protein', 5))[0, :4].tolist())"
    )
    env = {**os.environ, "DEDUP_NO_NUMBA": "1", "DEDUP_NO_NATIVE": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    expected = (
        datasketch_minhash("GIGKFLHSAKKFGKAFVGEIMNS", SketchParams("protein", 5)).hashvalues[:4].tolist()
    )
    assert out.strip() == str(expected)


def test_reverse_complement_has_the_same_signature():
    params = SketchParams.default("dna")
    for seq in NUCLEOTIDES:
        assert sketch(seq, params) == sketch(reverse_complement(seq), params)


def test_empty_sequence_has_the_empty_datasketch_signature():
    params = SketchParams.default("protein")
    assert np.array_equal(sketch("", params).hashvalues, datasketch.MinHash(num_perm=128, seed=1).hashvalues)


def test_jaccard_estimates_match_datasketch_and_the_true_jaccard():
    params = SketchParams.default("protein")
    sigs = sketch_batch(GLOBINS, params)
    sets = [{bytes(s) for s in shingles(seq, params)} for seq in GLOBINS]
    for i, j in [(0, 1), (0, 2), (3, 4), (10, 11), (20, 21), (30, 44)]:
        ours = Signature(params, sigs[i]).jaccard(Signature(params, sigs[j]))
        assert ours == datasketch_minhash(GLOBINS[i], params).jaccard(datasketch_minhash(GLOBINS[j], params))
        assert ours == estimate_jaccard(sigs[i], sigs[j])
        true = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
        # 128 permutations: standard error sqrt(J(1-J)/128) <= 0.045; allow 4 of them
        assert abs(ours - true) <= 4 * max(np.sqrt(true * (1 - true) / 128), 1 / 128) + 1e-9, (
            i,
            j,
            ours,
            true,
        )


def test_estimate_jaccard_rows():
    params = SketchParams.default("protein")
    sigs = sketch_batch(GLOBINS[:5], params)
    rows = estimate_jaccard(sigs, sigs[0])
    assert rows.shape == (5,) and rows[0] == 1.0
    assert np.array_equal(estimate_jaccard(sigs, sigs), np.ones(5))
    with pytest.raises(ParameterMismatchError):
        estimate_jaccard(sigs[0], sigs[0, :64])


def test_bytes_round_trip_carries_params():
    for params, seqs in CASES:
        sig = sketch(seqs[0], params)
        data = sig.to_bytes()
        back = Signature.from_bytes(data)
        assert back == sig and back.params == params and back.hashvalues.dtype == np.uint32
        assert len(data) < 4 * params.num_perm + 64


def test_from_bytes_rejects_corrupt_data():
    data = sketch(GLOBINS[0], SketchParams.default("protein")).to_bytes()
    with pytest.raises(ValueError, match="truncated"):
        Signature.from_bytes(data[:-4])
    with pytest.raises(ValueError, match="magic"):
        Signature.from_bytes(b"XXXX" + data[4:])
    with pytest.raises(ValueError, match="version"):
        Signature.from_bytes(data[:4] + bytes([9]) + data[5:])


def test_datasketch_lean_minhash_round_trip():
    params = SketchParams.default("protein")
    sig = sketch(GLOBINS[3], params)
    lean = sig.to_datasketch()
    assert isinstance(lean, datasketch.LeanMinHash)
    assert lean == datasketch.LeanMinHash(datasketch_minhash(GLOBINS[3], params))
    assert Signature.from_datasketch(lean, params) == sig
    # through datasketch's own byte format too
    buf = bytearray(lean.bytesize())
    lean.serialize(buf)
    assert Signature.from_datasketch(datasketch.LeanMinHash.deserialize(buf), params) == sig


def test_from_datasketch_refuses_other_settings():
    params = SketchParams.default("protein")
    for m in (
        datasketch.MinHash(num_perm=128, seed=2),
        datasketch.MinHash(num_perm=64, seed=1),
        datasketch.MinHash(num_perm=128, seed=1, scheme="legacy"),
    ):
        with pytest.raises(ParameterMismatchError, match="MinHash"):
            Signature.from_datasketch(m, params)


def test_comparing_different_params_is_an_error():
    a = sketch(GLOBINS[0], SketchParams("protein", 5))
    for other in (SketchParams("protein", 4), SketchParams("protein", 5, seed=2), SketchParams("dna", 5)):
        with pytest.raises(ParameterMismatchError, match="different params"):
            a.jaccard(sketch(GLOBINS[0], other))
    with pytest.raises(ParameterMismatchError):
        Signature(SketchParams("protein", 5, num_perm=64), a.hashvalues)


def test_sketch_chunks_stream_the_same_signatures():
    params = SketchParams.default("protein")
    seqs = GLOBINS + CASP
    chunks = list(sketch_chunks(iter(seqs), params, chunk_size=16))
    assert [c.shape[0] for c in chunks[:-1]] == [16] * (len(chunks) - 1)
    assert np.array_equal(np.vstack(chunks), sketch_batch(seqs, params))


def test_params_key_round_trip_and_defaults():
    for kind in ("protein", "dna", "rna", "text"):
        params = SketchParams.default(kind)
        assert SketchParams.from_key(params.key()) == params
        assert SketchParams(**params.to_dict()) == params
    assert SketchParams.default("protein").key() == "protein:k5:p128:s1:affine32:ll-shingle-v1"
    assert SketchParams("protein", np.int64(5)) == SketchParams("protein", 5)
    assert type(SketchParams("protein", np.int64(5)).k) is int


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "peptide", "k": 5},
        {"kind": "protein", "k": 13},
        {"kind": "dna", "k": 32},
        {"kind": "protein", "k": 0},
        {"kind": "protein", "k": True},
        {"kind": "protein", "k": 5, "num_perm": 0},
        {"kind": "protein", "k": 5, "scheme": "legacy"},
        {"kind": "protein", "k": 5, "hash_name": "sha1"},
        {"kind": "protein", "k": 5, "seed": -1},
    ],
)
def test_params_refuse_invalid_values(kwargs):
    with pytest.raises(ValueError):
        SketchParams(**kwargs)


@pytest.mark.parametrize(
    "key", ["protein:k5", "protein:k05:p128:s1:affine32:ll-shingle-v1", "x:k5:p1:s1:a:b"]
)
def test_params_refuse_bad_keys(key):
    with pytest.raises(ValueError, match="key"):
        SketchParams.from_key(key)


def test_empty_batches():
    params = SketchParams.default("protein")
    assert sketch_batch([], params).shape == (0, 128)
    assert list(sketch_chunks(iter([]), params)) == []
