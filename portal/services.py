"""What a member does in the portal: sign in with a one-time code, sign out everywhere, redeem a
reward and cancel a voucher (through the till's own services), and edit their profile.

Sign-in limits are counted on the `OneTimeCode` rows themselves rather than in cache counters:
the rows exist anyway (a code must be checked later), a count over the last hour is an exact
sliding window, it survives a cache flush or a Redis restart, and the demo's per-process cache
could not share counters between web workers. Two requests for the same phone or from the same
address are serialised with transaction-scoped advisory locks (always phone first, then address,
so they cannot wait on each other in a circle), so the fifth code really is the last one.
"""

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.errors import DomainError, NotFound, field_error
from events import services as events
from events.types import EventType
from members.identifiers import InvalidPhone, normalize_phone
from members.locking import member_lock
from members.models import Member, MemberStatus
from messaging.models import MessageChannel, OutboxMessage
from messaging.services import message_queue_many
from messaging.unsubscribe import consent_set
from rewards.catalog import reward_redeem, voucher_cancel
from rewards.models import Reward, Voucher, VoucherStatus

from .models import ConsentChange, OneTimeCode, PortalAccount, PortalRedeemToken

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES_PER_CODE = 5
MAX_CODES_PER_PHONE_PER_HOUR = 5
MAX_CODES_PER_ADDRESS_PER_HOUR = 20
_LOCK_PHONE, _LOCK_ADDRESS = 7301, 7302  # advisory lock namespaces of this module


class TooManyCodes(DomainError):
    status_code = 429
    code = "too_many_codes"


class InvalidCode(DomainError):
    code = "invalid_code"


@dataclass(frozen=True)
class CodeRequest:
    phone: str  # the address the code went to: a normalised phone, or a lower-cased email
    message_id: int | None  # the outbox message, when the address is a member's
    code: str  # shown on the page in DEBUG only; never stored in clear on our side


def code_hash(*, address: str, code: str) -> str:
    # Keyed: six digits are a million guesses, so a plain hash of a leaked row would fall at once.
    return salted_hmac("portal.code", f"{address}:{code}", algorithm="sha256").hexdigest()


def _advisory_lock(namespace: int, key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [namespace, key])


@transaction.atomic
def code_request(*, phone: str, client_ip: str | None) -> CodeRequest:
    """Create a sign-in code for a phone (any spelling) and queue it by SMS when the phone is a
    member's. The caller answers the same either way; only the limits refuse, for everyone alike."""
    try:
        phone = normalize_phone(phone)
    except InvalidPhone:
        raise field_error("phone", _("Enter a valid phone number.")) from None
    return _code_issue(address={"phone": phone}, client_ip=client_ip, channel=MessageChannel.SMS)


@transaction.atomic
def email_code_request(*, email: str, client_ip: str | None) -> CodeRequest:
    """The same as `code_request` for an email address, the code sent by email. An address shared
    by several members signs in none of them (we could not tell whose account to open)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise field_error("email", _("Enter a valid email address.")) from None
    return _code_issue(address={"email": email}, client_ip=client_ip, channel=MessageChannel.EMAIL)


def _code_issue(*, address: dict[str, str], client_ip: str | None, channel: str) -> CodeRequest:
    (value,) = address.values()
    _advisory_lock(_LOCK_PHONE, value)
    if client_ip:
        _advisory_lock(_LOCK_ADDRESS, client_ip)
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    too_many = OneTimeCode.objects.filter(**address, created_at__gt=hour_ago).count() >= MAX_CODES_PER_PHONE_PER_HOUR
    if client_ip and not too_many:
        recent = OneTimeCode.objects.filter(client_ip=client_ip, created_at__gt=hour_ago).count()
        too_many = recent >= MAX_CODES_PER_ADDRESS_PER_HOUR
    if too_many:
        raise TooManyCodes(_("Too many codes were asked for. Please try again in an hour."))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    found = list(Member.objects.filter(**address).exclude(status=MemberStatus.CLOSED)[:2])
    member = found[0] if len(found) == 1 else None
    row = OneTimeCode.objects.create(
        **address,
        member=member,
        code_hash=code_hash(address=value, code=code),
        client_ip=client_ip or None,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    message_id = _queue_code(member, row, code, channel) if member else None
    return CodeRequest(phone=value, message_id=message_id, code=code)


def _queue_code(member: Member, row: OneTimeCode, code: str, channel: str) -> int:
    with translation.override(member.language):
        subject = _("Sign-in code")
        body = _("%(code)s is your sign-in code. It expires in 5 minutes. Never share it.") % {"code": code}
    message_queue_many(
        [
            {
                "member": member,
                "kind": "portal_sign_in_code",
                "channel": channel,
                "language": member.language,
                "dedupe_key": f"portal_code:{row.pk}",
                "subject": subject,
                "body": body,
            }
        ]
    )
    message_id = OutboxMessage.objects.get(dedupe_key=f"portal_code:{row.pk}").pk
    # Sent by a task right after commit, not by the every-minute sweep: the member is waiting.
    from .tasks import send_sign_in_code

    transaction.on_commit(lambda: send_sign_in_code.delay(message_id))
    return message_id


def code_verify(*, code: str, phone: str = "", email: str = "") -> Member:
    """The member whose latest live code for this phone (or email) is `code`. The code is then
    used up. A wrong code costs one of its tries, kept even though the sign-in is refused."""
    address = {"phone": phone} if phone else {"email": email}
    member = _code_check(address=address, code=(code or "").strip())
    if member is None:
        raise field_error("code", _("This code is wrong or has expired. Ask for a new one."), code="invalid_code")
    return member


@transaction.atomic
def _code_check(*, address: dict[str, str], code: str) -> Member | None:
    (value,) = address.values()
    if not value:
        return None
    now = timezone.now()
    row = (
        OneTimeCode.objects.select_for_update()
        .filter(**address, used_at__isnull=True, expires_at__gt=now, attempts__lt=MAX_TRIES_PER_CODE)
        .order_by("-created_at", "-id")
        .first()
    )
    latest = OneTimeCode.objects.filter(**address).order_by("-created_at", "-id").values_list("pk", flat=True).first()
    if row is None or row.pk != latest:
        return None  # only the newest code counts: asking for a new one retires the old
    if not (code.isdigit() and hmac.compare_digest(row.code_hash, code_hash(address=value, code=code))):
        OneTimeCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        return None
    OneTimeCode.objects.filter(pk=row.pk).update(used_at=now)
    if row.member_id is None:
        return None
    account, _created = PortalAccount.objects.get_or_create(member_id=row.member_id)
    PortalAccount.objects.filter(pk=account.pk).update(last_sign_in_at=now)
    Member.objects.filter(pk=row.member_id).update(last_engaged_at=now)
    return Member.objects.select_related("portal_account").get(pk=row.member_id)


@transaction.atomic
def sessions_end_all(*, member: Member) -> int:
    """End every portal session of the member ("sign out everywhere"); returns the new epoch."""
    account, _created = PortalAccount.objects.get_or_create(member=member)
    PortalAccount.objects.filter(pk=account.pk).update(session_epoch=F("session_epoch") + 1)
    return PortalAccount.objects.values_list("session_epoch", flat=True).get(pk=account.pk)


@transaction.atomic
def portal_reward_redeem(*, member: Member, reward_id: int, token: uuid.UUID) -> Voucher:
    """Redeem a catalog reward for the member through the till's own service. The form's token
    makes a double tap return the first voucher instead of paying twice."""
    member = member_lock(member)  # serialises two taps of the same member before the token check
    done = PortalRedeemToken.objects.filter(token=token).select_related("voucher").first()
    if done is not None:
        if done.member_id != member.pk:
            raise NotFound(_("No such reward."))
        return done.voucher
    reward = Reward.objects.filter(pk=reward_id).first()
    if reward is None:
        raise NotFound(_("No such reward."))
    voucher = reward_redeem(reward=reward, member=member)
    try:
        with transaction.atomic():
            PortalRedeemToken.objects.create(token=token, member=member, voucher=voucher)
    except IntegrityError:
        raise NotFound(_("No such reward.")) from None  # a token taken by another member: forged
    return voucher


def voucher_cancellable(voucher: Voucher) -> bool:
    """Members may cancel an unused, unexpired voucher they paid points for (the points come
    back); a campaign's gift cost nothing, so there is nothing to give back."""
    return voucher.status == VoucherStatus.ISSUED and voucher.points_cost > 0 and voucher.expires_at > timezone.now()


@transaction.atomic
def portal_voucher_cancel(*, member: Member, voucher_id: uuid.UUID) -> Voucher:
    voucher = Voucher.objects.filter(public_id=voucher_id, member=member).first()
    if voucher is None:
        raise NotFound(_("No such voucher."))
    if not voucher_cancellable(voucher):
        raise DomainError(_("This voucher cannot be cancelled."), code="not_cancellable")
    return voucher_cancel(voucher=voucher)


@transaction.atomic
def profile_update(*, member: Member, name: str, email: str, language: str, birthday: date | None = None) -> Member:
    """Name, email and message language; the birthday only while none is set (birthday rewards
    depend on it, so it is set once and then changed by staff only)."""
    member = member_lock(member)
    if language not in dict(settings.LANGUAGES):
        raise field_error("language", _("Choose one of the languages offered."))
    fields = {"name": name.strip(), "email": email.strip().lower(), "language": language}
    if birthday is not None and member.birthday is None:
        if not date(1900, 1, 1) <= birthday <= timezone.localdate():
            raise field_error("birthday", _("Enter a birthday between 1900 and today."))
        fields["birthday"] = birthday
    changed = sorted(field for field, value in fields.items() if getattr(member, field) != value)
    Member.objects.filter(pk=member.pk).update(**fields)
    for field, value in fields.items():
        setattr(member, field, value)
    if changed:
        events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": changed})
    return member


@transaction.atomic
def consent_change(*, member: Member, channel: str, granted: bool) -> bool:
    """Give or withdraw marketing consent on one channel, recording when. Asking for the state the
    member is already in records nothing; returns whether anything changed."""
    before = getattr(member_lock(member), f"consent_{channel}")
    if before == granted:
        return False
    member = consent_set(member=member, channel=channel, consent=granted)
    ConsentChange.objects.create(member=member, channel=channel, granted=granted, changed_at=member.consent_updated_at)
    return True


def sign_in_codes_purge(*, now=None) -> int:
    """Delete sign-in codes older than a day: the limits look back one hour and a code lives five
    minutes, so older rows only keep phone numbers and addresses we no longer need."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    deleted, _by_model = OneTimeCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted
