"""Survey invitations after purchases, and answers through a signed link.

Invitations are made by a batch job over recent purchases: a deterministic sample (by purchase id)
of the configured share, at most one invitation per member in `min_days_between_invitations`, only
to members who agreed to marketing on some channel. Each invitation is an outbox message carrying
a signed link that works once and expires.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from core.chunks import ChunkResult
from core.errors import DomainError, field_error
from core.sampling import in_sample
from events import services as events
from events.types import EventType
from members.locking import members_locked
from members.models import Member, MemberStatus, Purchase
from messaging.services import message_queue_many

from .models import (
    Answer,
    FeedbackSource,
    InvitationStatus,
    Question,
    QuestionKind,
    Survey,
    SurveyInvitation,
    SurveyResponse,
)
from .services import feedback_record

SIGNING_SALT = "feedback.survey-invitation"
# Without a previous run, look back this far for purchases to sample.
FIRST_RUN_LOOKBACK = timedelta(days=1)


class InvitationUnusable(DomainError):
    status_code = 410
    code = "invitation_unusable"


def post_purchase_survey() -> Survey | None:
    return Survey.objects.filter(invite_after_purchase=True, active=True).first()


@transaction.atomic
def survey_invitations_create(
    *, as_of: datetime, member_id_from: int, member_id_to: int, since: datetime | None = None, run=None
) -> ChunkResult:
    """Invite a sample of the members in [from, to) who bought since the last run."""
    survey = post_purchase_survey()
    if survey is None or survey.sample_percent == 0:
        return ChunkResult(0, 0)
    recently_invited = SurveyInvitation.objects.filter(
        member=OuterRef("member"), created_at__gt=as_of - timedelta(days=survey.min_days_between_invitations)
    )
    purchases = (
        Purchase.objects.filter(
            member_id__gte=member_id_from,
            member_id__lt=member_id_to,
            created_at__gt=since or as_of - FIRST_RUN_LOOKBACK,
            created_at__lte=as_of,
            survey_invitation__isnull=True,
            member__status=MemberStatus.ACTIVE,
        )
        .filter(Q(member__consent_email=True) | Q(member__consent_sms=True))
        .exclude(Exists(recently_invited))
        .order_by("member_id", "-created_at")
        .values_list("pk", "member_id")
    )
    chosen: dict[int, int] = {}
    for purchase_id, member_id in purchases:
        if member_id not in chosen and in_sample(survey.sample_percent, "survey", survey.pk, purchase_id):
            chosen[member_id] = purchase_id
    if not chosen:
        return ChunkResult(0, 0)
    # Lock the members so an overlapping run cannot invite them a second time.
    members = {m.pk: m for m in members_locked(Member.objects.filter(pk__in=chosen))}
    invited_meanwhile = set(
        SurveyInvitation.objects.filter(
            member_id__in=chosen, created_at__gt=as_of - timedelta(days=survey.min_days_between_invitations)
        ).values_list("member_id", flat=True)
    )
    expires_at = as_of + timedelta(days=survey.link_valid_days)
    fresh = [
        SurveyInvitation(survey=survey, member_id=member_id, purchase_id=purchase_id, expires_at=expires_at)
        for member_id, purchase_id in chosen.items()
        if member_id not in invited_meanwhile
    ]
    invitations = SurveyInvitation.objects.bulk_create(fresh)
    message_queue_many([_invitation_message(inv, members[inv.member_id]) for inv in invitations])
    return ChunkResult(len(chosen), len(invitations))


def invitation_token(invitation: SurveyInvitation) -> str:
    return signing.dumps(str(invitation.public_id), salt=SIGNING_SALT)


def invitation_url(invitation: SurveyInvitation) -> str:
    return settings.PUBLIC_BASE_URL + reverse("survey-answer", args=[invitation_token(invitation)])


def _invitation_message(invitation: SurveyInvitation, member: Member) -> dict:
    channel = "email" if member.consent_email and member.email else "sms"
    with translation.override(member.language):
        subject = gettext("%(survey)s: two minutes for us?") % {"survey": invitation.survey.name_in(member.language)}
        body = gettext("Thank you for your purchase. Tell us how we did: %(link)s") % {
            "link": invitation_url(invitation)
        }
    return {
        "member": member,
        "kind": "survey_invitation",
        "marketing": True,
        "channel": channel,
        "language": member.language,
        "dedupe_key": f"survey-invitation:{invitation.pk}",
        "subject": subject,
        "body": body,
    }


def invitation_from_token(token: str) -> SurveyInvitation:
    """The invitation a link points to, if the link is genuine, unused and not expired."""
    try:
        public_id = uuid.UUID(signing.loads(token, salt=SIGNING_SALT))
    except (signing.BadSignature, ValueError, TypeError):
        raise InvitationUnusable(gettext("This link is not valid.")) from None
    invitation = SurveyInvitation.objects.select_related("survey", "member").filter(public_id=public_id).first()
    if invitation is None:
        raise InvitationUnusable(gettext("This link is not valid."))
    _require_usable(invitation)
    return invitation


def _require_usable(invitation: SurveyInvitation) -> None:
    if invitation.status == InvitationStatus.ANSWERED:
        raise InvitationUnusable(gettext("This survey was already answered. Thank you!"))
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(gettext("This survey link has expired."))


@dataclass(frozen=True)
class CleanAnswer:
    question: Question
    number: int | None = None
    text: str = ""


def _clean(question: Question, raw) -> CleanAnswer | None:
    raw = "" if raw is None else str(raw).strip()
    if "\x00" in raw:
        # A browser never sends one; PostgreSQL would refuse to store it.
        raise field_error(question.key, _("Remove the null character from this answer."))
    if raw == "":
        if question.required:
            raise field_error(question.key, gettext("Please answer this question."))
        return None
    if question.kind == QuestionKind.TEXT:
        return CleanAnswer(question, text=raw[:5000])
    if question.kind == QuestionKind.CHOICE:
        if raw not in question.choices:
            raise field_error(question.key, gettext("Choose one of the options."))
        return CleanAnswer(question, text=raw)
    low, high = {QuestionKind.NPS: (0, 10), QuestionKind.SCALE: (1, 5), QuestionKind.YES_NO: (0, 1)}[question.kind]
    # ASCII only: str.isdigit() also accepts digits such as '²' that int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise field_error(question.key, f"Choose a number from {low} to {high}.")
    return CleanAnswer(question, number=int(raw))


@transaction.atomic
def survey_answer(*, survey: Survey, answers: dict, member: Member | None = None, invitation=None) -> SurveyResponse:
    """Store answers (by question key). Through an invitation it works once; the NPS and the free
    text also become a Feedback row, which feeds the advocate stage and the loyalty grid."""
    if invitation is not None:
        invitation = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
        _require_usable(invitation)
        member = invitation.member
    cleaned = [c for q in survey.questions.all() if (c := _clean(q, answers.get(q.key))) is not None]
    response = SurveyResponse.objects.create(survey=survey, member=member, invitation=invitation)
    Answer.objects.bulk_create(
        Answer(response=response, question=c.question, number=c.number, text=c.text) for c in cleaned
    )
    if invitation is not None:
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            status=InvitationStatus.ANSWERED, answered_at=timezone.now()
        )
    nps = next((c.number for c in cleaned if c.question.kind == QuestionKind.NPS), None)
    comment = "\n".join(c.text for c in cleaned if c.question.kind == QuestionKind.TEXT)
    if nps is not None or comment:
        feedback_record(member=member, nps=nps, comment=comment, source=FeedbackSource.SURVEY, survey_response=response)
    events.record(
        EventType.SURVEY_ANSWERED, member=member, data={"survey": survey.name, "response_id": response.pk, "nps": nps}
    )
    return response
