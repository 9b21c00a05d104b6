"""In-app notices of QA events (review received, dispute opened, dispute decided), optionally e-mailed.

The model is `scoring.models.Notice`; its tasks live in `scoring.tasks` (Celery autodiscovers them there)."""
