"""The model permissions each role (auth group) carries. Used by the roles migration and seed_demo.

No role deletes a sales record, account or contact: sellers and managers archive (crm.archive); hard
deletion is for staff in admin only (crm/migrations/0006 takes the grant back from existing databases).
"""

from django.apps import apps as global_apps

ROLE_PERMISSIONS: dict[str, dict[str, list[str]]] = {
    # app_label.model: actions
    "seller": {
        "leads.lead": ["view", "add", "change"],
        "opportunities.opportunity": ["view", "add", "change"],
        "quotes.quote": ["view", "add", "change"],
        "quotes.quoteline": ["view", "add", "change", "delete"],
        "orders.order": ["view", "change"],
        "invoices.invoice": ["view"],
        "crm.account": ["view", "add", "change"],
        "crm.contact": ["view", "add", "change"],
        "crm.activity": ["view", "add", "change"],
        "crm.product": ["view"],
    },
    "sales_manager": {
        "leads.lead": ["view", "add", "change"],
        "opportunities.opportunity": ["view", "add", "change"],
        "opportunities.stage": ["view", "add", "change", "delete"],
        "opportunities.stagechange": ["view"],
        "quotes.quote": ["view", "add", "change"],
        "quotes.quoteline": ["view", "add", "change", "delete"],
        "orders.order": ["view", "change"],
        "invoices.invoice": ["view"],
        "crm.account": ["view", "add", "change"],
        "crm.contact": ["view", "add", "change"],
        "crm.activity": ["view", "add", "change", "delete"],
        "crm.product": ["view"],
        "crm.team": ["view", "change"],
    },
    "accountant": {
        "quotes.quote": ["view"],
        "orders.order": ["view", "change"],
        "invoices.invoice": ["view", "add", "change"],
        "invoices.invoiceline": ["view", "add", "change"],
        "invoices.payment": ["view", "add"],
        "crm.account": ["view", "change"],
        "crm.contact": ["view"],
        "crm.product": ["view", "add", "change"],
        "crm.taxrate": ["view", "add", "change"],
        "crm.companyprofile": ["view", "change"],
    },
    "admin": {},  # admins are superusers
}

# Records that roles archive instead of deleting (see the module docstring).
NO_DELETE = ("leads.lead", "opportunities.opportunity", "quotes.quote", "orders.order", "invoices.invoice",
             "crm.account", "crm.contact")


def sync_role_permissions(apps=global_apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for model_label, actions in grants.items():
            app_label, model = model_label.split(".")
            wanted += list(
                Permission.objects.filter(
                    content_type__app_label=app_label,
                    codename__in=[f"{action}_{model}" for action in actions],
                )
            )
        group.permissions.set(wanted)
