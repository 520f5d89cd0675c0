from django.contrib import admin
from django.urls import include, path

from agenda import views as agenda_views
from rooms import views as rooms_views
from venue import views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/<str:token>/", views.join, name="join"),
    path("p/<str:token>/", views.personal_link, name="personal_link"),
    path("venue/", views.venue, name="venue"),
    path("console/", agenda_views.console, name="console"),
    path("organizer/", views.organizer, name="organizer"),
    path("organizer/invites/", views.create_invite, name="create_invite"),
    path("organizer/invites/<int:invite_id>/revoke/", views.revoke_invite, name="revoke_invite"),
    path("organizer/attendance/", views.attendance, name="attendance"),
    path("organizer/attendance.csv", views.attendance_csv, name="attendance_csv"),
    path("organizer/documentation/", views.publish_documentation, name="publish_documentation"),
    path("documentation/<slug:slug>/", views.documentation_page, name="documentation"),
    path("documentation/<slug:slug>/materials/<int:upload_id>/", views.documentation_material, name="documentation_material"),
    path("forums/<int:room_id>/uploads/", rooms_views.forum_upload, name="forum_upload"),
    path("uploads/<int:upload_id>/", rooms_views.serve_upload, name="upload"),
    path("stage/slide/", rooms_views.serve_slide, name="stage_slide"),
    path("console/slide/", rooms_views.stage_slide, name="put_slide"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
