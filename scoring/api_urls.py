from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

app_name = "scoring-api"

router = SimpleRouter()
router.register("scorecards", api.ScorecardViewSet, basename="scorecard")
router.register("evaluations", api.EvaluationViewSet, basename="evaluation")
router.register("assignments", api.AssignmentViewSet, basename="assignment")
urlpatterns = [
    # Reviewer agreement and bias (Krippendorff's alpha): the calibration page's figures as JSON.
    path("calibration/", api.CalibrationAPIView.as_view(), name="calibration"),
    *router.urls,
]
