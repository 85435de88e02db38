from django.db import migrations

# Literal names: a migration must not depend on code that can change later.
STAGES = [("New", 1, 10), ("Qualification", 2, 25), ("Proposition", 3, 50), ("Negotiation", 4, 75)]


def forwards(apps, schema_editor):
    Stage = apps.get_model("opportunities", "Stage")
    if not Stage.objects.filter(team__isnull=True).exists():
        Stage.objects.bulk_create(
            [Stage(team=None, name=name, order=order, probability=p) for name, order, p in STAGES]
        )


def backwards(apps, schema_editor):
    apps.get_model("opportunities", "Stage").objects.filter(
        team__isnull=True, opportunities__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
