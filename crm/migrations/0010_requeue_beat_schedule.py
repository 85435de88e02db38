from django.db import migrations

TASK = "crm.tasks.requeue_pending"
FORGET = "crm.tasks.forget_form_tokens"


def forwards(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Every minute: work kept while the broker was down is queued soon after the worker is back.
    schedule, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Queue background work kept while the broker was down",
        defaults={"task": TASK, "interval": schedule, "enabled": True},
    )
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="40", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Europe/Berlin"
    )
    PeriodicTask.objects.get_or_create(
        name="Forget old one-time form tokens", defaults={"task": FORGET, "crontab": nightly, "enabled": True}
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=[TASK, FORGET]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0009_pending_tasks_and_form_tokens"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
