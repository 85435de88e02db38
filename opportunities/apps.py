from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "opportunities"
    verbose_name = _("Opportunities")

    def ready(self) -> None:
        from crm.search import Finder, register
        from opportunities.selectors import search_hits

        register("opportunities", Finder(order=30, label=_("Deals"), list_url="opportunities:list", find=search_hits))
