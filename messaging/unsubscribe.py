"""One-click unsubscribe: a signed link per member and channel that shows the member's marketing
consent for that channel and lets them withdraw it, or give it again."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from members.models import Member

SALT = "messaging.unsubscribe"


def unsubscribe_url(member: Member, channel: str) -> str:
    token = signing.dumps({"m": member.pk, "c": channel}, salt=SALT)
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[token])


def unsubscribe_line(member: Member, channel: str) -> str:
    with translation.override(member.language):
        return "\n\n" + gettext("No more messages like this: %(link)s") % {"link": unsubscribe_url(member, channel)}


def member_from_token(token: str) -> tuple[Member, str] | None:
    try:
        data = signing.loads(token, salt=SALT)
        member = Member.objects.get(pk=data["m"])
    except (signing.BadSignature, Member.DoesNotExist, KeyError, TypeError):
        return None
    return (member, data["c"]) if data.get("c") in ("email", "sms") else None


CONSENT_FIELDS = {"email": "consent_email", "sms": "consent_sms"}


def consent_given(member: Member, channel: str) -> bool:
    return getattr(member, CONSENT_FIELDS[channel])


@transaction.atomic
def consent_set(*, member: Member, channel: str, consent: bool) -> Member:
    """Withdraw (or give again) the member's marketing consent on one channel. Idempotent: asking
    for the state the member is already in changes nothing, not even when it was last updated."""
    field = CONSENT_FIELDS[channel]
    Member.objects.filter(pk=member.pk).exclude(**{field: consent}).update(
        **{field: consent, "consent_updated_at": timezone.now()}
    )
    member.refresh_from_db(fields=[field, "consent_updated_at"])
    return member
