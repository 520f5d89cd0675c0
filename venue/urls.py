from django.contrib import admin
from django.urls import include, path

from frontend import files, organizer, schedule, views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/<str:token>/", views.join, name="join"),
    path("p/<str:token>/", views.personal_link, name="personal_link"),
    path("venue/", views.venue, name="venue"),
    path("console/", views.console, name="console"),
    path("organizer/", organizer.organizer, name="organizer"),
    path("organizer/invites/", organizer.create_invite, name="create_invite"),
    path("organizer/invites/<int:invite_id>/revoke/", organizer.revoke_invite, name="revoke_invite"),
    path("organizer/people/", organizer.import_people, name="import_people"),
    path("organizer/people/<int:person_id>/invite/", organizer.invite_person, name="invite_person"),
    path("organizer/people/<int:person_id>/revoke/", organizer.revoke_person, name="revoke_person"),
    path("organizer/schedule/", organizer.upload_schedule, name="upload_schedule"),
    path("programme/<slug:slug>.<str:kind>", schedule.programme, name="programme"),
    path("organizer/attendance/", organizer.attendance, name="attendance"),
    path("organizer/attendance.csv", organizer.attendance_csv, name="attendance_csv"),
    path("organizer/attendance-<str:table>.csv", organizer.attendance_csv, name="attendance_table_csv"),
    path("organizer/attendance.xlsx", organizer.attendance_xlsx, name="attendance_xlsx"),
    path("organizer/documentation/", organizer.publish_documentation, name="publish_documentation"),
    path("documentation/<slug:slug>/", organizer.documentation_page, name="documentation"),
    path("documentation/<slug:slug>/materials/<int:upload_id>/", organizer.documentation_material, name="documentation_material"),
    path("forums/<int:room_id>/uploads/", files.forum_upload, name="forum_upload"),
    path("uploads/<int:upload_id>/", files.serve_upload, name="upload"),
    path("stage/slide/", files.serve_slide, name="stage_slide"),
    path("console/slide/", files.stage_slide, name="put_slide"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
