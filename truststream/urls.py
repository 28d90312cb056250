from django.contrib import admin
from django.urls import include, path

from truststream import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/tokens/", views.tokens, name="tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path(
        "notifications/<int:notification_id>/open/",
        views.notification_open,
        name="notification_open",
    ),
    path("accounts/notifications/", views.notification_settings, name="notification_settings"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/members/", views.team_member_add, name="team_member_add"),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/role/",
        views.team_member_role,
        name="team_member_role",
    ),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/remove/",
        views.team_member_remove,
        name="team_member_remove",
    ),
    path("accounts/", include("allauth.urls")),
    path("api/", include("checklists.api_urls")),
    path("", include("planning.urls")),
    path("plans/", include("checklists.urls")),
    path("plans/", include("signoffs.urls")),
    path("packets/", include("signoffs.packet_urls")),
    path("", include("reports.urls")),
    path("", include("gates.urls")),
    path("admin/", admin.site.urls),
]
