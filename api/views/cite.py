"""One operation per citation format (``cite/bibtex/``, ``cite/cff/``, ``cite/csl/``, ``cite/datacite/``).

``cite/?format=`` answers every format from one operation, which a generated client cannot type (one
operation, one response type). Each of these answers one format, documented with its one media type
(and ``text/plain`` beside the text formats, which generated clients read as a string).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from ..renderers import (
    BibTeXRenderer,
    CFFRenderer,
    CSLJSONRenderer,
    DataCiteJSONRenderer,
    PlainTextRenderer,
)

FORMATS = {
    # format: (renderers, documented responses, what it is)
    "bibtex": ([BibTeXRenderer, PlainTextRenderer], OpenApiTypes.STR, "BibTeX"),
    "cff": ([CFFRenderer, PlainTextRenderer], OpenApiTypes.STR, "CITATION.cff (YAML)"),
    "csl": (
        [CSLJSONRenderer],
        {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "CSL-JSON",
    ),
    "datacite": ([DataCiteJSONRenderer], {"type": "object", "additionalProperties": True}, "DataCite JSON"),
}


def cite_format_action(fmt: str, what: str):
    """A detail action answering ``self.citation(fmt, request)`` in the one format ``fmt``."""
    renderers, schema, label = FORMATS[fmt]

    def cite_in_format(self, request, **kwargs):
        return Response(self.citation(fmt, request))

    cite_in_format.__name__ = f"cite_{fmt}"
    responses = {(200, r.media_type): schema for r in renderers}
    if fmt == "cff":  # YAML parses to a mapping (as schemathesis reads it); as text/plain it is the YAML text
        responses[(200, CFFRenderer.media_type)] = OpenApiTypes.OBJECT
    documented = extend_schema(
        summary=f"Cite {what} as {label}",
        tags=["citations"],
        filters=False,
        responses=responses,
    )
    return documented(  # outside the action: extend_schema documents an action through its kwargs
        action(
            detail=True,
            methods=["get"],
            url_path=f"cite/{fmt}",
            url_name=f"cite-{fmt}",
            renderer_classes=renderers,
            pagination_class=None,
            filter_backends=[],
        )(cite_in_format)
    )


# Each format's action answers 400 for an unknown ?format= (StrictFormatNegotiation), as cite/ does.
CITE_ERROR_STATUSES = {"cite": ("400",), **{f"cite_{fmt}": ("400",) for fmt in FORMATS}}
