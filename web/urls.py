"""Pages for people: public identifiers (names, ``name@version``, UUIDs) in every URL, as in the API."""

from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on every page that names none (the admin's, the API's).
    path("favicon.ico", views.favicon, name="favicon"),
    path("datasets/<str:name>/", views.dataset, name="dataset"),
    path("versions/<str:ref>/", views.version, name="version"),
    path("overlap/", views.overlap_matrix, name="overlap"),
    path("overlap/<str:uuid>/", views.overlap_report, name="overlap-report"),
    path("overlap/<str:uuid>/pairs.tsv", views.overlap_pairs_tsv, name="overlap-pairs"),
    path("models/<str:ref>/", views.model_version, name="model-version"),
    path("evaluations/<str:uuid>/", views.evaluation, name="evaluation"),
    path("leaderboards/", views.leaderboards, name="leaderboards"),
    path("leaderboards/<path:ref>/", views.leaderboard, name="leaderboard"),
    path("badges/evaluations/<str:uuid>.svg", views.evaluation_badge, name="badge-evaluation"),
    path("badges/versions/<str:ref>.svg", views.version_badge, name="badge-version"),
]
