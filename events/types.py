"""The event types, their schema version and an example `data` for each (the OpenAPI schema
shows them as webhooks). Adding a type: a member here, an example, one `record` call where the
change happens (CONTRIBUTING.md, "How to add a webhook event")."""

import uuid
from typing import NamedTuple

from django.db import models
from django.utils.translation import gettext_lazy as _

SCHEMA_VERSION = 1


class MemberRef(NamedTuple):
    """A member as events need one (batch jobs that hold ids, not rows)."""

    pk: int
    public_id: uuid.UUID


MEMBER = "5b0f3c1e-8d1a-4c55-9f43-6f0d2a9e7b10"


class EventType(models.TextChoices):
    MEMBER_ENROLLED = "member.enrolled", _("Member enrolled")
    MEMBER_UPDATED = "member.updated", _("Member updated")
    MEMBER_SUSPENDED = "member.suspended", _("Member suspended")
    MEMBER_REINSTATED = "member.reinstated", _("Member reinstated")
    MEMBER_CLOSED = "member.closed", _("Member closed")
    PURCHASE_RECORDED = "purchase.recorded", _("Purchase recorded")
    PURCHASE_RETURNED = "purchase.returned", _("Purchase returned")
    POINTS_EARNED = "points.earned", _("Points earned")
    POINTS_REDEEMED = "points.redeemed", _("Points redeemed")
    POINTS_EXPIRED = "points.expired", _("Points expired")
    POINTS_ADJUSTED = "points.adjusted", _("Points adjusted")
    POINTS_EXPIRING_SOON = "points.expiring_soon", _("Points expiring soon")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    TIER_DOWNGRADE_ANNOUNCED = "tier.downgrade_announced", _("Tier downgrade announced")
    STAGE_CHANGED = "stage.changed", _("Stage changed")
    LAPSE_LAPSED = "lapse.lapsed", _("Member lapsed")
    LAPSE_WON_BACK = "lapse.won_back", _("Member won back")
    VOUCHER_ISSUED = "voucher.issued", _("Voucher issued")
    VOUCHER_CONSUMED = "voucher.consumed", _("Voucher consumed")
    VOUCHER_CANCELLED = "voucher.cancelled", _("Voucher cancelled")
    BADGE_AWARDED = "badge.awarded", _("Badge awarded")
    COMPLAINT_FILED = "complaint.filed", _("Complaint filed")
    COMPLAINT_STATUS_CHANGED = "complaint.status_changed", _("Complaint status changed")
    COMPLAINT_ESCALATED = "complaint.escalated", _("Complaint escalated")
    SURVEY_ANSWERED = "survey.answered", _("Survey answered")
    # Not a domain event: sent only to the endpoint whose test button was pressed.
    WEBHOOK_TEST = "webhook.test", _("Test event")


# What each type's `data` holds (every member event also carries `member_id`, the member's public id).
EXAMPLES: dict[str, dict] = {
    EventType.MEMBER_ENROLLED: {"member_id": MEMBER, "card_number": "8800000012345", "channel": "store"},
    EventType.MEMBER_UPDATED: {"member_id": MEMBER, "fields": ["email", "name"]},
    EventType.MEMBER_SUSPENDED: {"member_id": MEMBER, "reason": "Abusive returns"},
    EventType.MEMBER_REINSTATED: {"member_id": MEMBER},
    EventType.MEMBER_CLOSED: {"member_id": MEMBER},
    EventType.PURCHASE_RECORDED: {
        "member_id": MEMBER,
        "purchase_id": "0c6b7f7e-3e0b-4a0e-9d8e-2f1c6a1b9d22",
        "store": "SH001",
        "receipt_id": "R-1001",
        "total": "128.00",
        "currency": "CNY",
        "points_earned": 128,
    },
    EventType.PURCHASE_RETURNED: {
        "member_id": MEMBER,
        "purchase_id": "0c6b7f7e-3e0b-4a0e-9d8e-2f1c6a1b9d22",
        "store": "SH002",
        "receipt_id": "RT-77",
        "amount": "28.00",
        "points_reversed": 28,
    },
    # `kind` is the ledger entry's: earn, bonus, redeem, expire, adjust, reverse. Debits are negative.
    EventType.POINTS_EARNED: {"member_id": MEMBER, "points": 128, "balance": 1628, "kind": "earn"},
    EventType.POINTS_REDEEMED: {"member_id": MEMBER, "points": -500, "balance": 1128, "kind": "redeem"},
    EventType.POINTS_EXPIRED: {"member_id": MEMBER, "points": -40, "balance": 1088, "kind": "expire"},
    EventType.POINTS_ADJUSTED: {"member_id": MEMBER, "points": -10, "balance": 1078, "kind": "adjust"},
    EventType.POINTS_EXPIRING_SOON: {"member_id": MEMBER, "points": 300, "expires_at": "2027-01-01T00:00:00+08:00"},
    # `reason`: enrol, upgrade, downgrade, renew or pin (the tier change's kind).
    EventType.TIER_CHANGED: {"member_id": MEMBER, "from": "Silver", "to": "Gold", "reason": "upgrade"},
    EventType.TIER_DOWNGRADE_ANNOUNCED: {
        "member_id": MEMBER,
        "from": "Gold",
        "to": "Silver",
        "valid_until": "2027-03-01T00:00:00+08:00",
    },
    EventType.STAGE_CHANGED: {"member_id": MEMBER, "from": "first_time", "to": "repeat"},
    EventType.LAPSE_LAPSED: {"member_id": MEMBER, "last_purchase_at": "2026-05-02T11:20:00+08:00"},
    EventType.LAPSE_WON_BACK: {"member_id": MEMBER, "last_purchase_at": "2027-03-01T10:30:00+08:00"},
    EventType.VOUCHER_ISSUED: {"member_id": MEMBER, "code": "V7K2M9Q4", "reward": "Coffee", "points": 300},
    EventType.VOUCHER_CONSUMED: {"member_id": MEMBER, "code": "V7K2M9Q4", "reward": "Coffee", "store": "SH001"},
    EventType.VOUCHER_CANCELLED: {"member_id": MEMBER, "code": "V7K2M9Q4", "reward": "Coffee", "points": 300},
    EventType.BADGE_AWARDED: {"member_id": MEMBER, "badge": "Explorer", "campaign": 12},
    EventType.COMPLAINT_FILED: {
        "member_id": MEMBER,
        "complaint_id": 42,
        "category": "service",
        "severity": "medium",
        "channel": "store",
    },
    EventType.COMPLAINT_STATUS_CHANGED: {"member_id": MEMBER, "complaint_id": 42, "from": "open", "to": "resolved"},
    EventType.COMPLAINT_ESCALATED: {"member_id": MEMBER, "complaint_id": 42, "missed": "response"},
    EventType.SURVEY_ANSWERED: {"member_id": MEMBER, "survey": "After purchase", "response_id": 9, "nps": 9},
    EventType.WEBHOOK_TEST: {"message": "A test event from the back office."},
}

# What an endpoint may subscribe to (the test event goes only where it was asked for).
SUBSCRIBABLE = [value for value in EventType.values if value != EventType.WEBHOOK_TEST]
