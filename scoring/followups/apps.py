from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "scoring.followups"
    label = "followups"
    verbose_name = "Detractor follow-ups"

    def ready(self) -> None:
        from calls.views import register_call_panel

        from .views import followup_call_panel

        register_call_panel(followup_call_panel)
