"""dedup: find train/test overlap between sequence data sets (protein, DNA/RNA, text).

A plain library (standard library, numpy, datasketch, Biopython; numba when
installed): no Django, so it can be used alone.

- :mod:`dedup.parsing`: streaming parsing, normalisation and validation of sequence files.
- :mod:`dedup.params`, :mod:`dedup.shingle`, :mod:`dedup.sketch`: datasketch-compatible
  MinHash signatures, vectorised.
- :mod:`dedup.lsh`: LSH band keys (64-bit, for a database index) and an in-memory index.
- :mod:`dedup.verify`: alignment of candidate pairs into identity and coverage
  (:mod:`dedup.alignment` the aligners, :mod:`dedup.hits` what they produce).
- :mod:`dedup.parallel`: how many threads the compiled kernels use.
- :mod:`dedup.mmseqs`: the MMseqs2 homology tier.
- :mod:`dedup.method`: :class:`Method`, every setting that changes recall, and its key.
- :mod:`dedup.pipeline`: the tiers as functions over a :class:`CandidateIndex` (the one
  pipeline every front end runs); :mod:`dedup.memindex`: the in-memory index.
- :mod:`dedup.calibration`, :mod:`dedup.claims`: the recall measured per method key and
  identity band, and what a report claims from it.
- :mod:`dedup.overlap`: :func:`find_overlap`, the library's front door.

Command line: ``python -m dedup overlap QUERY.fasta REFERENCE.fasta``.

Examples:
    >>> import dedup
    >>> r = dedup.find_overlap([("q", "MKTAYIAKQRQISFVKSHFSRQ")], [("r", "MKTAYIAKQRQISFVKSHFSRQ")])
    >>> r.hits[0].tier
    'exact'
"""

__version__ = "0.1.0"

from . import _process  # noqa: F401  (first: settings for a process of our own, before numpy)
from .alignment import (
    ALIGNER_NAME,
    ALIGNER_VERSION,
    BACKENDS,
    AlignerSpec,
    aligner_spec,
    corrects_bias,
    default_backend,
)
from .calibration import BANDS, wilson
from .claims import Claims, summarise
from .compbias import composition_bias
from .containment import (
    CONTAINMENT_TIER,
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MAX_POSTINGS,
    SeedIndex,
    containment_tier,
    min_shared_kmers,
)
from .errors import DedupError, InvalidSequenceError, ParameterMismatchError, ParseError
from .lsh import LSHIndex, band_keys, lsh_params
from .memindex import MemoryIndex
from .method import Method, aligner_id, default_methods, index_method
from .mmseqs import MmseqsError, MmseqsSettings, mmseqs_search
from .mmseqs import available as mmseqs_available
from .mmseqs import capped as mmseqs_capped
from .mmseqs import unavailable_reason as mmseqs_unavailable_reason
from .mmseqs import version as mmseqs_version
from .overlap import (
    DEFAULT_THRESHOLDS,
    OverlapResult,
    ThresholdCount,
    TierReport,
    default_lsh_threshold,
    default_sketch_params,
    find_overlap,
    load_calibration,
    lsh_settings,
    read_sequences,
)
from .parallel import available_cpus, parallel_map, resolve_threads
from .params import HASH_NAME, MAX_K, SketchParams
from .parsing import (
    ALPHABETS,
    FORMATS,
    KINDS,
    ParsedRecord,
    ParseLimits,
    detect_format,
    iter_records,
    normalise,
    sequence_sha256,
    validate,
)
from .pipeline import CandidateIndex, run_tiers
from .refindex import INDEX_FORMAT, IndexMismatchError, ReferenceIndex, build_index, file_sha256, is_index

# The function dedup.screen.screen is not re-exported: it would hide the module dedup.screen.
from .screen import DEFAULT_SCALED, SCREEN_K, Containment, SetSketch, wilson_interval
from .shingle import (
    batch_shingle_hashes,
    batch_shingle_hashes64,
    fmix64,
    hashfunc,
    normalise_text,
    shingle_hash,
    shingle_hashes,
    shingles,
)

# The function dedup.sketch.sketch is not re-exported: it would hide the module dedup.sketch.
from .sketch import Signature, SignatureBatch, estimate_jaccard, permutations, sketch_batch, sketch_chunks
from .verify import (
    TIERS,
    Hit,
    PairAlignment,
    Verifier,
    VerifyStats,
    align_pair,
    best_hits,
    verify_candidates,
    verify_pairs,
)

__all__ = [
    # errors
    "DedupError",
    "InvalidSequenceError",
    "ParameterMismatchError",
    "ParseError",
    # parsing
    "ALPHABETS",
    "FORMATS",
    "KINDS",
    "ParseLimits",
    "ParsedRecord",
    "detect_format",
    "iter_records",
    "normalise",
    "sequence_sha256",
    "validate",
    # params, shingle, sketch
    "HASH_NAME",
    "MAX_K",
    "SketchParams",
    "batch_shingle_hashes",
    "batch_shingle_hashes64",
    "fmix64",
    "hashfunc",
    "normalise_text",
    "shingle_hash",
    "shingle_hashes",
    "shingles",
    "Signature",
    "SignatureBatch",
    "estimate_jaccard",
    "permutations",
    "sketch_batch",
    "sketch_chunks",
    # lsh
    "LSHIndex",
    "band_keys",
    "lsh_params",
    # verify (hits, alignment)
    "ALIGNER_NAME",
    "ALIGNER_VERSION",
    "BACKENDS",
    "AlignerSpec",
    "aligner_spec",
    "composition_bias",
    "corrects_bias",
    "default_backend",
    "TIERS",
    "Hit",
    "PairAlignment",
    "Verifier",
    "VerifyStats",
    "align_pair",
    "best_hits",
    "verify_candidates",
    "verify_pairs",
    # parallel
    "available_cpus",
    "parallel_map",
    "resolve_threads",
    # mmseqs
    "MmseqsError",
    "MmseqsSettings",
    "mmseqs_available",
    "mmseqs_capped",
    "mmseqs_search",
    "mmseqs_unavailable_reason",
    "mmseqs_version",
    # method, pipeline, calibration, claims
    "BANDS",
    "CandidateIndex",
    "Claims",
    "MemoryIndex",
    "Method",
    "aligner_id",
    "default_methods",
    "index_method",
    "run_tiers",
    "summarise",
    "wilson",
    # overlap
    "DEFAULT_THRESHOLDS",
    "OverlapResult",
    "ThresholdCount",
    "TierReport",
    "default_lsh_threshold",
    "default_sketch_params",
    "find_overlap",
    "load_calibration",
    "lsh_settings",
    "read_sequences",
    # containment, refindex, screen
    "CONTAINMENT_TIER",
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_MAX_POSTINGS",
    "SeedIndex",
    "containment_tier",
    "min_shared_kmers",
    "INDEX_FORMAT",
    "IndexMismatchError",
    "ReferenceIndex",
    "build_index",
    "file_sha256",
    "is_index",
    "DEFAULT_SCALED",
    "SCREEN_K",
    "Containment",
    "SetSketch",
    "wilson_interval",
    "__version__",
]
