from django.urls import path

from . import api

app_name = "accounts-api"

urlpatterns = [
    path("ping", api.PingApi.as_view(), name="ping"),
    path("auth/register", api.RegisterApi.as_view(), name="register"),
    path("auth/login", api.LoginApi.as_view(), name="login"),
    path("auth/refresh", api.RefreshApi.as_view(), name="refresh"),
    path("auth/logout", api.LogoutApi.as_view(), name="logout"),
    path("auth/sessions", api.LoginSessionListApi.as_view(), name="session-list"),
    path("auth/sessions/<str:session_id>", api.LoginSessionRevokeApi.as_view(), name="session-revoke"),
    path("user/profile", api.ProfileApi.as_view(), name="profile"),
    path("user/password", api.PasswordChangeApi.as_view(), name="password-change"),
    path("notifications", api.NotificationListApi.as_view(), name="notification-list"),
    path("workspace/invitations", api.InvitationCreateApi.as_view(), name="invitation-create"),
    path("invitations/<str:token>/accept", api.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("notifications/read", api.NotificationReadAllApi.as_view(), name="notification-read-all"),
    path("notifications/<int:notification_id>/read", api.NotificationReadApi.as_view(), name="notification-read"),
]
