from django.urls import path

from . import views

app_name = "competitions"
urlpatterns = [
    path("", views.competition_list, name="list"),
    path("new/", views.competition_new, name="new"),
    path("<int:pk>/", views.competition_detail, name="detail"),
    path("<int:pk>/cancel/", views.competition_cancel, name="cancel"),
]
