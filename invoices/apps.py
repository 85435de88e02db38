from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = _("Invoices")

    def ready(self) -> None:
        from crm.search import Finder, register
        from invoices.selectors import search_hits

        register("invoices", Finder(order=60, label=_("Invoices"), list_url="invoices:list", find=search_hits))
