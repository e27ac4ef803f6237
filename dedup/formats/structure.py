"""PDB and mmCIF readers (Bio.PDB): one record per polymer chain of the first model.

Choices, documented for the README:

- Sequence = the *modelled* residues of the chain in file order (Bio.PDB reads coordinates, not SEQRES),
  so unmodelled loops and termini are absent and chain breaks are joined without a marker.
- Waters (HETATM ``HOH`` and friends) and ligands are excluded. Modified residues that Biopython maps to
  a parent amino acid (``MSE`` -> ``M``, via ``Bio.Data.PDBData.protein_letters_3to1_extended``) are
  kept as the parent; other polymer (ATOM) residues of unknown name become ``X`` (protein) / ``N``
  (nucleic acid).
- A chain is protein or nucleic acid by majority of its residues; kind ``protein`` reads the protein
  chains, ``dna``/``rna`` the nucleic-acid chains. Only the first model is read (NMR ensembles repeat
  the same chains).
- Identifier ``<file stem>_<chain id>`` (e.g. ``1A8O_A``; the stem alone when the chain id is blank),
  description ``chain <id>`` plus the molecule name from the PDB header when present.
- A file cut off inside a record is refused, as a truncated gzip is: a PDB ATOM/HETATM line that ends
  before its coordinates, an mmCIF loop (``_atom_site``) whose last row is short.
- Bio.PDB holds the whole structure in memory; the size limits of :class:`ParseLimits` still apply.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

from dedup.alphabets import ParsedRecord, _strip_compression
from dedup.errors import ParseError
from dedup.formats._records import RecordChecker
from dedup.formats._source import Source, _human

_NUCLEIC = {
    "A": "A", "C": "C", "G": "G", "U": "U", "T": "T", "I": "N", "N": "N",
    "DA": "A", "DC": "C", "DG": "G", "DT": "T", "DU": "U", "DI": "N", "DN": "N",
}  # fmt: skip
#: Bio.PDB builds the whole structure in memory (several times the file size)
MAX_STRUCTURE_BYTES = 1 << 30
_WATER = {"HOH", "WAT", "H2O", "DOD", "D2O", "TIP", "TIP3", "SOL"}


def _maps():
    from Bio.Data.PDBData import nucleic_letters_3to1_extended, protein_letters_3to1_extended

    nucleic = {k.strip(): v for k, v in nucleic_letters_3to1_extended.items()}
    nucleic.update(_NUCLEIC)
    return protein_letters_3to1_extended, nucleic


def _stem(path) -> str:
    name, _ = _strip_compression(Path(path).name)
    return Path(name).stem if Path(name).suffix.lower() in (".pdb", ".ent", ".cif", ".mmcif") else name


def _pdb_first_lines(text: str) -> dict[str, int]:
    first: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("ENDMDL"):
            break
        if line.startswith(("ATOM  ", "HETATM")) and len(line) > 21:
            first.setdefault(line[21], lineno)
    return first


def _cif_first_lines(text: str) -> dict[str, int]:
    """Line of the first atom_site row of each chain (auth_asym_id, as Bio.PDB names chains)."""
    first: dict[str, int] = {}
    columns: list[str] = []
    in_loop = in_rows = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped == "loop_":
            if in_rows:
                break
            in_loop, columns = True, []
            continue
        if in_loop and stripped.startswith("_atom_site."):
            columns.append(stripped.split()[0][len("_atom_site.") :])
            continue
        if columns and "auth_asym_id" in columns:
            if not stripped or stripped.startswith(("_", "#", "loop_", "data_")):
                if in_rows:
                    break
                continue
            in_rows = True
            tokens = stripped.split()
            idx = columns.index("auth_asym_id")
            if len(tokens) == len(columns):
                first.setdefault(tokens[idx], lineno)
        elif in_loop and not stripped.startswith("_"):
            in_loop, columns = False, []
    return first


def _check_pdb_complete(text: str) -> None:
    """Every ATOM/HETATM record of the first model reaches its coordinates (columns 31-54)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("ENDMDL"):
            return
        if line.startswith(("ATOM", "HETATM")) and len(line.rstrip()) < 54:
            raise ParseError(
                f"the {line[:6].strip()} record ends at column {len(line.rstrip())}, before its coordinates "
                "(columns 31-54): the file is truncated or damaged",
                line=lineno,
                hint="Download the structure again; a cut-off file would silently lose residues",
            )


def _check_cif_complete(text: str) -> None:
    """Every loop of the file has the same number of values in each of its columns.

    A file cut off inside a loop (the last line ``ATOM 1 N``) leaves its last row short; Bio.PDB
    would read the atoms before the cut as a complete, shorter chain.
    """
    from Bio.PDB.MMCIF2Dict import MMCIF2Dict

    try:
        items = MMCIF2Dict(io.StringIO(text))
    except Exception:  # noqa: BLE001 - unreadable files are refused by the structure parser itself
        return
    counts: dict[str, set[int]] = {}
    for key, values in items.items():
        category, dot, _ = key.partition(".")
        if dot:
            counts.setdefault(category, set()).add(len(values))
    for category, lengths in counts.items():
        if len(lengths) > 1:
            last = len(text.rstrip().splitlines())
            raise ParseError(
                f"the {category} loop ends in the middle of a row ({min(lengths):,} values in some "
                f"columns, {max(lengths):,} in others): the file is truncated",
                line=last,
                hint="Download the structure again; a cut-off file would silently lose residues",
            )


def _molecule_names(structure) -> dict[str, str]:
    names: dict[str, str] = {}
    compound = getattr(structure, "header", {}).get("compound") or {}
    for entry in compound.values():
        molecule = (entry.get("molecule") or "").strip()
        for chain in (entry.get("chain") or "").split(","):
            if chain.strip() and molecule:
                names[chain.strip().upper()] = molecule
    return names


def _parse(text: str, fmt: str, stem: str):
    from Bio.PDB import MMCIFParser, PDBParser

    parser = PDBParser(QUIET=True) if fmt == "pdb" else MMCIFParser(QUIET=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parser.get_structure(stem, io.StringIO(text))


def read_structure(
    path, *, fmt, kind, limits, on_progress=None, allow_duplicate_ids=False
) -> Iterator[ParsedRecord]:
    """Records (one per polymer chain of the first model) of a PDB or mmCIF file, plain or gzip."""
    label = "PDB" if fmt == "pdb" else "mmCIF"
    if kind == "text":
        raise ParseError(
            f"a {label} structure holds protein or nucleic-acid chains, not text",
            hint="Register it with kind 'protein', 'dna' or 'rna'",
        )
    checker = RecordChecker(kind=kind, limits=limits, allow_duplicate_ids=allow_duplicate_ids)
    with Source(path, limits) as src:
        parts = []
        for chunk in src.chunks():
            parts.append(chunk)
            if src.out_bytes > MAX_STRUCTURE_BYTES:
                raise ParseError(
                    f"the structure is larger than {_human(MAX_STRUCTURE_BYTES)}, more than Bio.PDB "
                    "can hold in memory here",
                    hint="Extract the chains you need (or their sequences as FASTA) and register those",
                )
        text = b"".join(parts).decode("utf-8")
        del parts
        bytes_read = src.bytes_read
    if not text.strip():
        raise ParseError("the file is empty", hint=f"Upload a {label} file with at least one chain")
    stem = _stem(path)
    if fmt == "pdb":
        _check_pdb_complete(text)
    else:
        _check_cif_complete(text)
    try:
        structure = _parse(text, fmt, stem)
    except Exception as exc:  # noqa: BLE001 - Bio.PDB raises many types on broken input
        raise ParseError(
            f"Bio.PDB cannot read this {label} file ({type(exc).__name__}: {exc})",
            hint=f"Check that it is a complete {label} file (or try the other structure format)",
        ) from None
    model = next(iter(structure), None)
    if model is None:
        raise ParseError(
            f"no atoms: the {label} file has no model with coordinates",
            hint="Upload a structure with ATOM records (a header-only file has no chains)",
        )
    protein_map, nucleic_map = _maps()
    first_lines = _pdb_first_lines(text) if fmt == "pdb" else _cif_first_lines(text)
    names = _molecule_names(structure)
    wanted = "protein" if kind == "protein" else "nucleic"
    found: list[str] = []
    count = 0
    for chain in model:
        prot: list[str] = []
        nuc: list[str] = []
        for residue in chain:
            hetflag = residue.id[0]
            name = residue.get_resname().strip().upper()
            if hetflag == "W" or name in _WATER:
                continue
            if name in nucleic_map and (hetflag == " " or len(name) <= 2):
                nuc.append(nucleic_map[name])
            elif name in protein_map:
                prot.append(protein_map[name])
            elif hetflag == " ":  # a polymer residue of unknown type
                prot.append("X")
                nuc.append("N")
        n_prot = len([c for c in prot if c != "X"])
        n_nuc = len([c for c in nuc if c != "N"])
        if not prot and not nuc:
            continue  # ligands or ions only
        chain_type = "protein" if n_prot >= n_nuc else "nucleic"
        found.append(f"{chain.id.strip() or '(blank)'}: {chain_type}")
        if chain_type != wanted:
            continue
        letters = [c for c in (prot if chain_type == "protein" else nuc)]
        chain_id = chain.id.strip()
        ident = f"{stem}_{chain_id}" if chain_id else stem
        line = first_lines.get(chain.id, 1)
        ident = checker.identifier(ident, line)
        seq = checker.sequence("".join(letters), line, ident)
        desc = f"chain {chain_id or '(blank)'}"
        if chain_id.upper() in names:
            desc += f" {names[chain_id.upper()]}"
        yield ParsedRecord(ident, desc, seq, line)
        count += 1
    if count == 0:
        have = "; ".join(found) if found else "no polymer chains (only ligands, ions or water)"
        other = "dna' or 'rna" if wanted == "protein" else "protein"
        raise ParseError(
            f"no {wanted} chain in the first model (found: {have})",
            hint=f"Register it with kind '{other}' if that is what it holds, or upload the right structure",
        )
    if on_progress is not None:
        on_progress(bytes_read, count)
