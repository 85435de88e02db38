from django.urls import path

from crm.views import archive_views
from opportunities import views
from opportunities.models import Opportunity

app_name = "opportunities"
archive_opportunity, restore_opportunity = archive_views(Opportunity)

urlpatterns = [
    path("", views.opportunity_list, name="list"),
    path("board/", views.opportunity_board, name="board"),
    path("board/totals/", views.opportunity_board_totals, name="board_totals"),
    path("board/stages/<int:stage_id>/", views.opportunity_board_column, name="board_column"),
    path("report/", views.pipeline_report, name="report"),
    path("forecast/", views.sales_forecast, name="forecast"),
    path("forecast/mine/", views.my_quarter, name="my_quarter"),
    path("activities/", views.my_activities, name="activities"),
    path("activities/<int:pk>/done/", views.activity_done, name="activity_done"),
    path("stage-documents/<int:pk>/", views.stage_document, name="stage_document"),
    path("new/", views.opportunity_create, name="create"),
    path("<int:pk>/", views.opportunity_detail, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("<int:pk>/move/", views.opportunity_move, name="move"),
    path("<int:pk>/win/", views.opportunity_win, name="win"),
    path("<int:pk>/lose/", views.opportunity_lose, name="lose"),
    path("<int:pk>/reopen/", views.opportunity_reopen, name="reopen"),
    path("<int:pk>/activities/", views.opportunity_log_activity, name="log_activity"),
    path("<int:pk>/checklist/<int:item_id>/", views.opportunity_checklist_tick, name="checklist_tick"),
    path("<int:pk>/value/", views.opportunity_value_edit, name="value_edit"),
    path("<int:pk>/committee/", views.opportunity_committee_add, name="committee_add"),
    path("<int:pk>/committee/<int:member_id>/remove/", views.opportunity_committee_remove, name="committee_remove"),
    path("<int:pk>/competitors/", views.opportunity_competitor_add, name="competitor_add"),
    path("<int:pk>/competitors/<int:entry_id>/remove/", views.opportunity_competitor_remove,
         name="competitor_remove"),
    path("<int:pk>/archive/", archive_opportunity, name="archive"),
    path("<int:pk>/restore/", restore_opportunity, name="restore"),
]
