"""Grant the per-transition permissions (Meta.permissions of leads … invoices) to the role groups."""

from django.db import migrations

# Added by the apps' `transition_permissions` migrations; backwards takes them away from the roles again.
TRANSITION_CODENAMES = [
    "start_work_lead", "qualify_lead", "disqualify_lead", "recycle_lead", "assign_lead",
    "move_opportunity", "win_opportunity", "lose_opportunity", "reopen_opportunity",
    "send_quote", "revise_quote", "cancel_quote", "reject_quote", "accept_quote",
    "start_fulfilment_order", "fulfil_order", "deliver_order", "cancel_order",
    "issue_invoice", "record_payment", "credit_invoice",
]


def forwards(apps, schema_editor):
    from crm.roles import grant_roles_in_migration

    grant_roles_in_migration(apps)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    transition = Permission.objects.filter(codename__in=TRANSITION_CODENAMES)
    for group in Group.objects.filter(name__in=["seller", "sales_manager", "accountant"]):
        group.permissions.remove(*transition)
    # Before this migration the admin group held nothing (admins are superusers).
    for group in Group.objects.filter(name="admin"):
        group.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0008_roles_no_delete"),
        ("leads", "0007_transition_permissions"),
        ("opportunities", "0008_transition_permissions"),
        ("quotes", "0005_transition_permissions"),
        ("orders", "0004_transition_permissions"),
        ("invoices", "0006_transition_permissions"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
