"""Referral, tier and badge history, surveys and complaints in the portal."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Badge, Campaign, CampaignStatus, MemberBadge
from feedback.complaints import complaint_change_status
from feedback.models import Complaint, Feedback, InvitationStatus, Survey, SurveyInvitation
from jobs.services import job_run_now
from members.models import Member, Stage
from tests.factories import MemberFactory, buy
from tests.portal.conftest import signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(client, member):
    return signed_in_client(client, member)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_referral_page_shows_the_code_link_and_qr(portal, member):
    page = _text(portal.get("/portal/referral/"))

    assert f'<p class="cardno" id="referral-code">{member.referral_code}</p>' in page
    assert f"http://127.0.0.1:8000/portal/join/{member.referral_code}/" in page
    assert page.count('class="segno"') == 1


def test_referral_page_lists_friends_and_the_reward_earned(portal, member, store):
    # given: two friends joined, one bought, and a referral campaign ran
    buyer = MemberFactory(referred_by=member, name="李四")
    MemberFactory(referred_by=member, name="")
    campaign = Campaign.objects.create(
        name="Bring a friend",
        kind="referral",
        points=200,
        holdout_percent=0,
        status=CampaignStatus.ACTIVE,
        starts_at=timezone.now() - timedelta(days=1),
    )
    buy(buyer, store, "30.00")
    job_run_now(name="campaign", as_of=timezone.now(), params={"campaign": campaign.pk})
    # when
    page = _text(portal.get("/portal/referral/"))
    # then
    assert "李* ·" in page and "has bought" in page and "A friend ·" in page and "not bought yet" in page
    assert "1 friend bought: 200 points and 0 vouchers earned." in page


def test_the_join_page_shows_the_friends_code(client):
    page = _text(client.get("/portal/join/abcd2345/"))

    assert '<p class="cardno" id="join-code">ABCD2345</p>' in page


def test_history_shows_tier_changes_and_badges(portal, member):
    badge = Badge.objects.create(code="explorer", name="Explorer", kind="new_category", description="Three categories")
    MemberBadge.objects.create(member=member, badge=badge, awarded_at=timezone.now())

    page = _text(portal.get("/portal/history/?tab=milestones"))

    assert "Badge: Explorer · Three categories" in page


def test_home_links_the_referral_step_for_members_who_buy_again(portal, member):
    Member.objects.filter(pk=member.pk).update(stage=Stage.CORE)

    page = _text(portal.get("/portal/"))

    assert f'<a id="next-step" href="/portal/referral/">Refer a friend with your code {member.referral_code}' in page


@pytest.fixture
def invitation(member):
    survey = Survey.objects.get(code="loyalty-indicators")
    return SurveyInvitation.objects.create(survey=survey, member=member, expires_at=timezone.now() + timedelta(days=14))


def test_home_and_surveys_page_show_a_waiting_survey(portal, invitation):
    assert "1 survey is waiting for your answer." in _text(portal.get("/portal/"))
    assert f"/portal/surveys/{invitation.public_id}/" in _text(portal.get("/portal/surveys/"))


def test_answering_a_survey_goes_through_the_survey_service(portal, member, invitation):
    answers = {question.key: "" for question in invitation.survey.questions.all()}
    answers.update({"would-recommend": "9", "would-buy-again": "1"})

    response = portal.post(f"/portal/surveys/{invitation.public_id}/", answers)

    assert (response.status_code, response["Location"]) == (302, "/portal/surveys/")
    assert SurveyInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.ANSWERED
    assert Feedback.objects.get(member=member).nps == 9


def test_an_answered_survey_is_gone(portal, invitation):
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.ANSWERED, answered_at=timezone.now()
    )

    assert portal.get(f"/portal/surveys/{invitation.public_id}/").status_code == 404


def test_a_bad_answer_is_a_form_error(portal, invitation):
    response = portal.post(
        f"/portal/surveys/{invitation.public_id}/", {"would-recommend": "11", "would-buy-again": "1"}
    )

    assert response.status_code == 400 and "Please check the answers marked below." in response.content.decode()
    assert SurveyInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING


def test_filing_a_complaint_shows_its_status_and_response_target(portal, member):
    response = portal.post("/portal/complaints/new/", {"category": "product", "text": "The milk was sour."})

    complaint = Complaint.objects.get(member=member)
    assert response["Location"] == f"/portal/complaints/{complaint.public_id}/"
    assert (complaint.text, complaint.category, complaint.channel) == ("The milk was sour.", "product", "online")
    page = _text(portal.get(response["Location"]))
    due = timezone.localtime(complaint.first_response_due_at).strftime("%Y-%m-%d %H:%M")
    assert f'<p id="response-target">We answer by {due}.</p>' in page
    assert '<p id="complaint-status"><strong>Received</strong></p>' in page


def test_an_empty_complaint_is_a_form_error(portal, member):
    response = portal.post("/portal/complaints/new/", {"category": "product", "text": "  "})

    assert response.status_code == 400 and not Complaint.objects.exists()


def test_the_member_follows_status_changes_and_the_answer(portal, member, admin_user):
    portal.post("/portal/complaints/new/", {"category": "service", "text": "Nobody at the till."})
    complaint = Complaint.objects.get(member=member)
    complaint_change_status(complaint=complaint, status="resolved", actor=admin_user, resolution="We retrained staff.")

    page = _text(portal.get(f"/portal/complaints/{complaint.public_id}/"))

    assert "We retrained staff." in page and "Resolved" in page
