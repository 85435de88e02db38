from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from crm.search import Finder, register
        from orders.selectors import search_hits

        register("orders", Finder(order=50, label=_("Orders"), list_url="orders:list", find=search_hits))
