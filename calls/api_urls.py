from django.urls import path

from . import api

app_name = "calls-api"
urlpatterns = [
    path("import", api.CallImportView.as_view(), name="import"),
    path("imports/<int:pk>", api.CallImportStatusView.as_view(), name="import-status"),
    # With a trailing slash too, as clients used to the other endpoints write them (left out of the schema).
    path("import/", api.CallImportView.as_view()),
    path("imports/<int:pk>/", api.CallImportStatusView.as_view()),
]
