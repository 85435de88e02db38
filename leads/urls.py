from django.urls import path

from crm.views import archive_views
from leads import views
from leads.models import Lead

app_name = "leads"
archive_lead, restore_lead = archive_views(Lead)

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("quick/", views.lead_quick, name="quick"),
    path("export/", views.lead_export, name="export"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("<int:pk>/start-work/", views.lead_start_work, name="start_work"),
    path("<int:pk>/qualify/", views.lead_qualify, name="qualify"),
    path("<int:pk>/disqualify/", views.lead_disqualify, name="disqualify"),
    path("<int:pk>/recycle/", views.lead_recycle, name="recycle"),
    path("<int:pk>/reassign/", views.lead_reassign, name="reassign"),
    path("assign/", views.lead_bulk_assign, name="bulk_assign"),
    path("<int:pk>/activities/", views.lead_log_activity, name="log_activity"),
    path("web-to-lead/<str:token>/", views.web_to_lead, name="web_to_lead"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("import/<int:pk>/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/report.csv", views.import_report, name="import_report"),
    path("<int:pk>/archive/", archive_lead, name="archive"),
    path("<int:pk>/restore/", restore_lead, name="restore"),
]
