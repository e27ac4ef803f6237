"""Cursor pagination on every list, with a stable order that each view names.

Cursors are opaque and stay valid while rows are added (unlike page numbers), and they hold
positions in the ordering field (a name, a timestamp, a record position), never a primary key.
"""

from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """``?cursor=`` and ``?page_size=`` (1 to 1000, 50 by default).

    A view sets ``ordering`` (a tuple whose first field is unique or nearly so); the default is
    newest first.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = ("-created_at",)

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_paginated_response_schema(self, schema):
        result = super().get_paginated_response_schema(schema)
        result["required"] = ["next", "previous", "results"]
        result["properties"]["next"]["format"] = "uri"
        result["properties"]["previous"]["format"] = "uri"
        return result
