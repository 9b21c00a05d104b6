from django.urls import path

from . import api

app_name = "calls-api"
urlpatterns = [
    path("import", api.CallImportView.as_view(), name="import"),
    path("imports/<int:pk>", api.CallImportStatusView.as_view(), name="import-status"),
]
