"""The customer's side of a quote: reached by a signed link from the e-mail, no login."""

from django.urls import path

from quotes import public_views

app_name = "quote_public"
urlpatterns = [
    path("<str:token>/", public_views.quote_public, name="view"),
    path("<str:token>/pdf/", public_views.quote_public_pdf, name="pdf"),
    path("<str:token>/accept/", public_views.quote_public_accept, name="accept"),
    path("<str:token>/reject/", public_views.quote_public_reject, name="reject"),
]
