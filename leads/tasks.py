from celery import shared_task

from leads.imports import import_job_run


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def run_import_job(job_id: int) -> str:
    return import_job_run(job_id=job_id).state
