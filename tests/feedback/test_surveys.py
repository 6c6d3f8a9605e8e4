from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from feedback.models import Feedback, InvitationStatus, Survey, SurveyInvitation, SurveyResponse
from feedback.surveys import SIGNING_SALT, invitation_token, survey_invitations_create
from members.models import Member
from members.services import member_suspend
from messaging.models import OutboxMessage
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return Survey.objects.get(code="loyalty-indicators")


def invite(members, as_of=None, since=None):
    ids = [m.pk for m in members]
    return survey_invitations_create(
        as_of=as_of or timezone.now(), member_id_from=min(ids), member_id_to=max(ids) + 1, since=since
    )


def test_the_default_loyalty_survey_ships_with_the_indicators(survey):
    keys = set(survey.questions.values_list("key", flat=True))

    assert {"would-buy-again", "would-recommend", "trusts-us", "answered-in-time"} <= keys
    assert {"importance-price", "satisfaction-price", "competitor-price"} <= keys


def test_a_sample_of_buyers_is_invited(store, survey):
    members = [MemberFactory(consent_email=True) for _ in range(200)]
    for member in members:
        buy(member, store, "20.00")

    result = invite(members)

    assert result.changed == SurveyInvitation.objects.count()
    assert 8 <= result.changed <= 36  # 10% of 200, give or take the hash's spread
    assert OutboxMessage.objects.filter(kind="survey_invitation", marketing=True).count() == result.changed


def test_the_sample_is_exactly_the_configured_share_at_100_percent(store, survey):
    Survey.objects.filter(pk=survey.pk).update(sample_percent=100)
    members = [MemberFactory(consent_sms=True) for _ in range(5)]
    for member in members:
        buy(member, store, "20.00")

    assert invite(members).changed == 5


@pytest.mark.usefixtures("frozen_dates")
def test_members_are_invited_at_most_once_in_90_days(store, survey, member):
    Survey.objects.filter(pk=survey.pk).update(sample_percent=100)
    Member.objects.filter(pk=member.pk).update(consent_email=True)
    buy(member, store, "20.00")
    invite([member])
    buy(member, store, "20.00")

    assert invite([member], as_of=timezone.now() + timedelta(days=30)).changed == 0
    assert (
        invite([member], as_of=timezone.now() + timedelta(days=91), since=timezone.now() - timedelta(days=1)).changed
        == 1
    )


def test_members_without_consent_or_suspended_are_not_invited(store, survey):
    Survey.objects.filter(pk=survey.pk).update(sample_percent=100)
    no_consent, suspended = MemberFactory(), MemberFactory(consent_email=True)
    member_suspend(member=suspended, reason="fraud")
    for member in (no_consent, suspended):
        buy(member, store, "20.00")

    assert invite([no_consent, suspended]).changed == 0


@pytest.mark.usefixtures("frozen_dates")
def test_rerunning_the_invitation_job_invites_nobody_twice(store, survey, member):
    Survey.objects.filter(pk=survey.pk).update(sample_percent=100)
    Member.objects.filter(pk=member.pk).update(consent_email=True)
    buy(member, store, "20.00")
    now = timezone.now()

    invite([member], as_of=now)
    invite([member], as_of=now)

    assert SurveyInvitation.objects.count() == 1 and OutboxMessage.objects.count() == 1


@pytest.fixture
def invitation(survey, member):
    """An invitation to an English-reading member: the page speaks the member's language
    (tests/test_languages.py shows it in Chinese)."""
    Member.objects.filter(pk=member.pk).update(language="en")
    member.refresh_from_db()
    return SurveyInvitation.objects.create(survey=survey, member=member, expires_at=timezone.now() + timedelta(days=14))


def answer_url(invitation):
    return f"/s/{invitation_token(invitation)}/"


def test_the_signed_link_shows_the_survey_without_login(client, invitation):
    response = client.get(answer_url(invitation))

    assert response.status_code == 200
    assert "How likely are you to recommend us" in response.content.decode()


def test_answering_stores_answers_and_feedback_once(client, invitation, member):
    answers = {"would-buy-again": "1", "would-recommend": "10", "comment": "Keep the oat milk!"}

    first = client.post(answer_url(invitation), answers)
    second = client.post(answer_url(invitation), answers)

    assert first.status_code == 200 and "Thank you" in first.content.decode()
    assert second.status_code == 410
    response = SurveyResponse.objects.get()
    assert response.answers.count() == 3
    feedback = Feedback.objects.get()
    assert (feedback.member, feedback.nps, feedback.comment, feedback.source) == (
        member,
        10,
        "Keep the oat milk!",
        "survey",
    )
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED


@pytest.mark.usefixtures("frozen_dates")
def test_an_expired_link_is_410(client, invitation):
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get(answer_url(invitation)).status_code == 410


def test_a_tampered_link_is_410(client, invitation):
    token = invitation_token(invitation)

    assert client.get(f"/s/{token[:-2]}xx/").status_code == 410
    assert client.get(f"/s/{signing.dumps('not-a-uuid', salt=SIGNING_SALT)}/").status_code == 410


@pytest.mark.parametrize("bad", [{"would-recommend": "11"}, {"would-recommend": "ten"}, {"would-buy-again": "1"}])
def test_invalid_or_missing_required_answers_are_form_errors(client, invitation, bad):
    answers = {"would-buy-again": "1", "would-recommend": "8"}
    answers.update(bad)
    if "would-recommend" not in bad and "would-buy-again" in bad:
        answers.pop("would-recommend")

    response = client.post(answer_url(invitation), answers)

    assert response.status_code == 400
    assert "Please check the answers" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_script_in_an_answer_is_escaped_when_shown_back(client, invitation):
    response = client.post(answer_url(invitation), {"would-recommend": "99", "comment": "<script>x()</script>"})

    page = response.content.decode()
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page


@pytest.mark.parametrize("nps", ["²", "٣", "1²"])
def test_digits_int_cannot_read_are_a_form_error(client, invitation, nps):
    response = client.post(answer_url(invitation), {"would-buy-again": "1", "would-recommend": nps})

    assert response.status_code == 400
    assert "Choose a number from 0 to 10." in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_nul_in_an_answer_is_a_form_error(client, invitation):
    response = client.post(
        answer_url(invitation), {"would-buy-again": "1", "would-recommend": "9", "comment": "good\x00coffee"}
    )

    assert response.status_code == 400
    assert "Remove the null character from this answer." in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_nul_in_the_survey_link_is_a_400_page(client):
    assert client.get("/s/abc%00def/").status_code == 400
