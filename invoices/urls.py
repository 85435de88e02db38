from django.urls import path

from crm.views import archive_views
from invoices import views
from invoices.models import Invoice

app_name = "invoices"
archive_invoice, restore_invoice = archive_views(Invoice)

urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
    path("<int:pk>/issue/", views.invoice_issue, name="issue"),
    path("<int:pk>/payments/", views.payment_create, name="payment"),
    path("<int:pk>/edit/", views.invoice_update, name="update"),
    path("<int:pk>/credit-note/", views.credit_note_create, name="credit_note"),
    path("<int:pk>/apply-credit/", views.credit_apply, name="apply_credit"),
    path("<int:pk>/pdf/", views.invoice_pdf, name="pdf"),
    path("<int:pk>/xml/<str:flavor>/", views.invoice_xml, name="xml"),
    path("<int:pk>/pdf/status/", views.invoice_pdf_status, name="pdf_status"),
    path("<int:pk>/archive/", archive_invoice, name="archive"),
    path("<int:pk>/restore/", restore_invoice, name="restore"),
]
