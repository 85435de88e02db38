from django.urls import path

from crm.views import archive_views
from quotes import views
from quotes.models import Quote

app_name = "quotes"
archive_quote, restore_quote = archive_views(Quote)

urlpatterns = [
    path("", views.quote_list, name="list"),
    path("new/from-opportunity/<int:opportunity_pk>/", views.quote_create, name="create"),
    path("<int:pk>/", views.quote_detail, name="detail"),
    path("<int:pk>/edit/", views.quote_update, name="update"),
    path("<int:pk>/lines/add/", views.quote_line_add, name="line_add"),
    path("<int:pk>/lines/<int:line_pk>/remove/", views.quote_line_remove, name="line_remove"),
    path("<int:pk>/lines/", views.quote_lines, name="lines"),
    path("<int:pk>/lines/<int:line_pk>/edit/", views.quote_line_edit, name="line_edit"),
    path("<int:pk>/lines/<int:line_pk>/move/<str:direction>/", views.quote_line_move, name="line_move"),
    path("<int:pk>/lines/reorder/", views.quote_lines_reorder, name="lines_reorder"),
    path("<int:pk>/products/", views.product_search, name="product_search"),
    path("<int:pk>/revise/", views.quote_revise, name="revise"),
    path("<int:pk>/send/", views.quote_send, name="send"),
    path("<int:pk>/cancel/", views.quote_cancel, name="cancel"),
    path("<int:pk>/reject/", views.quote_reject, name="reject"),
    path("<int:pk>/accept/", views.quote_accept, name="accept"),
    path("<int:pk>/pdf/", views.quote_pdf, name="pdf"),
    path("<int:pk>/pdf/status/", views.quote_pdf_status, name="pdf_status"),
    path("<int:pk>/archive/", archive_quote, name="archive"),
    path("<int:pk>/restore/", restore_quote, name="restore"),
]
