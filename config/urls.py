"""Top-level URL routes: the admin, the versioned REST API, and the pages for people."""

from django.contrib import admin
from django.urls import include, path, re_path

from api import exceptions as api_errors
from api.exceptions import api_route_not_found
from web import views as web_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    # Whatever else is under /api/ answers the API's JSON error shape, not Django's HTML 404.
    re_path(r"^api/", api_route_not_found),
    path("", include("web.urls")),
]


def page_not_found(request, exception=None):
    """A 404 Django answers itself: JSON in the API's error shape under /api/, a page elsewhere."""
    if request.path.startswith("/api/"):
        return api_errors.page_not_found(request, exception)
    return web_views.page_not_found(request, exception)


# Answers Django makes outside any view (a bad Host header, a 500): JSON under /api/, HTML elsewhere.
handler400 = "api.exceptions.bad_request"
handler404 = page_not_found
handler500 = "api.exceptions.server_error"
