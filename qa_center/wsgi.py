import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings")

from .chunked import ChunkedBodyMiddleware  # noqa: E402  (reads settings once they are named)

application = ChunkedBodyMiddleware(get_wsgi_application())
