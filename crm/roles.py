"""The model permissions each role (auth group) carries. Used by the roles migrations and seed_demo.

Entries are actions on a model: Django's default ones ("view", "add", "change", "delete" → `add_lead`) or
the custom transition permissions declared in each model's Meta.permissions (given by full codename, e.g.
"issue_invoice"). Services check them with crm.permissions.require(); see that module for who sees what.

The rules that matter: only accountants issue invoices, record payments and write credit notes; only
managers reopen lost opportunities and change the pipelines (stages); accountants hold no pipeline
permission at all. Admins are superusers, who hold every permission; the admin group gets every
permission of our apps too, so a non-superuser admin can work as well.

No role deletes a sales record, account or contact: sellers and managers archive (crm.archive); hard
deletion is for staff in admin only (crm/migrations/0006 takes the grant back from existing databases).
"""

from django.apps import apps as global_apps

SELLER_PIPELINE = {
    "leads.lead": ["view", "add", "change", "start_work_lead", "qualify_lead", "disqualify_lead",
                   "recycle_lead", "assign_lead"],
    "opportunities.opportunity": ["view", "add", "change", "move_opportunity", "win_opportunity",
                                  "lose_opportunity"],
    "quotes.quote": ["view", "add", "change", "send_quote", "revise_quote", "cancel_quote", "reject_quote",
                     "accept_quote"],
    "quotes.quoteline": ["view", "add", "change", "delete"],
    "orders.order": ["view", "change", "start_fulfilment_order", "fulfil_order", "deliver_order", "cancel_order"],
    # A seller may ask for billing (a draft has no legal effect); issuing it is the accountant's.
    "invoices.invoice": ["view", "add"],
}

# The apps whose every permission the admin group carries.
ADMIN_APPS = ("crm", "leads", "opportunities", "quotes", "orders", "invoices")

ROLE_PERMISSIONS: dict[str, dict[str, list[str]]] = {
    # app_label.model: actions
    "seller": {
        **SELLER_PIPELINE,
        "crm.account": ["view", "add", "change"],
        "crm.contact": ["view", "add", "change"],
        "crm.activity": ["view", "add", "change"],
        "crm.product": ["view"],
    },
    "sales_manager": {
        **SELLER_PIPELINE,
        "opportunities.opportunity": [*SELLER_PIPELINE["opportunities.opportunity"], "reopen_opportunity"],
        "opportunities.stage": ["view", "add", "change", "delete"],
        "opportunities.stagechange": ["view"],
        "opportunities.salestarget": ["view", "add", "change", "delete"],
        "crm.account": ["view", "add", "change"],
        "crm.contact": ["view", "add", "change"],
        "crm.activity": ["view", "add", "change", "delete"],
        "crm.product": ["view"],
        "crm.team": ["view", "change"],
    },
    "accountant": {
        "quotes.quote": ["view"],
        "orders.order": ["view", "change", "cancel_order"],
        "invoices.invoice": ["view", "add", "change", "issue_invoice", "record_payment", "credit_invoice"],
        "invoices.invoiceline": ["view", "add", "change"],
        "invoices.payment": ["view", "add"],
        "crm.account": ["view", "change"],
        "crm.contact": ["view"],
        "crm.activity": ["view", "add", "change"],
        "crm.product": ["view", "add", "change"],
        "crm.taxrate": ["view", "add", "change"],
        "crm.companyprofile": ["view", "change"],
    },
    "admin": {},  # every permission of ADMIN_APPS, see sync_role_permissions
}

# Records that roles archive instead of deleting (see the module docstring).
NO_DELETE = ("leads.lead", "opportunities.opportunity", "quotes.quote", "orders.order", "invoices.invoice",
             "crm.account", "crm.contact")


def codenames(model: str, actions: list[str]) -> list[str]:
    """"view" → "view_lead"; a custom codename ("issue_invoice") stays as it is."""
    return [action if "_" in action else f"{action}_{model}" for action in actions]


def grant_roles_in_migration(apps) -> None:
    """For a migration that adds models or permissions the roles hold: create the permissions now (Django
    creates them only after all migrations ran), then give each role its grants."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    sync_role_permissions(apps)


def sync_role_permissions(apps=global_apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        if role == "admin":
            wanted += list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
        for model_label, actions in grants.items():
            app_label, model = model_label.split(".")
            wanted += list(
                Permission.objects.filter(
                    content_type__app_label=app_label, content_type__model=model,
                    codename__in=codenames(model, actions),
                )
            )
        group.permissions.set(wanted)
