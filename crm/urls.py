from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from crm import auth_views as sf_auth_views
from crm import views

crm_patterns = ([path("", views.home, name="home"), path("search/", views.search, name="search")], "crm")
customer_patterns = ([
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
], "customers")

urlpatterns = [
    path("", include(crm_patterns)),
    path("customers/", include(customer_patterns)),
    path("leads/", include("leads.urls")),
    path("opportunities/", include("opportunities.urls")),
    path("quotes/", include("quotes.urls")),
    path("q/", include("quotes.public_urls")),
    path("orders/", include("orders.urls")),
    path("invoices/", include("invoices.urls")),
    path("accounts/login/", sf_auth_views.SalesflowLoginView.as_view(), name="login"),
    path("accounts/login/verify/", sf_auth_views.login_verify, name="login_verify"),
    path("accounts/security/", sf_auth_views.security, name="security"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    # The admin signs in through our login, so it gets the throttle and the second factor too.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", include("crm.api.urls")),
]
