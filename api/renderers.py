"""Renderers for the non-JSON answers: citations, Croissant JSON-LD and record downloads."""

import json

from rest_framework.renderers import BaseRenderer, JSONRenderer


class TextRenderer(BaseRenderer):
    """Passes a ready-made string through; ``charset`` utf-8."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode(self.charset)
        return json.dumps(data, ensure_ascii=False).encode(self.charset)


class BibTeXRenderer(TextRenderer):
    media_type = "application/x-bibtex"
    format = "bibtex"


class CFFRenderer(TextRenderer):
    media_type = "application/x-yaml"
    format = "cff"


class CSLJSONRenderer(JSONRenderer):
    media_type = "application/vnd.citationstyles.csl+json"
    format = "csl"


class DataCiteJSONRenderer(JSONRenderer):
    media_type = "application/vnd.datacite.datacite+json"
    format = "datacite"


class JSONLDRenderer(JSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


class FastaRenderer(TextRenderer):
    media_type = "text/x-fasta"
    format = "fasta"


class CSVRenderer(TextRenderer):
    media_type = "text/csv"
    format = "csv"


CITATION_RENDERERS = [BibTeXRenderer, CFFRenderer, CSLJSONRenderer, DataCiteJSONRenderer]
CITATION_FORMATS = [r.format for r in CITATION_RENDERERS]


class PlainTextRenderer(TextRenderer):
    """``text/plain`` for the text citation formats (BibTeX, CITATION.cff), for clients that only know it."""

    media_type = "text/plain"
    format = "txt"
