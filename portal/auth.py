"""The member's portal session: who is signed in, since which epoch, and for how long.

Members are not Django users; the session holds the member's id and the epoch of their portal
account, and `member_required` checks both on every request, so raising the epoch ("sign out
everywhere") ends every session at once, wherever it is stored."""

from functools import wraps

from django.conf import settings
from django.shortcuts import redirect

from members.models import Member

from .selectors import member_for_session

SESSION_MEMBER = "portal_member"
SESSION_EPOCH = "portal_epoch"
SESSION_PHONE = "portal_phone"
SESSION_EMAIL = "portal_email"
SESSION_DEBUG_CODE = "portal_debug_code"


def portal_sign_in(request, member: Member) -> None:
    request.session.cycle_key()  # a new session id at sign-in: a planted one is worth nothing
    request.session.pop(SESSION_PHONE, None)
    request.session.pop(SESSION_EMAIL, None)
    request.session.pop(SESSION_DEBUG_CODE, None)
    request.session[SESSION_MEMBER] = member.pk
    request.session[SESSION_EPOCH] = member.portal_account.session_epoch
    request.session.set_expiry(settings.PORTAL_SESSION_DAYS * 24 * 3600)


def portal_sign_out(request) -> None:
    request.session.flush()


def member_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member_id, epoch = request.session.get(SESSION_MEMBER), request.session.get(SESSION_EPOCH)
        member = None
        if isinstance(member_id, int) and isinstance(epoch, int):
            member = member_for_session(member_id=member_id, epoch=epoch)
        if member is None:
            if member_id is not None:
                portal_sign_out(request)  # ended elsewhere: drop what is left of this one
            return redirect("portal:sign_in")
        request.member = member
        return view(request, *args, **kwargs)

    return wrapper
