from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from crm.search import Finder, register
        from leads.selectors import search_hits

        register("leads", Finder(order=20, label=_("Leads"), list_url="leads:list", find=search_hits))
