from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "scoring.surveys"
    label = "surveys"
    verbose_name = "NPS surveys"
