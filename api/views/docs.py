"""Swagger UI served with its own assets (drf-spectacular-sidecar): no CDN, no internet needed."""

import mimetypes
from pathlib import Path

from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.cache import cache_control
from drf_spectacular.views import SpectacularSwaggerView

ASSETS = {
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "oauth2-redirect.html",
    "oauth2-redirect.js",
}


def _asset_dir() -> Path:
    import drf_spectacular_sidecar

    return (
        Path(drf_spectacular_sidecar.__file__).resolve().parent
        / "static"
        / "drf_spectacular_sidecar"
        / "swagger-ui-dist"
    )


class SwaggerView(SpectacularSwaggerView):
    """The Swagger page, pointing at ``/api/v1/docs/assets/`` for its scripts and styles."""

    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename):
        return reverse("api:docs-asset", kwargs={"name": filename})

    @staticmethod
    def _swagger_ui_favicon():
        return reverse("api:docs-asset", kwargs={"name": "favicon-32x32.png"})


@cache_control(public=True, max_age=86400)
def swagger_asset(request, name: str):
    if name not in ASSETS:
        raise Http404("No such asset.")
    path = _asset_dir() / name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115 (FileResponse closes it)
