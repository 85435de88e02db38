from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import views

crm_patterns = ([path("", views.home, name="home")], "crm")

urlpatterns = [
    path("", include(crm_patterns)),
    path("leads/", include("leads.urls")),
    path("opportunities/", include("opportunities.urls")),
    path("quotes/", include("quotes.urls")),
    path("q/", include("quotes.public_urls")),
    path("orders/", include("orders.urls")),
    path("invoices/", include("invoices.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
