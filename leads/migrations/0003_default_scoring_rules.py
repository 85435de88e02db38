from django.db import migrations

DEFAULT_RULES = [
    ("Referral", "source", "equals", "referral", 20),
    ("E-mail address known", "email", "present", "", 10),
    ("Phone number known", "phone", "present", "", 5),
    ("Company known", "company", "present", "", 10),
    ("Decision maker", "title", "contains", "head|director|ceo|cto|cfo|owner|geschäftsführer|leiter", 15),
    ("In conversation (1+ activity)", "activities", "at_least", "1", 10),
    ("Engaged (3+ activities)", "activities", "at_least", "3", 10),
]


def seed(apps, schema_editor):
    ScoringRule = apps.get_model("leads", "ScoringRule")
    if ScoringRule.objects.exists():
        return
    ScoringRule.objects.bulk_create(
        ScoringRule(name=name, field=field, condition=condition, value=value, points=points, position=i)
        for i, (name, field, condition, value, points) in enumerate(DEFAULT_RULES)
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_capture_channels")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
