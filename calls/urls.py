from django.urls import path

from . import views

app_name = "calls"
urlpatterns = [
    path("", views.call_list, name="list"),
    path("export.csv", views.call_list_csv, name="export"),
    path("<int:pk>/", views.call_detail, name="detail"),
    path("imports/", views.call_import_list, name="imports"),
    path("imports/format/", views.call_import_format, name="import-format"),
    path("imports/samples/<str:name>", views.call_import_sample, name="import-sample"),
    path("imports/<int:pk>/", views.call_import_detail, name="import-detail"),
    path("imports/<int:pk>/rejects/<int:position>/", views.call_import_rejects, name="import-rejects"),
]
