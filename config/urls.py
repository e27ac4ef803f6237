"""Top-level URL routes: the admin, the versioned REST API, and the pages for people."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("", include("web.urls")),
]

# A 404 under /api/ answers JSON in the API's error shape; elsewhere a page.
handler404 = "web.views.page_not_found"
