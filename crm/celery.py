"""The Celery app. Tasks live in each app's tasks.py; the periodic schedule is edited in admin
(django-celery-beat) and seeded by the `setup_schedule` migration of crm."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("salesflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
