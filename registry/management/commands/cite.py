import json

from ... import citations, selectors
from ..base import RegistryCommand

FORMATS = ["bibtex", "cff", "csl", "datacite"]


class Command(RegistryCommand):
    help = (
        "Cite a dataset version (NAME@VERSION) or an evaluation (UUID) as BibTeX, CITATION.cff, CSL-JSON or "
        "DataCite JSON, bound to its sha256 content digest. The same text as GET .../cite/?format=."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="NAME@VERSION of a dataset version, or an evaluation UUID")
        parser.add_argument("--format", choices=FORMATS, default="bibtex", help="default: bibtex")

    def act(self, options) -> dict:
        ref, fmt = options["ref"], options["format"]
        if "@" in ref:
            citation = citations.version_citation(selectors.version_get(ref), fmt)
        else:
            citation = citations.evaluation_citation(selectors.evaluation_get(ref), fmt)
        return {"ref": ref, "format": fmt, "citation": citation}

    def summarise(self, result: dict) -> str:
        citation = result["citation"]
        return citation.rstrip("\n") if isinstance(citation, str) else json.dumps(citation, indent=2)
