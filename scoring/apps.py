from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "QA scoring"

    def ready(self) -> None:
        # The call page shows "Evaluations of this call" through the calls extension point.
        from calls.views import register_call_panel

        from .views.panels import evaluations_call_panel

        register_call_panel(evaluations_call_panel)
