"""Token authentication that takes ``Authorization: Token <key>`` and ``Authorization: Bearer <key>``.

``Bearer`` is what generated clients (openapi-python-client's ``AuthenticatedClient``) and most HTTP
libraries send by default; ``Token`` is DRF's. The key is the same either way.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

KEYWORDS = (b"token", b"bearer")


class TokenOrBearerAuthentication(TokenAuthentication):
    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in KEYWORDS:
            return None
        scheme = auth[0].decode("latin-1")
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(
                f"Invalid token header: give 'Authorization: {scheme} <key>' with the key and no spaces in it."
            )
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key has invalid characters."
            ) from None
        return self.authenticate_credentials(key)


class TokenOrBearerScheme(OpenApiAuthenticationExtension):
    target_class = TokenOrBearerAuthentication
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API key in the Authorization header: `Token <key>` or `Bearer <key>` (the same key). "
            "Create one with `python manage.py create_token USER`.",
        }
