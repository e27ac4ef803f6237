"""Cursor pagination on every list, with a stable order that each view names.

Cursors are opaque and stay valid while rows are added (unlike page numbers), and they hold
positions in the ordering field (a name, a timestamp, a record position), never a primary key.
"""

from rest_framework.exceptions import ValidationError
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

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {self.page_size_query_param: [f"A positive integer (at most {self.max_page_size})."]}
            )
        return min(size, self.max_page_size)

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters

    def get_paginated_response_schema(self, schema):
        result = super().get_paginated_response_schema(schema)
        result["required"] = ["next", "previous", "results"]
        result["properties"]["next"]["format"] = "uri"
        result["properties"]["previous"]["format"] = "uri"
        return result
