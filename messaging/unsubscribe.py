"""One-click unsubscribe: a signed link per member and channel that withdraws marketing consent."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members.models import Member

SALT = "messaging.unsubscribe"


def unsubscribe_url(member: Member, channel: str) -> str:
    token = signing.dumps({"m": member.pk, "c": channel}, salt=SALT)
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[token])


def unsubscribe_line(member: Member, channel: str) -> str:
    return f"\n\nNo more messages like this: {unsubscribe_url(member, channel)}"


def member_from_token(token: str) -> tuple[Member, str] | None:
    try:
        data = signing.loads(token, salt=SALT)
        member = Member.objects.get(pk=data["m"])
    except (signing.BadSignature, Member.DoesNotExist, KeyError, TypeError):
        return None
    return (member, data["c"]) if data.get("c") in ("email", "sms") else None


@transaction.atomic
def unsubscribe(*, member: Member, channel: str) -> Member:
    field = "consent_email" if channel == "email" else "consent_sms"
    Member.objects.filter(pk=member.pk).update(**{field: False, "consent_updated_at": timezone.now()})
    member.refresh_from_db()
    return member
