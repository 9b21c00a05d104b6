from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "scoring.surveys"
    label = "surveys"
    verbose_name = "NPS surveys"

    def ready(self) -> None:
        from calls.views import register_call_panel

        from .views import survey_call_panel

        register_call_panel(survey_call_panel)
