"""docker-compose.yml, the production shape: every Celery queue has a worker, and beat and web are there."""

from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_celery_queue_is_consumed_by_a_compose_worker_and_imports_by_their_own():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    consumed: dict[str, list[str]] = {}
    for name, service in services.items():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "qa_center", "worker"]:
            queues = command[command.index("-Q") + 1].split(",")
            for queue in queues:
                consumed.setdefault(queue, []).append(name)

    assert consumed == {"followups": ["worker"], "celery": ["worker"], "imports": ["importer"]}
    assert sorted(consumed) == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)
    assert services["beat"]["command"][:4] == ["celery", "-A", "qa_center", "beat"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn"
    # A synchronous API import of a body at the size limit (~70,000 calls) takes about 10 s here: the
    # worker must not be killed at gunicorn's default 30 s on a slower database.
    assert int(web[web.index("--timeout") + 1]) >= 120
    procfile_web = (ROOT / "Procfile").read_text().splitlines()[0]
    assert "--timeout 120" in procfile_web
