from celery import shared_task
from django.utils.translation import gettext_lazy as _

from leads.imports import import_job_run


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700,
             pending_message=_("The import is queued; it will start when the background worker is back."))
def run_import_job(job_id: int) -> str:
    return import_job_run(job_id=job_id).state
