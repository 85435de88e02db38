from django.urls import path

from crm.views import archive_views
from orders import views
from orders.models import Order

app_name = "orders"
archive_order, restore_order = archive_views(Order)

urlpatterns = [
    path("", views.order_list, name="list"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/edit/", views.order_update, name="update"),
    path("<int:pk>/start-fulfilment/", views.order_start_fulfilment, name="start_fulfilment"),
    path("<int:pk>/fulfil/", views.order_fulfil, name="fulfil"),
    path("<int:pk>/cancel/", views.order_cancel, name="cancel"),
    path("<int:pk>/invoice/", views.order_invoice, name="invoice"),
    path("<int:pk>/delivery/", views.order_delivery, name="delivery"),
    path("<int:pk>/pdf/", views.order_pdf, name="pdf"),
    path("<int:pk>/pdf/status/", views.order_pdf_status, name="pdf_status"),
    path("<int:pk>/archive/", archive_order, name="archive"),
    path("<int:pk>/restore/", restore_order, name="restore"),
]
