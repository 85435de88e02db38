from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM core")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from crm.middleware import mark_session_renewed
        from crm.money import memoize_money_formatting
        from crm.search import Finder, register
        from crm.selectors import customer_search_hits

        user_logged_in.connect(mark_session_renewed, dispatch_uid="salesflow-session-renewed")
        memoize_money_formatting()
        register("customers", Finder(order=10, label=_("Customers"), list_url="customers:list",
                                     find=customer_search_hits))
