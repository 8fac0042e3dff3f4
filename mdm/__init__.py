"""The MDM hub's project package and golden-record store."""

from mdm.celery import app as celery_app

__all__ = ["celery_app"]
