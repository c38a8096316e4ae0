from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("login/", views.login_page, name="login"),
    path("signup/", views.signup, name="signup"),
    path("logout/", views.logout_view, name="logout"),
    path("account/profile/", views.profile, name="profile"),
    path("account/password/", views.password_change_view, name="password-change"),
    path("account/sessions/", views.sessions, name="sessions"),
    path("account/sessions/revoke-others/", views.sessions_revoke_others, name="sessions-revoke-others"),
    path("account/sessions/<str:session_id>/revoke/", views.session_revoke, name="session-revoke"),
    path("workspace/switch/", views.workspace_switch_view, name="workspace-switch"),
    path("workspace/members/", views.members, name="members"),
    path("workspace/invitations/", views.invitation_create_view, name="invitation-create"),
    path("workspace/display/", views.workspace_display_view, name="workspace-display"),
    path("workspace/invitations/<int:invitation_id>/revoke/", views.invitation_revoke_view, name="invitation-revoke"),
    path("invitations/<str:token>/", views.invitation_page, name="invitation"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/bell/", views.notification_bell, name="notification-bell"),
    path("notifications/<int:notification_id>/open/", views.notification_open, name="notification-open"),
]
