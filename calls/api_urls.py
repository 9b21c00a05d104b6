from django.urls import path

from . import api, api_views

app_name = "calls-api"
urlpatterns = [
    # Call records read back (scoped and filtered as the calls list).
    path("", api_views.CallListAPIView.as_view(), name="list"),
    path("<int:pk>/", api_views.CallDetailAPIView.as_view(), name="detail"),
    path("import", api.CallImportView.as_view(), name="import"),
    path("imports/<int:pk>", api.CallImportStatusView.as_view(), name="import-status"),
    # With a trailing slash too, as clients used to the other endpoints write them (left out of the schema).
    path("import/", api.CallImportView.as_view()),
    path("imports/<int:pk>/", api.CallImportStatusView.as_view()),
]
