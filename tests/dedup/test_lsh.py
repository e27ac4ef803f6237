"""LSH banding: parameters as datasketch chooses them, band keys, and collision rates on real pairs."""

import gzip
from itertools import islice

import datasketch
import numpy as np
import pytest
from Bio import SeqIO
from datasketch.lsh import _optimal_param

from dedup.errors import ParameterMismatchError
from dedup.lsh import LSHIndex, band_keys, lsh_params
from dedup.params import SketchParams
from dedup.shingle import shingle_hashes
from dedup.sketch import Signature, sketch, sketch_batch
from tests.conftest import FIXTURES, shared_data_path


def read(path, limit=None):
    return {r.id: str(r.seq) for r in islice(SeqIO.parse(path, "fasta"), limit)}


GLOBINS = read(FIXTURES / "hmmer_tutorial" / "globins45.fa")
PARAMS = SketchParams.default("protein")


@pytest.mark.parametrize("num_perm", [32, 128, 256])
@pytest.mark.parametrize("threshold", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
def test_lsh_params_match_datasketch(threshold, num_perm):
    expected = _optimal_param(threshold, num_perm, 0.5, 0.5)
    assert lsh_params(threshold, num_perm) == expected
    if expected[0] >= 2:  # MinHashLSH refuses a single band; lsh_params allows it
        lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert (lsh.b, lsh.r) == expected


@pytest.mark.parametrize(("fp", "fn"), [(0.1, 0.9), (0.9, 0.1), (0.3, 0.7)])
def test_lsh_params_match_datasketch_with_weights(fp, fn):
    for threshold in (0.25, 0.5, 0.85):
        assert lsh_params(threshold, 128, fp, fn) == _optimal_param(threshold, 128, fp, fn)


def test_lsh_params_refuse_bad_input():
    for args in [(0.0, 128), (1.0, 128), (0.5, 0), (0.5, 128, 0.5, 0.6)]:
        with pytest.raises(ValueError):
            lsh_params(*args)


def doc_band_key(values, band, rows):
    """An outsider's implementation of the band key from dedup.lsh's docstring."""
    m64 = (1 << 64) - 1

    def fmix64(v):
        v ^= v >> 33
        v = (v * 0xFF51AFD7ED558CCD) & m64
        v ^= v >> 33
        v = (v * 0xC4CEB9FE1A85EC53) & m64
        return v ^ (v >> 33)

    x = fmix64((band << 32) | rows)
    for value in values[band * rows : (band + 1) * rows]:
        x = fmix64(x ^ int(value))
    return x - (1 << 64) if x >= 1 << 63 else x


def test_band_keys_follow_the_documented_formula():
    sigs = sketch_batch(list(GLOBINS.values())[:5], PARAMS)
    bands, rows = lsh_params(0.5, 128)
    keys = band_keys(sigs, bands, rows)
    assert keys.dtype == np.int64 and keys.shape == (5, bands)
    for i in range(5):
        assert keys[i].tolist() == [doc_band_key(sigs[i].tolist(), j, rows) for j in range(bands)]
    assert np.array_equal(band_keys(sigs[2], bands, rows), keys[2])
    assert (keys < 0).any() and (keys > 0).any()  # the full signed range is used


def test_band_keys_separate_bands_with_equal_values():
    sig = np.full(128, 12345, dtype=np.uint32)
    keys = band_keys(sig, 16, 8)
    assert len(set(keys.tolist())) == 16
    # equal values in the same band give equal keys; one changed value changes only its band
    other = sig.copy()
    other[9] = 1
    changed = band_keys(other, 16, 8) != keys
    assert changed.tolist() == [j == 1 for j in range(16)]


def test_band_keys_refuse_too_many_rows():
    with pytest.raises(ValueError, match="lsh_params"):
        band_keys(np.zeros((2, 128), np.uint32), 17, 8)


def test_index_finds_what_datasketch_minhashlsh_finds_on_globins():
    names = list(GLOBINS)
    sigs = sketch_batch(list(GLOBINS.values()), PARAMS)
    for threshold in (0.2, 0.5, 0.8):
        index = LSHIndex(PARAMS, threshold=threshold)
        index.add(names, sigs)
        lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=128)
        for name, sig in zip(names, sigs, strict=True):
            lsh.insert(name, Signature(PARAMS, sig).to_datasketch())
        assert (index.bands, index.rows) == (lsh.b, lsh.r)
        batch = index.query_batch(sigs)
        for i, name in enumerate(names):
            expected = set(lsh.query(Signature(PARAMS, sigs[i]).to_datasketch()))
            assert set(index.query(sigs[i])) == expected
            assert set(batch[i]) == expected and name in expected
            assert len(batch[i]) == len(set(batch[i]))
        pairs = list(index.iter_pairs(sigs))
        assert len(pairs) == sum(len(c) for c in batch)


def test_index_checks_params():
    index = LSHIndex(PARAMS)
    with pytest.raises(ParameterMismatchError):
        index.query(sketch("MKVLAAGIV", SketchParams("protein", 4)))
    with pytest.raises(ParameterMismatchError):
        index.add(["a"], np.zeros((1, 64), np.uint32))
    with pytest.raises(ValueError, match="one key per signature"):
        index.add(["a", "b"], np.zeros((1, 128), np.uint32))
    with pytest.raises(ValueError, match="both bands and rows"):
        LSHIndex(PARAMS, bands=4)
    assert LSHIndex(PARAMS, bands=4, rows=32).bands == 4
    index.add(["g"], sketch(GLOBINS[next(iter(GLOBINS))], PARAMS))
    assert len(index) == 1


@pytest.mark.shared_data
def test_real_similar_pairs_collide_at_the_expected_rate():
    """MMseqs2 pairs at >= 50% identity (both sides covered >= 80%), DeepFRI test vs NetSurfP train.

    For a pair with true Jaccard J, banding with (b, r) makes it a candidate with
    probability 1 - (1 - J**r)**b; the number of candidate pairs must match the sum
    of those probabilities within 4 standard deviations. Pairs from 50% identity up
    spread J over the whole steep part of the curve, so the rate is really tested.
    """
    data = shared_data_path()
    test = read(data / "splits" / "deepfri-nrpdb" / "nrPDB-GO_2019.06.18_test_sequences.fasta")
    train = read(data / "splits" / "flip-secondary-structure" / "train.fasta")
    identity = {}
    with gzip.open(data / "ground-truth" / "deepfri-go-test_vs_flip-ss-train.hits.m8.gz", "rt") as fh:
        for line in fh:
            f = line.split("\t")
            if (
                float(f[2]) >= 0.5
                and float(f[11]) >= 0.8
                and float(f[12]) >= 0.8
                and test[f[0]] != train[f[1]]
            ):
                identity[f[0], f[1]] = max(identity.get((f[0], f[1]), 0.0), float(f[2]))
    queries = sorted({q for q, _ in identity})
    refs = sorted({t for _, t in identity})
    threshold = 0.3
    bands, rows = lsh_params(threshold, PARAMS.num_perm)
    index = LSHIndex(PARAMS, threshold=threshold)
    index.add(refs, sketch_batch([train[t] for t in refs], PARAMS))
    found = dict(
        zip(queries, index.query_batch(sketch_batch([test[q] for q in queries], PARAMS)), strict=True)
    )
    probs, hit = [], []
    for q, t in identity:
        a, b = set(shingle_hashes(test[q], PARAMS).tolist()), set(shingle_hashes(train[t], PARAMS).tolist())
        jaccard = len(a & b) / len(a | b)
        probs.append(1 - (1 - jaccard**rows) ** bands)
        hit.append(t in found[q])
    p, h = np.array(probs), np.array(hit)
    middle = (p > 0.05) & (p < 0.95)
    assert middle.sum() >= 30, "too few pairs on the steep part of the S-curve to test the rate"
    sd = np.sqrt((p * (1 - p)).sum())
    assert abs(h.sum() - p.sum()) <= 4 * sd + 1, (h.sum(), p.sum(), sd)
    sd_mid = np.sqrt((p[middle] * (1 - p[middle])).sum())
    assert abs(h[middle].sum() - p[middle].sum()) <= 4 * sd_mid + 1, (
        h[middle].sum(),
        p[middle].sum(),
        sd_mid,
    )
    high = np.array([identity[pair] >= 0.9 for pair in identity])
    assert high.sum() > 200
    assert h[high].mean() >= 0.97  # at threshold 0.3, pairs at >= 90% identity are candidates
