from rest_framework.routers import SimpleRouter

from . import api

app_name = "scoring-api"

router = SimpleRouter()
router.register("scorecards", api.ScorecardViewSet, basename="scorecard")
router.register("evaluations", api.EvaluationViewSet, basename="evaluation")
router.register("assignments", api.AssignmentViewSet, basename="assignment")
urlpatterns = router.urls
