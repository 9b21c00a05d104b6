from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "scoring.analytics"
    label = "analytics"
    verbose_name = "Supervisor analytics"

    def ready(self) -> None:
        # One refresh call from the importer (calls.rollups) keeps the QA/NPS day rollups in step too;
        # calls never imports scoring, so the link is made from this side.
        from calls.rollups import register_day_refresher

        from . import tasks  # noqa: F401 — register the Celery tasks with the app at startup
        from .rollups import agent_day_scoring_stats_refresh, analytics_agents_of_calls

        register_day_refresher(agent_day_scoring_stats_refresh, agents_of_calls=analytics_agents_of_calls)
