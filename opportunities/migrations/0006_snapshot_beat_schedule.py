from django.db import migrations

TASK = "opportunities.tasks.snapshot_pipeline"


def forwards(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Sunday night: the week's last word on every open deal, before Monday's pipeline meeting.
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="23", day_of_week="0", day_of_month="*", month_of_year="*", timezone="Europe/Berlin"
    )
    PeriodicTask.objects.get_or_create(
        name="Weekly pipeline snapshot", defaults={"task": TASK, "crontab": schedule, "enabled": True}
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0005_drop_lost_reason_code"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
