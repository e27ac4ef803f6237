"""The homology tier: a wrapper around the ``mmseqs`` program (MMseqs2).

k-mer MinHash cannot see remote homology (the share of conserved k-mers falls
like ``identity ** k``), so for low identity thresholds the query is searched
against the reference with ``mmseqs easy-search``, the same command as the
project's ground truth::

    mmseqs easy-search QUERY REFERENCE out.m8 TMP --alignment-mode 3 -s 7.5 -e 10 --max-seqs 1000

Hits come back as :class:`dedup.verify.Hit` with ``tier="mmseqs"``, measured as
MMseqs2 measures them: identity = identical columns / alignment length
(``nident / alnlen``, computed from the exact counts rather than the rounded
``fident`` column), query coverage ``qcov`` and reference coverage ``tcov``.

The program is optional: :func:`available` says whether it can run, and
:func:`unavailable_reason` says why not. Point
:attr:`MmseqsSettings.executable` at another path to use another build.
"""

from __future__ import annotations

import collections
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import DedupError
from .hits import Hit
from .parallel import available_cpus

__all__ = [
    "MmseqsError",
    "MmseqsSettings",
    "available",
    "capped",
    "mmseqs_search",
    "unavailable_reason",
    "version",
]

_FORMAT = "query,target,nident,alnlen,qstart,qend,qlen,tstart,tend,tlen,qcov,tcov,evalue,bits,cigar"
_SEARCH_TYPE = {"protein": None, "dna": "3", "rna": "3"}


class MmseqsError(DedupError):
    """``mmseqs`` ran but failed; the message carries the end of its error output."""


@dataclass(frozen=True)
class MmseqsSettings:
    """How ``mmseqs easy-search`` is run. Defaults are those of the ground truth.

    Attributes:
        executable: program name (looked up on ``PATH``) or path.
        sensitivity: ``-s`` (1 fast ... 7.5 most sensitive).
        evalue: ``-e``, the E-value cut-off.
        max_seqs: ``--max-seqs``, results per query that pass the prefilter.
        alignment_mode: ``--alignment-mode`` (3: full alignment with identity and coverage).
        threads: ``--threads`` (default: the CPUs this process may use; see :func:`capped`).
        tmp_dir: parent directory of the temporary working directory (default: the
            system's); the working directory is always removed afterwards.
        split_memory_limit: ``--split-memory-limit``: MMseqs2 splits the reference to stay
            under it, so a large reference cannot take a server's memory.
        nucleotide_kmer: ``-k`` for DNA/RNA searches. MMseqs2's default there (15) builds a
            4^15-entry k-mer table, 8.4 GB even for two short records (measured); 13 needs
            0.53 GB, and a >= 90% identity pair shares many 13-mers.
        extra_args: more arguments appended as given.

    Examples:
        >>> MmseqsSettings(threads=2).args()[:4]
        ['--alignment-mode', '3', '-s', '7.5']
    """

    executable: str = "mmseqs"
    sensitivity: float = 7.5
    evalue: float = 10.0
    max_seqs: int = 1000
    alignment_mode: int = 3
    threads: int = field(default_factory=available_cpus)
    tmp_dir: str | None = None
    split_memory_limit: str = "2G"
    nucleotide_kmer: int = 13
    extra_args: tuple[str, ...] = ()

    def args(self) -> list[str]:
        """The search arguments (without input, output and temporary paths)."""
        return [
            "--alignment-mode",
            str(self.alignment_mode),
            "-s",
            str(self.sensitivity),
            "-e",
            str(self.evalue),
            "--max-seqs",
            str(self.max_seqs),
            "--threads",
            str(self.threads),
            "--split-memory-limit",
            self.split_memory_limit,
            *self.extra_args,
        ]

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        d = asdict(self)
        d["extra_args"] = list(self.extra_args)
        return d


def capped(settings: MmseqsSettings, threads: int | None) -> MmseqsSettings:
    """``settings`` with ``--threads`` at most ``threads`` (``None``: unchanged).

    How ``find_overlap(threads=N)``, ``python -m dedup overlap --threads N`` and a
    Celery job's ``LEAKLEDGER_THREADS`` keep MMseqs2 within their share of the CPUs.

    Examples:
        >>> capped(MmseqsSettings(threads=8), 2).threads, capped(MmseqsSettings(threads=1), 2).threads
        (2, 1)
    """
    if threads is None or settings.threads <= threads:
        return settings
    return replace(settings, threads=threads)


def _resolve(executable: str) -> str | None:
    if os.sep in executable:
        return executable if os.path.isfile(executable) and os.access(executable, os.X_OK) else None
    return shutil.which(executable)


def unavailable_reason(executable: str = "mmseqs") -> str | None:
    """Why the tier cannot run, or ``None`` when it can.

    Examples:
        >>> unavailable_reason("/nonexistent/mmseqs")
        "mmseqs executable not found: '/nonexistent/mmseqs' (install the Debian package mmseqs2 or set the executable path)"
    """
    if _resolve(executable) is None:
        return (
            f"mmseqs executable not found: {executable!r} "
            "(install the Debian package mmseqs2 or set the executable path)"
        )
    if version(executable) is None:
        return f"mmseqs executable {executable!r} does not run ('mmseqs version' failed)"
    return None


def available(executable: str = "mmseqs") -> bool:
    """Whether ``mmseqs`` can be run.

    Examples:
        >>> available("/nonexistent/mmseqs")
        False
    """
    return unavailable_reason(executable) is None


@lru_cache(maxsize=8)
def version(executable: str = "mmseqs") -> str | None:
    """The version string printed by ``mmseqs version`` (``None`` if it cannot run).

    Examples:
        >>> version("/nonexistent/mmseqs") is None
        True
    """
    path = _resolve(executable)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _write_fasta(path: Path, records: Iterable[tuple[str, str]], prefix: str, kind: str) -> list[str]:
    """Write records under short safe names (``q0``, ``q1``...); return the original identifiers."""
    ids: list[str] = []
    with open(path, "w", encoding="ascii", errors="strict") as fh:
        for identifier, seq in records:
            if not seq:
                ids.append(identifier)  # keep numbering aligned; empty records cannot hit
                continue
            if kind == "rna":
                seq = seq.replace("U", "T")
            fh.write(f">{prefix}{len(ids)}\n{seq}\n")
            ids.append(identifier)
    return ids


def _fraction_arg(value: float) -> str:
    """A fraction as MMseqs2 parses it: fixed notation, rounded down to 6 decimals.

    ``str(1e-140)`` is ``'1e-140'``, which mmseqs refuses ("Error in argument -c"); rounding down
    keeps the prefilter no stricter than asked (the caller filters at the exact value afterwards).

    Examples:
        >>> _fraction_arg(0.8), _fraction_arg(1e-140), _fraction_arg(0.9999999)
        ('0.800000', '0.000000', '0.999999')
    """
    return f"{math.floor(value * 1_000_000) / 1_000_000:.6f}"


def mmseqs_search(
    query: Iterable[tuple[str, str]],
    reference: Iterable[tuple[str, str]],
    *,
    kind: str = "protein",
    identity: float = 0.0,
    coverage: float = 0.0,
    reference_coverage: float = 0.0,
    settings: MmseqsSettings | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> list[Hit]:
    """Search query sequences against reference sequences with ``mmseqs easy-search``.

    Args:
        query: ``(identifier, normalised sequence)`` pairs.
        reference: ``(identifier, normalised sequence)`` pairs.
        kind: ``"protein"``, ``"dna"`` or ``"rna"`` (MMseqs2 does not search text).
        identity: keep hits with identity >= this fraction.
        coverage: keep hits covering >= this fraction of the query.
        reference_coverage: keep hits covering >= this fraction of the reference.
        settings: how to run the program.
        on_progress: called with the name of each MMseqs2 stage as it starts (``createdb``,
            ``prefilter``, ``align``, ``convertalis``...): the program is then run verbose and its
            output read as it comes.

    Returns:
        Every kept alignment (MMseqs2 may report several per query and reference
        pair), as :class:`Hit` with ``tier="mmseqs"`` and ``jaccard=None``.

    Raises:
        MmseqsError: when the program is missing or fails, or ``kind`` is text.

    Examples:
        >>> seq = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQ"
        >>> hits = mmseqs_search([("q1", seq)], [("r1", seq[5:])], settings=MmseqsSettings(threads=1))
        >>> [(h.query, h.reference, h.identity, h.tier) for h in hits]
        [('q1', 'r1', 1.0, 'mmseqs')]
    """
    settings = settings or MmseqsSettings()
    if kind not in _SEARCH_TYPE:
        raise MmseqsError(f"mmseqs searches protein, dna or rna sequences, not kind {kind!r}")
    reason = unavailable_reason(settings.executable)
    if reason is not None:
        raise MmseqsError(reason)
    exe = _resolve(settings.executable)
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="dedup-mmseqs-", dir=settings.tmp_dir) as tmp:
        work = Path(tmp)
        qids = _write_fasta(work / "query.fasta", query, "q", kind)
        rids = _write_fasta(work / "reference.fasta", reference, "r", kind)
        if not qids or not rids:
            return []
        out = work / "hits.m8"
        cmd = [
            exe,
            "easy-search",
            str(work / "query.fasta"),
            str(work / "reference.fasta"),
            str(out),
            str(work / "tmp"),
            *settings.args(),
            "-v",
            "1",
            "--format-output",
            _FORMAT,
        ]
        search_type = _SEARCH_TYPE[kind]
        if search_type:
            cmd += ["--search-type", search_type, "-k", str(settings.nucleotide_kmer)]
        if coverage > 0:  # let mmseqs drop low-coverage alignments early (cov-mode 2: query coverage)
            cmd += ["-c", _fraction_arg(coverage), "--cov-mode", "2"]
        if on_progress is None:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            returncode, tail = proc.returncode, (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        else:
            returncode, tail = _run_reporting_stages(cmd, on_progress)
        if returncode != 0:
            raise MmseqsError(f"mmseqs easy-search failed (exit {returncode}): {' | '.join(tail)}")
        return list(_parse_hits(out, qids, rids, identity, coverage, reference_coverage))


_STAGE = re.compile(r"^([a-z][a-z0-9]+) \S+")  # a module's command line: "prefilter tmp/... tmp/..."


def _run_reporting_stages(cmd: list[str], on_progress: Callable[[str], None]) -> tuple[int, list[str]]:
    """Run ``cmd`` verbose (``-v 3``), calling ``on_progress(stage)`` as each MMseqs2 module starts."""
    cmd = [*cmd]
    cmd[cmd.index("-v") + 1] = "3"
    tail: collections.deque[str] = collections.deque(maxlen=5)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.strip():
                tail.append(line.strip())
            match = _STAGE.match(line)
            if match and "/" in line and match.group(1) != "easy":
                on_progress(match.group(1))
    return proc.returncode, list(tail)


def _parse_hits(
    path: Path, qids: list[str], rids: list[str], identity: float, coverage: float, reference_coverage: float
) -> Iterable[Hit]:
    eps = 1e-9
    with open(path, encoding="ascii") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            nident, alnlen = int(f[2]), int(f[3])
            qstart, qend, qlen = int(f[4]), int(f[5]), int(f[6])
            tstart, tend, tlen = int(f[7]), int(f[8]), int(f[9])
            ident = nident / alnlen if alnlen else 0.0
            # Coverages from coordinates (qcov/tcov are printed rounded to 3 decimals).
            qcov = (abs(qend - qstart) + 1) / qlen
            tcov = (abs(tend - tstart) + 1) / tlen
            if ident + eps < identity or qcov + eps < coverage or tcov + eps < reference_coverage:
                continue
            yield Hit(
                query=qids[int(f[0][1:])],
                reference=rids[int(f[1][1:])],
                identity=ident,
                query_coverage=qcov,
                reference_coverage=tcov,
                jaccard=None,
                tier="mmseqs",
                alignment_length=alnlen,
            )
