from django.urls import path

from . import views

app_name = "followups"
urlpatterns = [
    path("", views.board, name="board"),
    path("insights/", views.insights_page, name="insights"),
    path("insights/root-causes.csv", views.insights_export, name="insights-csv"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/attempts/", views.attempt_log, name="attempt"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/retry-dispatch/", views.retry_dispatch, name="retry-dispatch"),
]
