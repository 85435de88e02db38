from django.db import migrations

# The former LostReason choices, literal: a migration must not depend on code that can change later.
REASONS = [
    ("price", "Price too high"),
    ("competitor", "Lost to a competitor"),
    ("no_decision", "No decision / postponed"),
    ("no_budget", "No budget"),
    ("requirements", "Requirements not met"),
    ("other", "Other"),
]


def forwards(apps, schema_editor):
    LostReason = apps.get_model("opportunities", "LostReason")
    Opportunity = apps.get_model("opportunities", "Opportunity")
    for order, (code, name) in enumerate(REASONS, start=1):
        reason, _ = LostReason.objects.get_or_create(
            team=None, code=code, defaults={"name": name, "order": order}
        )
        # Set-based: one UPDATE per reason, however many deals were lost.
        Opportunity.objects.filter(lost_reason_code=code).update(lost_reason=reason)


def backwards(apps, schema_editor):
    Opportunity = apps.get_model("opportunities", "Opportunity")
    for code, _name in REASONS:
        Opportunity.objects.filter(lost_reason__code=code).update(lost_reason_code=code)


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0003_pipeline_depth")]
    operations = [migrations.RunPython(forwards, backwards)]
