from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

# An unknown URL under the API answers in JSON, as the API does.
handler404 = "qa_center.views.page_not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("calls/", include("calls.urls")),
    path("api/auth/token", views.ApiTokenView.as_view(), name="api-token"),
    path("api/auth/token/", views.ApiTokenView.as_view()),  # the same, as some clients write it
    path("api/calls/", include("calls.api_urls")),
    # QA scoring API: /api/scorecards/, /api/evaluations/, /api/assignments/ (read-only, scoped by selectors).
    path("api/", include("scoring.api_urls")),
    # QA web UI: reviewer queue and workspace, evaluations, agent self-review, disputes, scorecard builder.
    path("qa/", include("scoring.urls")),
    # NPS surveys: public page /s/<token>/, screen /surveys/responses/, inbound API /api/surveys/responses.
    path("", include("scoring.surveys.urls")),
    # Detractor follow-ups: the board /followups/ and case pages.
    path("followups/", include("scoring.followups.urls")),
    # Supervisor analytics: leaderboard, teams, agent pages, NPS drivers, transfers; API under analytics/api/.
    # Team competitions ranked by the leaderboard's fair ranking (before analytics/, whose URLs it extends).
    path("analytics/competitions/", include("scoring.competitions.urls")),
    path("analytics/", include("scoring.analytics.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from this URL (?script) instead of inline: CSP allows
    # scripts from this site only.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
