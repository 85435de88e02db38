from django.db import migrations


def forwards(apps, schema_editor):
    from crm.roles import grant_roles_in_migration

    grant_roles_in_migration(apps)


def backwards(apps, schema_editor):
    from crm.roles import ROLE_PERMISSIONS

    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("leads", "0001_initial"),
        ("opportunities", "0001_initial"),
        ("quotes", "0001_initial"),
        ("orders", "0001_initial"),
        ("invoices", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
