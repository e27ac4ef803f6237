"""Top-level URL routes: the admin and the versioned REST API."""

from django.contrib import admin
from django.urls import include, path, re_path

from api.exceptions import api_route_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    # Last: whatever else is under /api/ answers the API's JSON error shape, not Django's HTML 404.
    re_path(r"^api/", api_route_not_found),
]

# Answers Django makes outside any view (a bad Host header, a 500): JSON under /api/, HTML elsewhere.
handler400 = "api.exceptions.bad_request"
handler404 = "api.exceptions.page_not_found"
handler500 = "api.exceptions.server_error"
