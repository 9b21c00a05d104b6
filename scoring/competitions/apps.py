from django.apps import AppConfig


class CompetitionsConfig(AppConfig):
    name = "scoring.competitions"
    label = "competitions"
    verbose_name = "Competitions"

    def ready(self) -> None:
        from . import tasks  # noqa: F401 — register the Celery task with the app at startup
