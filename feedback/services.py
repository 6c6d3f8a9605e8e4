"""Recording what members tell us: feedback from the till, follow-up visits and calls, and
interviews with lost customers."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import DomainError, field_error
from members.journey import member_stage_refresh
from members.locking import member_lock
from members.models import Member

from .models import MAX_COMMENT, Feedback, FeedbackSource, FollowUp, LostCustomerInterview


def member_engaged(*, member: Member, at: datetime | None = None) -> None:
    """The member answered a survey or gave feedback: engagement counts towards the target stage.
    Called inside a transaction."""
    member = member_lock(member)
    Member.objects.filter(pk=member.pk).update(last_engaged_at=at or timezone.now())
    member.last_engaged_at = at or timezone.now()
    member_stage_refresh(member=member)


@transaction.atomic
def feedback_record(
    *,
    member: Member | None = None,
    store=None,
    nps: int | None = None,
    comment: str = "",
    source: str = FeedbackSource.POS,
    survey_response=None,
) -> Feedback:
    """Store a would-recommend score and/or a comment. Comments are kept as typed and escaped
    wherever they are shown."""
    comment = (comment or "").strip()
    if nps is None and not comment:
        raise DomainError(
            gettext("Give an NPS score, a comment, or both."), errors={"nps": [gettext("Give nps or comment.")]}
        )
    if nps is not None and not 0 <= nps <= 10:
        raise field_error("nps", gettext("NPS is a whole number from 0 to 10."))
    if len(comment) > MAX_COMMENT:
        raise field_error("comment", gettext("At most %(count)d characters.") % {"count": MAX_COMMENT})
    feedback = Feedback.objects.create(
        member=member, store=store, nps=nps, comment=comment, source=source, survey_response=survey_response
    )
    if member is not None:
        member_engaged(member=member)
    return feedback


@transaction.atomic
def follow_up_record(
    *, member: Member, kind: str, staff_user, happened_at: datetime, outcome: str, **details
) -> FollowUp:
    return FollowUp.objects.create(
        member=member, kind=kind, staff_user=staff_user, happened_at=happened_at, outcome=outcome, **details
    )


@transaction.atomic
def lost_customer_interview_record(
    *, member: Member, staff_user, happened_at: datetime, reason: str, can_win_back: str, **details
) -> LostCustomerInterview:
    """Why a lapsed member left. Win-back campaigns leave out members who said they cannot be won back."""
    return LostCustomerInterview.objects.create(
        member=member,
        staff_user=staff_user,
        happened_at=happened_at,
        reason=reason,
        can_win_back=can_win_back,
        **details,
    )
