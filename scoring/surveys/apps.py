from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "scoring.surveys"
    label = "surveys"
    verbose_name = "NPS surveys"

    def ready(self) -> None:
        from calls.events import register_calls_imported_handler
        from calls.views import register_call_panel

        from .services import survey_schedule_for_imported_calls
        from .views import survey_call_panel

        register_call_panel(survey_call_panel)
        # New calls are invited SURVEY_DELAY_SECONDS after they end, not at the next 5-minute sweep.
        register_calls_imported_handler(survey_schedule_for_imported_calls)
