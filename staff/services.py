"""Writes of the staff app: four-eyes approvals, audit records of what no trigger sees, TOTP devices.

The approvals call the existing services (`rewards.services.points_adjust`,
`campaigns.services.campaign_launch`) when granted, so the rules of those actions stay theirs."""

import pghistory
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.models import Campaign, GrantType
from campaigns.services import campaign_launch
from core.errors import DomainError
from members.models import Member
from rewards.services import points_adjust

from .audit import MEMBER_MANUAL_EVENTS
from .models import ApprovalKind, ApprovalRequest, ApprovalStatus
from .roles import APPROVE, is_store_scoped
from .selectors import staff_store_ids


@transaction.atomic
def approval_request(*, kind: str, summary: str, payload: dict, requested_by, store=None) -> ApprovalRequest:
    """Put an action in the approval queue; a second staff user decides it."""
    return ApprovalRequest.objects.create(
        kind=kind, summary=summary[:300], payload=payload, requested_by=requested_by, store=store
    )


def _lock_pending(request: ApprovalRequest, staff_user) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ApprovalStatus.PENDING:
        raise DomainError(_("This request was already decided."))
    if request.requested_by_id == staff_user.pk:
        raise DomainError(_("A request must be approved by another staff user than the one who asked."))
    if not staff_user.has_perm(APPROVE):
        raise DomainError(_("You may not decide approval requests."))
    if is_store_scoped(staff_user) and request.store_id not in staff_store_ids(staff_user):
        raise DomainError(_("This request concerns a store you do not manage."))
    return request


def _decide(request: ApprovalRequest, *, status: str, staff_user, outcome: str) -> ApprovalRequest:
    request.status, request.decided_by, request.decided_at = status, staff_user, timezone.now()
    request.outcome = outcome[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "outcome"])
    return request


@transaction.atomic
def approval_grant(*, request: ApprovalRequest, staff_user) -> ApprovalRequest:
    """Approve and run the action. If its own rules refuse it now (say the balance no longer
    covers a deduction), the request is closed as failed with the reason and nothing else moves."""
    request = _lock_pending(request, staff_user)
    try:
        with transaction.atomic():
            outcome = _APPLY[request.kind](request)
    except DomainError as exc:
        return _decide(request, status=ApprovalStatus.FAILED, staff_user=staff_user, outcome=exc.detail)
    return _decide(request, status=ApprovalStatus.GRANTED, staff_user=staff_user, outcome=outcome)


@transaction.atomic
def approval_reject(*, request: ApprovalRequest, staff_user, reason: str = "") -> ApprovalRequest:
    request = _lock_pending(request, staff_user)
    return _decide(request, status=ApprovalStatus.REJECTED, staff_user=staff_user, outcome=reason)


def _apply_points_adjust(request: ApprovalRequest) -> str:
    data = request.payload
    member = Member.objects.get(pk=data["member"])
    entry = points_adjust(member=member, points=data["points"], reason=data["reason"], staff_user=request.requested_by)
    return _("Ledger entry %(entry)s written.") % {"entry": entry.pk}


def _apply_campaign_launch(request: ApprovalRequest) -> str:
    campaign = Campaign.objects.get(pk=request.payload["campaign"])
    campaign_launch(campaign=campaign)
    return _("%(campaign)s is active.") % {"campaign": campaign}


_APPLY = {ApprovalKind.POINTS_ADJUST: _apply_points_adjust, ApprovalKind.CAMPAIGN_LAUNCH: _apply_campaign_launch}


def points_adjust_needs_approval(points: int) -> bool:
    return abs(points) > settings.STAFF_ADJUSTMENT_LIMIT


@transaction.atomic
def points_adjust_or_request(*, member: Member, points: int, reason: str, staff_user):
    """A points adjustment within STAFF_ADJUSTMENT_LIMIT happens now (a LedgerEntry); a larger
    one becomes an ApprovalRequest for the member's home store's manager (or an administrator)."""
    if not points_adjust_needs_approval(points):
        return points_adjust(member=member, points=points, reason=reason, staff_user=staff_user)
    if not (reason or "").strip():
        raise DomainError(_("A reason is required for a points adjustment."), errors={"reason": [_("Required.")]})
    summary = _("Adjust %(points)+d points of %(member)s: %(reason)s") % {
        "points": points,
        "member": member.card_number,
        "reason": reason,
    }
    return approval_request(
        kind=ApprovalKind.POINTS_ADJUST,
        summary=summary,
        payload={"member": member.pk, "points": points, "reason": reason},
        requested_by=staff_user,
        store=member.enrolled_store,
    )


def campaign_launch_needs_approval(campaign: Campaign) -> bool:
    """A campaign granting points without a budget, or with one above CAMPAIGN_APPROVAL_POINTS."""
    if campaign.grant_type != GrantType.POINTS:
        return False
    return campaign.max_points is None or campaign.max_points > settings.CAMPAIGN_APPROVAL_POINTS


@transaction.atomic
def campaign_launch_or_request(*, campaign: Campaign, staff_user):
    """Launch now (the Campaign) or, above the threshold, ask for approval (an ApprovalRequest)."""
    if not campaign_launch_needs_approval(campaign):
        return campaign_launch(campaign=campaign)
    pending = ApprovalRequest.objects.filter(
        kind=ApprovalKind.CAMPAIGN_LAUNCH, status=ApprovalStatus.PENDING, payload__campaign=campaign.pk
    )
    if pending.exists():
        raise DomainError(_("The launch of this campaign is already waiting for approval."))
    budget = campaign.max_points if campaign.max_points is not None else _("no limit")
    return approval_request(
        kind=ApprovalKind.CAMPAIGN_LAUNCH,
        summary=_("Launch %(campaign)s (points budget: %(budget)s)") % {"campaign": campaign, "budget": budget},
        payload={"campaign": campaign.pk},
        requested_by=staff_user,
    )


@transaction.atomic
def audit_record(*, actor, action: str, target: Member, note: str = "", changes: dict | None = None):
    """Record in the audit trail what no trigger sees: a member's data exported ("member.export")
    or an account closed ("member.closure"), with who did it (a staff user, or None when the
    member did it in the portal) and what it covered."""
    if action not in MEMBER_MANUAL_EVENTS:
        raise ValueError(f"Unknown audit action {action!r}; one of {MEMBER_MANUAL_EVENTS}")
    with pghistory.context(user=actor.pk if actor else None, note=note, changes=changes or {}):
        return pghistory.create_event(target, label=action)


@transaction.atomic
def totp_device_start(*, user) -> TOTPDevice:
    """A new, unconfirmed TOTP device for the user (replacing any unconfirmed one)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str) -> TOTPDevice:
    """Confirm a device with a code from the app; a wrong code changes nothing."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(token):
        raise DomainError(_("That code is not valid. Enter the current six-digit code."), errors={"token": []})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device
