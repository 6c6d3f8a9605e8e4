"""The back office's session rules: an idle timeout, the second factor, and who made a change.

They apply under the admin's URL prefix only: the POS API and the member portal have their own
authentication and must not pay for these checks on every request."""

import time

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from pghistory.middleware import HistoryMiddleware

from .roles import second_factor_required

# The session's expiry is pushed forward at most once a minute, not written on every page.
_EXPIRY_REFRESH_SECONDS = 60
_SEEN_KEY = "staff_seen_at"


def _in_back_office(request) -> bool:
    return request.path.startswith(reverse("admin:index"))


class StaffSessionMiddleware:
    """Ends an idle staff session after STAFF_SESSION_MINUTES and asks for the TOTP code where
    one is required (needs django_otp's OTPMiddleware before it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff or not _in_back_office(request):
            return self.get_response(request)
        self._keep_alive(request)
        if not user.is_verified() and second_factor_required(user):
            logout_url = reverse("admin:logout")
            if request.path != logout_url:
                return HttpResponseRedirect(
                    reverse("staff:otp_verify") + "?" + urlencode({"next": request.get_full_path()})
                )
        return self.get_response(request)

    def _keep_alive(self, request):
        now = int(time.time())
        if now - request.session.get(_SEEN_KEY, 0) >= _EXPIRY_REFRESH_SECONDS:
            request.session.set_expiry(settings.STAFF_SESSION_MINUTES * 60)
            request.session[_SEEN_KEY] = now


class StaffHistoryMiddleware(HistoryMiddleware):
    """Attaches the staff user and the page to the audit rows a back-office request writes."""

    def __call__(self, request):
        if not _in_back_office(request):
            return self.get_response(request)
        return super().__call__(request)
