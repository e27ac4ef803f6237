"""OpenAPI generation: every operation documents its error answers with ``ErrorSerializer``.

Generated clients then know the one error shape for every status an operation can return.
"""

from drf_spectacular.openapi import AutoSchema

from .serializers import ErrorSerializer

ERROR_TEXT = {
    "400": "Invalid input (the fields say which), or a rejected file (file, line, record).",
    "401": "The token is missing or invalid.",
    "403": "Authenticated but not allowed (only the owner or the owner's group may write).",
    "404": "No such object (or an invalid cursor).",
    "409": "Conflicts with what is registered; published objects are immutable.",
    "413": "The uploaded file, or a JSON body, is larger than the registry accepts.",
    "415": "Unsupported request body media type.",
    "429": "Too many requests: retry after the number of seconds in Retry-After.",
}


class LeakLedgerSchema(AutoSchema):
    """AutoSchema that adds the error responses each kind of operation can give."""

    def error_statuses(self) -> list[str]:
        codes = {"401", "429"}
        method = self.method.upper()
        if "{" in self.path or self._is_list_view():
            codes.add("404")
        if self._is_list_view() or self.get_filter_backends() or self._get_paginator():
            codes.add("400")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.update({"400", "403", "404", "409", "413", "415"})
        codes.update(getattr(self.view, "extra_error_statuses", {}).get(method, ()))
        codes.update(
            getattr(self.view, "action_error_statuses", {}).get(getattr(self.view, "action", None), ())
        )
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self.error_statuses():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, ["application/json"], direction)
                response["description"] = ERROR_TEXT.get(code, "Error.")
                responses[code] = response
        return responses
