from django.contrib import admin
from django.urls import include, path

from frontend import files, organizer, recordings, transcripts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/<str:token>/", views.join, name="join"),
    path("p/<str:token>/", views.personal_link, name="personal_link"),
    path("venue/", views.venue, name="venue"),
    path("console/", views.console, name="console"),
    path("organizer/", organizer.organizer, name="organizer"),
    path("organizer/invites/", organizer.create_invite, name="create_invite"),
    path("organizer/invites/<int:invite_id>/revoke/", organizer.revoke_invite, name="revoke_invite"),
    path("organizer/attendance/", organizer.attendance, name="attendance"),
    path("organizer/attendance.csv", organizer.attendance_csv, name="attendance_csv"),
    path("organizer/documentation/", organizer.publish_documentation, name="publish_documentation"),
    path("organizer/recordings/<int:file_id>/", recordings.choose, name="choose_recording"),
    path("recordings/<int:file_id>.webm", recordings.serve, name="recording_file"),
    path("organizer/transcripts/<int:item_id>/", transcripts.publish_transcript, name="publish_transcript"),
    path("documentation/<slug:slug>/", organizer.documentation_page, name="documentation"),
    path("documentation/<slug:slug>/materials/<int:upload_id>/", organizer.documentation_material, name="documentation_material"),
    path("forums/<int:room_id>/uploads/", files.forum_upload, name="forum_upload"),
    path("uploads/<int:upload_id>/", files.serve_upload, name="upload"),
    path("stage/slide/", files.serve_slide, name="stage_slide"),
    path("console/slide/", files.stage_slide, name="put_slide"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
