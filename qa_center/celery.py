import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings")

app = Celery("qa_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Database connections in the worker follow Django's per-request rules, for every task: before and after
# each task, close_old_connections() drops a connection that is past CONN_MAX_AGE, had an error, or fails
# its health check (CONN_HEALTH_CHECKS), and keeps a healthy one. Celery's Django fixup would otherwise
# close the connection around every task (a new PostgreSQL connection costs ~6–15 ms here); it is told to
# leave connections alone with CELERY_DB_REUSE_MAX (settings). Eager tasks run inside the caller's request
# or test and must not touch its connection.
def _close_old_connections(task) -> None:
    from django.db import close_old_connections, connection

    if getattr(task.request, "is_eager", False) or connection.in_atomic_block:
        return
    close_old_connections()


@task_prerun.connect(dispatch_uid="qa_center.db_connections.task_start")
def _db_connections_task_start(sender=None, **kwargs) -> None:
    if sender is not None:
        _close_old_connections(sender)


@task_postrun.connect(dispatch_uid="qa_center.db_connections.task_end")
def _db_connections_task_end(sender=None, **kwargs) -> None:
    if sender is not None:
        _close_old_connections(sender)
