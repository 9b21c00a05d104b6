from django.urls import path

from . import api, views

app_name = "analytics"
urlpatterns = [
    path("", views.leaderboard, name="leaderboard"),
    path("leaderboard.csv", views.leaderboard_export, name="leaderboard-csv"),
    path("teams/", views.teams, name="teams"),
    path("agents/<int:pk>/", views.agent_page, name="agent"),
    path("me/", views.my_analytics, name="me"),
    path("drivers/", views.drivers, name="drivers"),
    path("transfers/", views.transfers, name="transfers"),
    path("api/leaderboard/", api.LeaderboardAPIView.as_view(), name="api-leaderboard"),
]
