from django.apps import AppConfig


class CompetitionsConfig(AppConfig):
    name = "scoring.competitions"
    label = "competitions"
    verbose_name = "Competitions"
