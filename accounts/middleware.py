from .selectors import membership_current_for_user


class CurrentWorkspaceMiddleware:
    """Attach `request.workspace` and `request.membership` for signed-in browser users (lazy, no query when unused)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = _LazyMembership(request)
        return self.get_response(request)


class _LazyMembership:
    def __init__(self, request):
        self._request = request
        self._loaded = False
        self._value = None

    def get(self):
        if not self._loaded:
            user = getattr(self._request, "user", None)
            self._value = membership_current_for_user(user=user) if user and user.is_authenticated else None
            self._loaded = True
        return self._value

    def __bool__(self):
        return self.get() is not None

    def __getattr__(self, name):
        return getattr(self.get(), name)
