from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "quotes"
    verbose_name = _("Quotes")

    def ready(self) -> None:
        from crm.search import Finder, register
        from quotes.selectors import search_hits

        register("quotes", Finder(order=40, label=_("Quotes"), list_url="quotes:list", find=search_hits))
