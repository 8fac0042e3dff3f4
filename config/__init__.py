"""The Django project's wiring only: settings, root URLs, the Celery app and WSGI. Nothing imports it but the entry
points (manage.py, gunicorn, celery -A config)."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
