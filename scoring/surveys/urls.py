"""Survey URLs, included at the site root: the public page under /s/, the screen under /surveys/, the
inbound API under /api/surveys/."""

from django.urls import path

from . import api, views

app_name = "surveys"
urlpatterns = [
    path("s/<str:token>/", views.survey_answer, name="answer"),
    path("s/<str:token>/thanks/", views.survey_thanks, name="thanks"),
    path("s/<str:token>/opt-out/", views.survey_opt_out, name="opt_out"),
    path("surveys/responses/", views.response_list, name="responses"),
    path("api/surveys/responses", api.InboundResponseView.as_view(), name="api-responses"),
    path("api/surveys/responses/", api.InboundResponseView.as_view()),  # as some webhook senders write it
]
