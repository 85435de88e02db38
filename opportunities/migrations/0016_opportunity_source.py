"""The lead's source on the deal (copied at qualification), filled in for the deals that exist."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_lead_sources(apps, schema_editor) -> None:
    Lead = apps.get_model("leads", "Lead")
    Opportunity = apps.get_model("opportunities", "Opportunity")
    Opportunity.objects.filter(lead__isnull=False).update(
        source=Subquery(Lead.objects.filter(pk=OuterRef("lead_id")).values("source")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0015_archive_partial_indexes"),
        ("leads", "0010_archive_partial_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="source",
            field=models.CharField(blank=True, editable=False, max_length=20, verbose_name="lead source"),
        ),
        migrations.RunPython(copy_lead_sources, migrations.RunPython.noop, elidable=True),
    ]
