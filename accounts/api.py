"""Auth, session and profile API (DESIGN §4). Thin: parse, call one service or selector, shape the answer."""

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketing_ai.openapi import errors, paginated
from marketing_ai.pagination import PageNumberPagination
from marketing_ai.params import query_flag

from .browser import browser_login_session, client_ip, client_user_agent
from .invitations import invitation_accept, invitation_create, invitation_url
from .models import LoginSession, Membership
from .notifications import notification_mark_read
from .selectors import (
    login_session_get_for_user,
    login_session_list_for_user,
    notification_get_for_user,
    notification_list_for_user,
    workspace_current_for_user,
)
from .serializers import (
    AuthOutput,
    LoginSessionOutput,
    NotificationOutput,
    RefreshOutput,
    StrictCharField,
    StrictEmailField,
    UserOutput,
)
from .services import (
    login_session_open,
    login_session_refresh,
    login_session_revoke,
    password_change,
    profile_update,
    user_authenticate,
    user_register,
)


def _current_login_session(request: Request) -> LoginSession | None:
    """The session behind this request: the JWT's, or the browser's."""
    if isinstance(request.auth, LoginSession):
        return request.auth
    if request.user.is_authenticated and hasattr(request, "session"):
        return browser_login_session(request._request)
    return None


class PingApi(APIView):
    """A bare view returning `{}`: the benchmark's baseline (no authentication, no database)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="ping", responses={200: inline_serializer("Ping", {})}, tags=["meta"])
    def get(self, request: Request) -> Response:
        return Response({})


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        email = StrictEmailField(max_length=254)
        password = StrictCharField(max_length=128, trim_whitespace=False)
        firstName = StrictCharField(source="first_name", max_length=150, required=False, allow_blank=True)
        lastName = StrictCharField(source="last_name", max_length=150, required=False, allow_blank=True)
        companyName = StrictCharField(source="company_name", max_length=200, required=False, allow_blank=True)

    @extend_schema(
        operation_id="auth_register",
        tags=["auth"],
        request=Input,
        responses={201: AuthOutput, **errors(400, 409, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        ip, user_agent = client_ip(request), client_user_agent(request)
        user = user_register(**data.validated_data, ip=ip, user_agent=user_agent)
        _, tokens = login_session_open(user=user, ip=ip, user_agent=user_agent)
        return Response({"user": UserOutput(user).data, "tokens": tokens.as_dict()}, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        email = StrictCharField(max_length=254)
        password = StrictCharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        operation_id="auth_login",
        tags=["auth"],
        request=Input,
        responses={200: AuthOutput, **errors(400, 401, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        ip, user_agent = client_ip(request), client_user_agent(request)
        user = user_authenticate(**data.validated_data, ip=ip, user_agent=user_agent)
        _, tokens = login_session_open(user=user, ip=ip, user_agent=user_agent)
        return Response({"user": UserOutput(user).data, "tokens": tokens.as_dict()})


class RefreshApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        # No length limit: any string that is not one of ours, an access token included, is an unknown token (401).
        refreshToken = StrictCharField(source="refresh_token")

    @extend_schema(
        operation_id="auth_refresh",
        tags=["auth"],
        request=Input,
        responses={200: RefreshOutput, **errors(400, 401)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = login_session_refresh(
            **data.validated_data, ip=client_ip(request), user_agent=client_user_agent(request)
        )
        return Response({"tokens": tokens.as_dict()})


class LogoutApi(APIView):
    @extend_schema(operation_id="auth_logout", tags=["auth"], request=None, responses={204: None, **errors(401)})
    def post(self, request: Request) -> Response:
        session = _current_login_session(request)
        if session is not None:
            login_session_revoke(
                session=session,
                reason=LoginSession.RevokeReason.LOGOUT,
                ip=client_ip(request),
                user_agent=client_user_agent(request),
            )
        if not isinstance(request.auth, LoginSession):  # signed in through the browser session
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginSessionListApi(APIView):
    @extend_schema(
        operation_id="auth_sessions_list",
        tags=["auth"],
        responses={200: paginated(LoginSessionOutput), **errors(401)},
    )
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(login_session_list_for_user(user=request.user), request, view=self)
        current = _current_login_session(request)
        context = {"current_session_id": str(current.id) if current else None}
        return paginator.get_paginated_response(LoginSessionOutput(page, many=True, context=context).data)


class LoginSessionRevokeApi(APIView):
    @extend_schema(operation_id="auth_sessions_revoke", tags=["auth"], responses={204: None, **errors(401, 404)})
    def delete(self, request: Request, session_id) -> Response:
        session = login_session_get_for_user(user=request.user, session_id=session_id)
        login_session_revoke(
            session=session,
            reason=LoginSession.RevokeReason.USER,
            actor=request.user,
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileApi(APIView):
    class Input(serializers.Serializer):
        firstName = StrictCharField(source="first_name", max_length=150, required=False, allow_blank=True)
        lastName = StrictCharField(source="last_name", max_length=150, required=False, allow_blank=True)
        companyName = StrictCharField(source="company_name", max_length=200, required=False)

    @extend_schema(operation_id="user_profile", tags=["user"], responses={200: UserOutput, **errors(401)})
    def get(self, request: Request) -> Response:
        return Response(UserOutput(request.user).data)

    @extend_schema(
        operation_id="user_profile_update",
        tags=["user"],
        request=Input,
        responses={200: UserOutput, **errors(400, 401, 403)},
    )
    def patch(self, request: Request) -> Response:
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = profile_update(user=request.user, **data.validated_data)
        return Response(UserOutput(user).data)


class PasswordChangeApi(APIView):
    class Input(serializers.Serializer):
        currentPassword = StrictCharField(source="current_password", max_length=128, trim_whitespace=False)
        newPassword = StrictCharField(source="new_password", max_length=128, trim_whitespace=False)

    @extend_schema(
        operation_id="user_password_change",
        tags=["user"],
        request=Input,
        responses={204: None, **errors(400, 401, 429)},
        description="Sets a new password and revokes every other session of the user.",
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        password_change(
            user=request.user,
            **data.validated_data,
            keep=_current_login_session(request),
            ip=client_ip(request),
            user_agent=client_user_agent(request),
        )
        if not isinstance(request.auth, LoginSession):
            update_session_auth_hash(request._request, request.user)  # keep this browser signed in
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationListApi(APIView):
    @extend_schema(
        operation_id="notifications_list",
        tags=["notifications"],
        parameters=[OpenApiParameter("unread", bool, description="Only unread notifications.")],
        responses={200: paginated(NotificationOutput), **errors(401)},
    )
    def get(self, request: Request) -> Response:
        unread_only = query_flag(request, "unread")
        rows = notification_list_for_user(user=request.user, unread_only=unread_only)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notifications_read",
        tags=["notifications"],
        request=None,
        responses={200: NotificationOutput, **errors(401, 404)},
    )
    def post(self, request: Request, notification_id: int) -> Response:
        notification = notification_get_for_user(user=request.user, notification_id=notification_id)
        notification_mark_read(user=request.user, notification_id=notification.id)
        notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        operation_id="notifications_read_all",
        tags=["notifications"],
        request=None,
        responses={
            200: inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()}),
            **errors(401),
        },
    )
    def post(self, request: Request) -> Response:
        return Response({"marked": notification_mark_read(user=request.user)})


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    workspaceId = serializers.IntegerField(source="workspace_id")
    expiresAt = serializers.DateTimeField(source="expires_at")
    createdAt = serializers.DateTimeField(source="created_at")


class InvitationCreateApi(APIView):
    class Input(serializers.Serializer):
        email = StrictEmailField(max_length=254)
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    @extend_schema(
        operation_id="invitation_create",
        tags=["workspace"],
        request=Input,
        responses={
            201: inline_serializer(
                "InvitationCreated", {"invitation": InvitationOutput(), "acceptUrl": serializers.CharField()}
            ),
            **errors(400, 401, 403, 409),
        },
    )
    def post(self, request: Request) -> Response:
        """Invite an e-mail address to the current workspace with a role (owners and admins); e-mails the link."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, token = invitation_create(
            workspace=workspace_current_for_user(user=request.user), actor=request.user, **data.validated_data
        )
        body = {
            "invitation": InvitationOutput(invitation).data,
            "acceptUrl": request.build_absolute_uri(invitation_url(token)),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class InvitationAcceptedOutput(serializers.Serializer):
    """The membership an accepted invitation made."""

    workspaceId = serializers.IntegerField(source="workspace_id")
    workspaceName = serializers.CharField(source="workspace.name")
    role = serializers.CharField()


class InvitationAcceptApi(APIView):
    @extend_schema(
        operation_id="invitation_accept",
        tags=["workspace"],
        request=None,
        responses={200: InvitationAcceptedOutput, **errors(401, 403, 404, 409, 410)},
    )
    def post(self, request: Request, token: str) -> Response:
        """Join the invited workspace (the signed-in address must be the invited one); the link is then used."""
        membership = invitation_accept(token=token, user=request.user)
        return Response(InvitationAcceptedOutput(membership).data)
