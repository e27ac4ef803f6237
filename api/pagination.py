"""Cursor pagination on every list, with a stable order that each view names.

Cursors are opaque and stay valid while rows are added (unlike page numbers), and they hold
positions in the ordering field (a name, a timestamp, a record position), never a primary key.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

INVALID_CURSOR = (
    "This cursor is not one this API made (altered or truncated?): follow the next and previous links of "
    "a page as they are, or start again without cursor."
)


def invalid_cursor() -> ValidationError:
    return ValidationError({"cursor": [INVALID_CURSOR]}, code="invalid_cursor")


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

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid_cursor() from None
        if cursor is not None and cursor.position is not None and "\x00" in cursor.position:
            raise invalid_cursor()
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        # A cursor that decodes but holds a position of the wrong type (a word for a date, a number or
        # a UUID) fails only when the page is read: a 400, not a 500.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError, DataError):
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            raise invalid_cursor() from None

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
