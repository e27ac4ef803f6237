"""Token authentication that takes ``Authorization: Token <key>`` and ``Authorization: Bearer <key>``.

``Bearer`` is what generated clients (openapi-python-client's ``AuthenticatedClient``) and most HTTP
libraries send by default; ``Token`` is DRF's. The key is the same either way.

The key is looked up as DRF does (the token and its user, one query, an inactive user refused), by a
kept statement (``registry.db.statements``) instead of a queryset built on every request: an
authenticated request paid about 0.25 ms of Python for that queryset, a tenth of its time
(benchmarks/README.md, API load).
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from registry.db.statements import Statement

KEYWORDS = (b"token", b"bearer")


@cache
def _lookup(token_model) -> tuple[Statement, list[str]]:
    """The statement that reads a user's columns and the token's ``created`` by key, and the user's
    field names in its order (built on first use: the models are not loaded when this module is)."""
    fields = list(get_user_model()._meta.concrete_fields)
    statement = Statement(
        lambda key: token_model.objects.filter(pk=key).values_list(
            *(f"user__{f.name}" for f in fields), "created"
        )
    )
    return statement, [f.attname for f in fields]


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

    def authenticate_credentials(self, key):
        token_model = self.get_model()
        statement, user_fields = _lookup(token_model)
        alias = token_model.objects.db
        rows = statement.run(using=alias, key=key)
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        *values, created = rows[0]
        user = get_user_model().from_db(alias, user_fields, values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        meta = token_model._meta
        token = token_model.from_db(
            alias,
            [meta.pk.attname, meta.get_field("user").attname, meta.get_field("created").attname],
            [key, user.pk, created],
        )
        token.user = user
        return user, token


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
