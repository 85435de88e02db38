from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from crm.tracking import acting_as


class UserLanguageMiddleware:
    """A signed-in user's chosen language wins over the browser's Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = getattr(request.user, "language", "") if request.user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class RequestLogContextMiddleware:
    """Puts the request path and user id into every log record written while the request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from crm.security import request_context

        # The request itself, not its user: reading request.user here would cost a query on every request;
        # the log filter reports the user only if the view already loaded it.
        token = request_context.set({"request": request})
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)


class SessionRenewalMiddleware:
    """Idle expiry without a write per request: a signed-in session is saved again (which moves its expiry
    SESSION_COOKIE_AGE into the future) once its last renewal is a few minutes old."""

    KEY = "salesflow_renewed_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import time

        from django.conf import settings

        session = getattr(request, "session", None)
        if session is not None and session.session_key and session.get("_auth_user_id"):
            now = time.time()
            if now - session.get(self.KEY, 0) > settings.SALESFLOW_SESSION_RENEW_SECONDS:
                session[self.KEY] = now  # marks the session modified: saved with a fresh expiry
        return self.get_response(request)


def mark_session_renewed(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """user_logged_in receiver: a fresh sign-in counts as a renewal (no second save on the next request)."""
    import time

    if hasattr(request, "session"):
        request.session[SessionRenewalMiddleware.KEY] = time.time()


class TwoFactorEnforcementMiddleware:
    """Users whose role requires a second factor reach only the Security page (and sign-out) until they
    have set one up. The admin is covered too: its login goes through ours."""

    ALLOWED_URL_NAMES = {"security", "logout", "set_language", "login", "login_verify"}
    SESSION_KEY = "salesflow_2fa_checked_at"
    RECHECK_SECONDS = 300

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        if settings.SALESFLOW_REQUIRE_2FA and request.user.is_authenticated and not self._allowed(request):
            import time

            from crm import twofactor

            # Checked at most every few minutes per session (two queries), not on every request.
            checked_at = request.session.get(self.SESSION_KEY, 0)
            if time.time() - checked_at < self.RECHECK_SECONDS:
                return self.get_response(request)
            if twofactor.twofactor_required(request.user) and not twofactor.twofactor_enabled(request.user):
                from django.shortcuts import redirect

                if request.path_info.startswith("/api/"):
                    # A script gets the answer a token gets (crm.api.authentication), not a login page to follow.
                    from django.http import JsonResponse

                    return JsonResponse(
                        {"detail": str(twofactor.API_REFUSAL), "code": twofactor.API_REFUSAL_CODE}, status=403
                    )
                response = redirect("security")
                if request.headers.get("HX-Request"):  # htmx follows a redirect inside the page otherwise
                    response["HX-Redirect"] = response["Location"]
                return response
            request.session[self.SESSION_KEY] = time.time()
        return self.get_response(request)

    def _allowed(self, request: HttpRequest) -> bool:
        from django.conf import settings
        from django.urls import Resolver404, resolve

        if request.path.startswith(settings.STATIC_URL) or request.path == "/admin/logout/":
            return True
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return True  # a 404 page reveals nothing
        return match.url_name in self.ALLOWED_URL_NAMES


class CSPRelaxationMiddleware:
    """Django's admin and the API docs (Swagger UI) set inline style attributes we do not control: allow
    inline *styles* there, never inline scripts."""

    RELAXED_PREFIXES = ("/admin/", "/api/docs/", "/api/schema/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(self.RELAXED_PREFIXES) and not hasattr(response, "_csp_update"):
            response._csp_update = {"style-src": ["'unsafe-inline'"]}
        return response


class ActorMiddleware:
    """Attributes every save made while handling a request to its user (field history, crm.tracking).

    Must come after AuthenticationMiddleware. `request.user` stays lazy: a request that saves nothing
    does not load the user for this.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(getattr(request, "user", None)):
            return self.get_response(request)
