"""A member's rights over their personal data (PIPL articles 44-47, GDPR alike): a copy of
everything held about them, and the closure of their account.

This app sits on top of every app that keeps rows about a member (feedback, campaigns, messaging,
the portal): the export and the erasure must see all of it in one place, or a table added later
would be silently forgotten. The records of exports and closures (`PrivacyRecord`) are members'
data and live in `members`.

Closing keeps the money-like history true: purchases, returns, ledger entries and lots stay (they
hold no personal data), the member row stays with its balance and aggregates, and only what
identifies or describes the person is erased. The phone, card number and referral code become
tombstones (`closed:<id>`, `x<id>`) that no normalised input can ever match, so the unique
constraints keep guarding live members while the real phone is free to enrol again.
"""

import csv
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import MemberBadge, StaffTask
from core.errors import DomainError
from events import services as events
from events.models import Event
from events.types import EventType
from feedback.models import (
    Answer,
    Complaint,
    ComplaintEvent,
    Feedback,
    FollowUp,
    LostCustomerInterview,
    SurveyInvitation,
)
from members.locking import member_lock
from members.models import Member, MemberStatus, PrivacyAction, PrivacyChannel, PrivacyRecord, Purchase, Return
from messaging.models import MessageStatus, OutboxMessage
from portal.models import ConsentChange, OneTimeCode, PortalAccount
from rewards.catalog import voucher_cancel
from rewards.models import LedgerEntry, Voucher, VoucherStatus
from staff.audit import MEMBER_CLOSED, MEMBER_EXPORTED
from staff.services import audit_record
from tiers.models import TierChange

logger = logging.getLogger(__name__)


class MemberClosed(DomainError):
    status_code = 409
    code = "member_closed"


# --- export ------------------------------------------------------------------------------------

MEMBER_FIELDS = (
    "public_id",
    "card_number",
    "phone",
    "email",
    "name",
    "birthday",
    "language",
    "interests",
    "enrolled_at",
    "enrolled_channel",
    "status",
    "stage",
    "points_balance",
    "lifetime_spend",
    "purchase_count",
    "first_purchase_at",
    "last_purchase_at",
    "referral_code",
)


@dataclass(frozen=True)
class MemberExport:
    filename: str
    content: bytes  # a zip: member.json with every section, and one CSV file per section


def member_data_sections(*, member: Member) -> dict[str, list[dict[str, Any]]]:
    """Everything held about the member, as named lists of flat rows (one CSV file each)."""
    profile = {field: getattr(member, field) for field in MEMBER_FIELDS}
    profile["tier"] = member.tier.name if member.tier_id else ""
    profile["tier_valid_until"] = member.tier_valid_until
    purchases = Purchase.objects.filter(member=member).select_related("store").order_by("occurred_at", "id")
    lines = []
    for purchase in purchases.prefetch_related("lines"):
        for line in purchase.lines.all():
            lines.append(
                {
                    "purchase": purchase.public_id,
                    "sku": line.sku,
                    "category": line.category,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "returned_quantity": line.returned_quantity,
                }
            )
    complaints = Complaint.objects.filter(member=member).order_by("created_at", "id")
    return {
        "profile": [profile],
        "consents": [
            {"channel": "email", "granted": member.consent_email, "changed_at": member.consent_updated_at},
            {"channel": "sms", "granted": member.consent_sms, "changed_at": member.consent_updated_at},
        ],
        "consent_changes": list(
            ConsentChange.objects.filter(member=member)
            .order_by("changed_at", "id")
            .values("channel", "granted", "changed_at")
        ),
        "purchases": [
            {
                "id": purchase.public_id,
                "store": purchase.store.name,
                "receipt_id": purchase.receipt_id,
                "channel": purchase.channel,
                "occurred_at": purchase.occurred_at,
                "currency": purchase.currency,
                "total": purchase.total,
                "returned_amount": purchase.returned_amount,
                "points_earned": purchase.points_earned,
                "points_reversed": purchase.points_reversed,
            }
            for purchase in purchases
        ],
        "purchase_lines": lines,
        "returns": list(
            Return.objects.filter(purchase__member=member)
            .order_by("created_at", "id")
            .values(
                "public_id",
                "purchase__public_id",
                "store__name",
                "receipt_id",
                "amount",
                "points_reversed",
                "created_at",
            )
        ),
        "ledger": list(
            LedgerEntry.objects.filter(member=member)
            .order_by("id")
            .values("created_at", "kind", "points", "balance_after", "expires_at", "reason")
        ),
        "vouchers": list(
            Voucher.objects.filter(member=member)
            .order_by("issued_at", "id")
            .values(
                "code", "reward__name", "points_cost", "status", "issued_at", "expires_at", "used_at", "cancelled_at"
            )
        ),
        "survey_answers": list(
            Answer.objects.filter(response__member=member)
            .order_by("response__submitted_at", "response_id", "question__position", "id")
            .values("response__survey__name", "response__submitted_at", "question__text", "number", "text")
        ),
        "feedback": list(
            Feedback.objects.filter(member=member)
            .order_by("created_at", "id")
            .values("created_at", "source", "nps", "comment")
        ),
        "complaints": list(
            complaints.values(
                "public_id", "created_at", "category", "severity", "status", "text", "resolution", "resolved_at"
            )
        ),
        "complaint_events": list(
            ComplaintEvent.objects.filter(complaint__in=complaints)
            .order_by("created_at", "id")
            .values("complaint__public_id", "created_at", "kind", "from_status", "to_status", "note")
        ),
        "badges": list(
            MemberBadge.objects.filter(member=member).order_by("awarded_at", "id").values("badge__name", "awarded_at")
        ),
        "tier_changes": list(
            TierChange.objects.filter(member=member)
            .order_by("created_at", "id")
            .values("from_tier__name", "to_tier__name", "reason", "created_at")
        ),
    }


def member_data_export(*, member: Member, channel: str, staff_user=None) -> MemberExport:
    """A zip of everything held about the member, JSON and CSV; the export itself is recorded."""
    if member.is_closed:
        raise MemberClosed("This account is closed; its personal data was erased.")
    sections = member_data_sections(member=member)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("member.json", json.dumps(sections, default=_plain, ensure_ascii=False, indent=2))
        for name, rows in sections.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    audit_record(actor=staff_user, action=MEMBER_EXPORTED, target=member, note=channel)
    PrivacyRecord.objects.create(
        member=member,
        action=PrivacyAction.EXPORT,
        channel=channel,
        staff_user=staff_user,
        details={name: len(rows) for name, rows in sections.items()},
        created_at=timezone.now(),
    )
    logger.info("member data exported", extra={"member_id": member.pk, "channel": channel})
    return MemberExport(
        filename=f"member-{member.card_number}-{timezone.localdate():%Y%m%d}.zip", content=buffer.getvalue()
    )


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)  # UUIDs


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(value) for key, value in row.items()})
    return ("\ufeff" + out.getvalue()).encode()  # the BOM makes spreadsheet programs read UTF-8 Chinese


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return _plain(value) if not isinstance(value, str | int | bool) else value


# --- closure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closure:
    member: Member
    vouchers_cancelled: int


@transaction.atomic
def member_close(*, member: Member, channel: str, staff_user=None) -> Closure:
    """Close the account at once: cancel the outstanding vouchers (points come back through the
    voucher service, so the ledger tells why), end every portal session, erase the personal data
    and free texts everywhere, and record the closure. Closing twice is refused."""
    member = member_lock(member)
    if member.is_closed:
        raise MemberClosed("This account is already closed.")
    now = timezone.now()
    outstanding = Voucher.objects.filter(member=member, status=VoucherStatus.ISSUED, expires_at__gt=now).order_by("pk")
    cancelled = 0
    for voucher in outstanding:
        voucher_cancel(voucher=voucher, staff_user=staff_user)
        cancelled += 1

    old_phone = member.phone
    Member.objects.filter(pk=member.pk).update(
        status=MemberStatus.CLOSED,
        closed_at=now,
        phone=f"closed:{member.pk}",
        card_number=f"closed:{member.pk}",
        referral_code=f"x{member.pk}",  # lower case: referral codes are matched upper-cased
        name="",
        email="",
        birthday=None,
        interests=[],
        consent_email=False,
        consent_sms=False,
        consent_updated_at=now,
        suspended_reason="",
        suspended_at=None,
        tier_pin_reason="",
    )
    PortalAccount.objects.filter(member=member).update(session_epoch=F("session_epoch") + 1)
    OneTimeCode.objects.filter(phone=old_phone).delete()
    Feedback.objects.filter(member=member).update(comment="")
    Answer.objects.filter(response__member=member).update(text="")
    complaints = Complaint.objects.filter(member=member)
    ComplaintEvent.objects.filter(complaint__in=complaints).update(note="")
    complaints.update(text="", resolution="")
    FollowUp.objects.filter(member=member).update(notes="", suggestions="")
    LostCustomerInterview.objects.filter(member=member).update(reason_detail="", competitor="", notes="")
    StaffTask.objects.filter(member=member).update(outcome="", notes="")
    SurveyInvitation.objects.filter(member=member, status="pending").delete()
    OutboxMessage.objects.filter(member=member, status=MessageStatus.PENDING).update(
        status=MessageStatus.SKIPPED, last_error="account closed"
    )
    OutboxMessage.objects.filter(member=member).update(subject="", body="")
    # The admin's history names the member as it was ("Name (card)"): keep the history, not the name.
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Member), object_id=str(member.pk)).update(
        object_repr=f"closed member {member.pk}"
    )
    # The audit trail's snapshots of the member hold the same personal data: erased alike, the
    # history of who changed what and when kept.
    audit_record(actor=staff_user, action=MEMBER_CLOSED, target=member, note=channel)
    apps.get_model("staff", "MemberAudit").objects.filter(pgh_obj=member).update(
        name="", phone=f"closed:{member.pk}", email="", birthday=None, interests=[]
    )
    _erase_event_copies(member)
    PrivacyRecord.objects.create(
        member=member,
        action=PrivacyAction.CLOSE,
        channel=channel,
        staff_user=staff_user,
        details={"vouchers_cancelled": cancelled},
        created_at=now,
    )
    events.record(EventType.MEMBER_CLOSED, member=member)
    logger.info("member account closed", extra={"member_id": member.pk, "channel": channel})
    return Closure(member=Member.objects.get(pk=member.pk), vouchers_cancelled=cancelled)


# What events carry of a member's personal data (the card number at enrolment, a suspension's
# reason, free text typed by staff): erased from the event rows and from the delivery log's
# copies of what was sent. A delivery still pending goes out without it.
PERSONAL_EVENT_DATA = {EventType.MEMBER_ENROLLED: ("card_number",), EventType.MEMBER_SUSPENDED: ("reason",)}


def _erase_event_copies(member: Member) -> None:
    held = Event.objects.filter(member_id=member.pk, type__in=list(PERSONAL_EVENT_DATA))
    for event in held.only("pk", "type", "payload"):
        for key in PERSONAL_EVENT_DATA[event.type]:
            event.payload.pop(key, None)
        event.save(update_fields=["payload"])
    # The webhooks app sits above the portal: its log is reached by name, not imported.
    apps.get_model("webhooks", "DeliveryAttempt").objects.filter(delivery__event__in=held).update(request_body="")


__all__ = ["Closure", "MemberClosed", "MemberExport", "PrivacyChannel", "member_close", "member_data_export"]
