"""Worker-wide Celery behaviour: database connections around tasks, and the follow-up queue."""

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from qa_center.celery import _db_connections_task_end, _db_connections_task_start
from qa_center.celery import app as celery_app

WORKER_TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))
EAGER_TASK = SimpleNamespace(request=SimpleNamespace(is_eager=True))


def test_celery_fixup_is_told_to_leave_connections_open(settings):
    assert settings.CELERY_DB_REUSE_MAX == 1000
    assert DjangoWorkerFixup(celery_app).db_reuse_max == 1000


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_kept_across_tasks():
    connection.ensure_connection()
    raw = connection.connection
    _db_connections_task_end(sender=WORKER_TASK)
    _db_connections_task_start(sender=WORKER_TASK)
    assert connection.connection is raw
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.connection is raw


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_is_replaced_before_the_next_task():
    connection.ensure_connection()
    broken = connection.connection
    broken.close()  # the server went away (restart, idle timeout)
    connection.errors_occurred = True
    _db_connections_task_start(sender=WORKER_TASK)
    assert connection.connection is None  # dropped; the task's first query reconnects
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.connection is not broken


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_the_callers_connection_alone():
    connection.ensure_connection()
    raw = connection.connection
    connection.errors_occurred = True
    _db_connections_task_start(sender=EAGER_TASK)
    _db_connections_task_end(sender=EAGER_TASK)
    assert connection.connection is raw
    connection.errors_occurred = False


def test_follow_up_tasks_have_their_own_queue_consumed_first():
    router = celery_app.amqp.router
    assert [queue.name for queue in celery_app.amqp.queues.values()] == ["followups", "celery", "imports"]
    assert router.route({}, "calls.tasks.call_import_run_task")["queue"].name == "imports"
    assert router.route({}, "calls.tasks.call_import_sweep_task")["queue"].name == "celery"
    assert router.route({}, "scoring.followups.tasks.followup_dispatch_task")["queue"].name == "followups"
    assert router.route({}, "scoring.followups.tasks.followup_sweep_task")["queue"].name == "followups"
    assert router.route({}, "scoring.surveys.tasks.survey_invite_task")["queue"].name == "celery"
    assert (
        router.route({}, "scoring.analytics.tasks.analytics_refresh_for_calls_task")["queue"].name == "celery"
    )
    assert celery_app.conf.broker_transport_options["queue_order_strategy"] == "priority"
