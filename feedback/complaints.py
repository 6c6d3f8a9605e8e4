"""The complaint workflow: filing with response targets, status changes, ownership,
compensation through the ledger, and escalation once per missed target."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.admin_display import local_time
from core.errors import Conflict, DomainError, field_error
from events import services as events
from events.types import EventType
from members.locking import member_lock
from members.models import Member
from messaging.services import messages_queue_for_staff
from rewards.ledger import Actor
from rewards.services import points_bonus

from .models import (
    MAX_COMPLAINT_TEXT,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
    ResponseTarget,
    Severity,
)

MANAGERS_GROUP = "Complaint managers"
OPEN_STATES = [ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS, ComplaintStatus.WAITING_ON_MEMBER]
ALLOWED = {
    ComplaintStatus.OPEN: {ComplaintStatus.IN_PROGRESS, ComplaintStatus.WAITING_ON_MEMBER, ComplaintStatus.RESOLVED},
    ComplaintStatus.IN_PROGRESS: {ComplaintStatus.WAITING_ON_MEMBER, ComplaintStatus.RESOLVED},
    ComplaintStatus.WAITING_ON_MEMBER: {ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED},
    ComplaintStatus.RESOLVED: {ComplaintStatus.CLOSED, ComplaintStatus.IN_PROGRESS},
    ComplaintStatus.CLOSED: set(),
}


class ComplaintClosed(Conflict):
    code = "complaint_closed"


def _targets(severity: str) -> ResponseTarget:
    target = ResponseTarget.objects.filter(severity=severity).first()
    return target or ResponseTarget(severity=severity, first_response_hours=24, resolution_hours=72)


@transaction.atomic
def complaint_file(
    *,
    text: str,
    category: str,
    severity: str = Severity.MEDIUM,
    member: Member | None = None,
    store=None,
    channel: str = "store",
    actor=None,
) -> Complaint:
    """Open a complaint with its first-response and resolution deadlines from the targets."""
    text = (text or "").strip()
    if not text:
        raise field_error("text", gettext("Describe the complaint."))
    if len(text) > MAX_COMPLAINT_TEXT:
        raise field_error("text", gettext("At most %(count)d characters.") % {"count": MAX_COMPLAINT_TEXT})
    now, target = timezone.now(), _targets(severity)
    complaint = Complaint.objects.create(
        member=member,
        store=store,
        channel=channel,
        category=category,
        severity=severity,
        text=text,
        first_response_due_at=now + timedelta(hours=target.first_response_hours),
        resolution_due_at=now + timedelta(hours=target.resolution_hours),
    )
    ComplaintEvent.objects.create(complaint=complaint, kind=EventKind.CREATED, to_status=complaint.status, actor=actor)
    events.record(
        EventType.COMPLAINT_FILED,
        member=member,
        data={"complaint_id": complaint.pk, "category": category, "severity": severity, "channel": channel},
    )
    return complaint


def _locked(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


@transaction.atomic
def complaint_assign(*, complaint: Complaint, owner, actor) -> Complaint:
    complaint = _locked(complaint)
    if complaint.status == ComplaintStatus.CLOSED:
        raise ComplaintClosed(gettext("This complaint is closed."))
    complaint.owner = owner
    complaint.save(update_fields=["owner", "updated_at"])
    ComplaintEvent.objects.create(complaint=complaint, kind=EventKind.ASSIGNED, note=f"Owner: {owner}", actor=actor)
    return complaint


@transaction.atomic
def complaint_change_status(
    *, complaint: Complaint, status: str, actor, note: str = "", resolution: str = ""
) -> Complaint:
    """Move a complaint along its workflow. Leaving "open" is the first response; resolving needs
    a resolution text."""
    complaint = _locked(complaint)
    if status not in ALLOWED[complaint.status]:
        raise field_error(
            "status",
            gettext("A complaint that is %(current)s cannot become %(new)s.")
            % {"current": complaint.get_status_display(), "new": status},
        )
    now, previous = timezone.now(), complaint.status
    if status == ComplaintStatus.RESOLVED:
        resolution = (resolution or complaint.resolution).strip()
        if not resolution:
            raise field_error("resolution", gettext("Say how the complaint was resolved."))
        complaint.resolution, complaint.resolved_at = resolution, now
    if status == ComplaintStatus.CLOSED:
        complaint.closed_at = now
    if complaint.first_responded_at is None:
        complaint.first_responded_at = now
    complaint.status = status
    complaint.save()
    ComplaintEvent.objects.create(
        complaint=complaint, kind=EventKind.STATUS, from_status=previous, to_status=status, note=note, actor=actor
    )
    events.record(
        EventType.COMPLAINT_STATUS_CHANGED,
        member=complaint.member,
        data={"complaint_id": complaint.pk, "from": previous, "to": status},
    )
    return complaint


@transaction.atomic
def complaint_note(*, complaint: Complaint, note: str, actor) -> ComplaintEvent:
    note = (note or "").strip()
    if not note:
        raise field_error("note", gettext("Write a note."))
    return ComplaintEvent.objects.create(complaint=complaint, kind=EventKind.NOTE, note=note, actor=actor)


@transaction.atomic
def complaint_compensate(*, complaint: Complaint, points: int, actor) -> Complaint:
    """Compensate the member in points, written through the ledger like any other points. The
    member is locked before the complaint (the lock order of `members.locking`)."""
    if complaint.member_id is not None:
        member_lock(complaint.member_id)
    complaint = _locked(complaint)
    if complaint.member_id is None:
        raise DomainError(
            gettext("This complaint has no member to compensate."), errors={"points": [gettext("No member.")]}
        )
    if complaint.status == ComplaintStatus.CLOSED:
        raise ComplaintClosed(gettext("This complaint is closed."))
    points_bonus(
        member=complaint.member,
        points=points,
        reason=f"Compensation for complaint #{complaint.pk}",
        actor=Actor(staff_user=actor),
    )
    complaint.compensation_points += points
    complaint.save(update_fields=["compensation_points", "updated_at"])
    ComplaintEvent.objects.create(complaint=complaint, kind=EventKind.COMPENSATED, note=f"{points} points", actor=actor)
    return complaint


def complaint_managers():
    managers = get_user_model().objects.filter(groups__name=MANAGERS_GROUP, is_active=True)
    return managers if managers.exists() else get_user_model().objects.filter(is_superuser=True, is_active=True)


@transaction.atomic
def complaints_escalate(*, as_of: datetime | None = None) -> int:
    """Escalate every complaint past a target to the managers, once per missed target. The
    conditional UPDATE claims each breach, so a rerun (or a second worker) escalates nothing more."""
    as_of = as_of or timezone.now()
    breaches = [
        (
            "response",
            Q(first_responded_at__isnull=True, first_response_due_at__lt=as_of, response_escalated_at__isnull=True),
        ),
        ("resolution", Q(resolved_at__isnull=True, resolution_due_at__lt=as_of, resolution_escalated_at__isnull=True)),
    ]
    escalated = 0
    for breach, overdue in breaches:
        due = Complaint.objects.select_for_update(skip_locked=True).filter(overdue, status__in=OPEN_STATES)
        for complaint in due.order_by("pk"):
            claimed = Complaint.objects.filter(overdue, pk=complaint.pk).update(**{f"{breach}_escalated_at": as_of})
            if claimed:
                _announce_breach(complaint, breach)
                escalated += 1
    return escalated


def _announce_breach(complaint: Complaint, breach: str) -> None:
    missed = {"response": gettext("Missed the response target"), "resolution": gettext("Missed the resolution target")}
    ComplaintEvent.objects.create(complaint=complaint, kind=EventKind.ESCALATED, note=missed[breach])
    events.record(
        EventType.COMPLAINT_ESCALATED, member=complaint.member, data={"complaint_id": complaint.pk, "missed": breach}
    )
    # Staff have no language of their own: the message is in LANGUAGE_CODE (the task's language).
    subject = {
        "response": gettext("Complaint #%(number)s missed its response target"),
        "resolution": gettext("Complaint #%(number)s missed its resolution target"),
    }[breach] % {"number": complaint.pk}
    body = gettext("%(category)s complaint (%(severity)s), filed %(filed)s, status %(status)s, owner %(owner)s.") % {
        "category": complaint.get_category_display(),
        "severity": complaint.severity,
        "filed": local_time(complaint.created_at),
        "status": complaint.get_status_display(),
        "owner": complaint.owner or gettext("nobody"),
    }
    messages_queue_for_staff(
        users=complaint_managers(),
        kind="complaint_escalation",
        dedupe_prefix=f"complaint-escalation:{complaint.pk}:{breach}",
        subject=subject,
        body=body,
    )


def managers_group() -> Group:
    group, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    return group
