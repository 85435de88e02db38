from django.contrib.auth.management import create_permissions
from django.db import migrations


def forwards(apps, schema_editor):
    from crm.roles import sync_role_permissions

    # Permissions are normally created after all migrations ran; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    sync_role_permissions(apps)


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
