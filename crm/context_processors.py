from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

NAVIGATION = [
    ("leads:list", _("Leads"), "leads"),
    ("opportunities:board", _("Pipeline"), "opportunities"),
    ("quotes:list", _("Quotes"), "quotes"),
    ("orders:list", _("Orders"), "orders"),
    ("invoices:list", _("Invoices"), "invoices"),
]


def navigation(request: HttpRequest) -> dict:
    """The main menu follows the sales flow; the current app is highlighted."""
    match = getattr(request, "resolver_match", None)
    return {"navigation": NAVIGATION, "current_app": match.namespace if match else ""}
