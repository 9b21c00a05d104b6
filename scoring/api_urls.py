from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api
from .notices import api as notices_api

app_name = "scoring-api"

router = SimpleRouter()
router.register("scorecards", api.ScorecardViewSet, basename="scorecard")
router.register("evaluations", api.EvaluationViewSet, basename="evaluation")
router.register("assignments", api.AssignmentViewSet, basename="assignment")
urlpatterns = [
    # Reviewer agreement and bias (Krippendorff's alpha): the calibration page's figures as JSON.
    path("calibration/", api.CalibrationAPIView.as_view(), name="calibration"),
    # The caller's own notices; the action paths also answer with a trailing slash (left out of the schema).
    path("notices/", notices_api.NoticeListAPIView.as_view(), name="notices"),
    path("notices/read-all", notices_api.NoticeReadAllAPIView.as_view(), name="notice-read-all"),
    path("notices/read-all/", notices_api.NoticeReadAllAPIView.as_view()),
    path("notices/<int:pk>/read", notices_api.NoticeReadAPIView.as_view(), name="notice-read"),
    path("notices/<int:pk>/read/", notices_api.NoticeReadAPIView.as_view()),
    *router.urls,
]
