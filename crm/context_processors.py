from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# (url name, label, what marks it current: an app namespace, or a full view name for a page of its own)
NAVIGATION = [
    ("leads:list", _("Leads"), "leads"),
    ("opportunities:board", _("Pipeline"), "opportunities"),
    ("customers:list", _("Customers"), "customers"),
    ("quotes:list", _("Quotes"), "quotes"),
    ("orders:list", _("Orders"), "orders"),
    ("invoices:list", _("Invoices"), "invoices"),
    ("opportunities:report", _("Pipeline report"), "opportunities:report"),
    ("opportunities:activities", _("My activities"), "opportunities:activities"),
]
_OWN_PAGES = {key for _url, _label, key in NAVIGATION if ":" in key}


def navigation(request: HttpRequest) -> dict:
    """The main menu follows the sales flow; the current app (or page with its own entry) is highlighted."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return {"navigation": NAVIGATION, "current_app": ""}
    current = match.view_name if match.view_name in _OWN_PAGES else match.namespace
    return {"navigation": NAVIGATION, "current_app": current}
