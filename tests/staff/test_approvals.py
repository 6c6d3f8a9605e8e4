import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus
from core.errors import DomainError
from rewards.models import EntryKind, LedgerEntry
from staff.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from staff.roles import MARKETING_MANAGER, SERVICE_DESK, STORE_MANAGER
from staff.services import (
    approval_grant,
    approval_reject,
    campaign_launch_or_request,
    points_adjust_or_request,
)
from tests.staff.conftest import in_a_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings):
    settings.STAFF_ADJUSTMENT_LIMIT = 500
    return 500


def test_adjustment_within_the_limit_happens_at_once(make_staff, home_member, limit):
    desk = make_staff(SERVICE_DESK)

    entry = points_adjust_or_request(member=home_member, points=500, reason="goodwill", staff_user=desk)

    assert (entry.kind, entry.points, entry.staff_user) == (EntryKind.ADJUST, 500, desk)
    assert not ApprovalRequest.objects.exists()


def test_adjustment_above_the_limit_waits_for_approval(make_staff, home_member, limit):
    desk = make_staff(SERVICE_DESK)
    before = LedgerEntry.objects.filter(member=home_member).count()

    request = points_adjust_or_request(member=home_member, points=501, reason="lost receipt", staff_user=desk)

    assert (request.kind, request.status, request.requested_by, request.store) == (
        ApprovalKind.POINTS_ADJUST,
        ApprovalStatus.PENDING,
        desk,
        home_member.enrolled_store,
    )
    assert LedgerEntry.objects.filter(member=home_member).count() == before


def test_the_requester_cannot_approve_their_own_request(make_staff, home_member, limit):
    manager = make_staff(STORE_MANAGER)
    request = points_adjust_or_request(member=home_member, points=900, reason="lost receipt", staff_user=manager)

    with pytest.raises(DomainError):
        approval_grant(request=request, staff_user=manager)

    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


def test_a_manager_grants_and_the_adjustment_is_written_for_the_requester(make_staff, home_member, limit):
    desk, manager = make_staff(SERVICE_DESK), make_staff(STORE_MANAGER)
    request = points_adjust_or_request(member=home_member, points=900, reason="lost receipt", staff_user=desk)

    granted = approval_grant(request=request, staff_user=manager)

    assert (granted.status, granted.decided_by) == (ApprovalStatus.GRANTED, manager)
    entry = LedgerEntry.objects.get(member=home_member, kind=EntryKind.ADJUST)
    assert (entry.points, entry.staff_user, entry.reason) == (900, desk, "lost receipt")
    home_member.refresh_from_db()
    assert home_member.points_balance == 10 + 900


def test_a_manager_of_another_store_cannot_decide(make_staff, other_member, limit):
    desk, manager = make_staff(SERVICE_DESK), make_staff(STORE_MANAGER)
    request = points_adjust_or_request(member=other_member, points=900, reason="lost receipt", staff_user=desk)

    with pytest.raises(DomainError):
        approval_grant(request=request, staff_user=manager)


def test_service_desk_cannot_approve(make_staff, home_member, limit):
    desk, other_desk = make_staff(SERVICE_DESK), make_staff(SERVICE_DESK, username="desk2")
    request = points_adjust_or_request(member=home_member, points=900, reason="x", staff_user=desk)

    with pytest.raises(DomainError):
        approval_grant(request=request, staff_user=other_desk)


def test_a_refused_deduction_closes_the_request_as_failed(make_staff, home_member, limit):
    desk, manager = make_staff(SERVICE_DESK), make_staff(STORE_MANAGER)
    request = points_adjust_or_request(member=home_member, points=-900, reason="fraud", staff_user=desk)

    decided = approval_grant(request=request, staff_user=manager)

    assert decided.status == ApprovalStatus.FAILED
    assert not LedgerEntry.objects.filter(member=home_member, kind=EntryKind.ADJUST).exists()


def test_rejection_changes_nothing(make_staff, home_member, limit):
    desk, manager = make_staff(SERVICE_DESK), make_staff(STORE_MANAGER)
    request = points_adjust_or_request(member=home_member, points=900, reason="x", staff_user=desk)

    rejected = approval_reject(request=request, staff_user=manager, reason="no receipt")

    assert (rejected.status, rejected.outcome) == (ApprovalStatus.REJECTED, "no receipt")
    assert not LedgerEntry.objects.filter(member=home_member, kind=EntryKind.ADJUST).exists()


def _points_campaign(max_points):
    return Campaign.objects.create(
        name="Big bonus", kind="surprise", grant_type="points", points=10, max_points=max_points, starts_at=in_a_day()
    )


def test_a_campaign_with_a_budget_above_the_threshold_waits_for_approval(make_staff, settings):
    settings.CAMPAIGN_APPROVAL_POINTS = 1000
    marketer = make_staff(MARKETING_MANAGER)
    campaign = _points_campaign(max_points=1001)

    request = campaign_launch_or_request(campaign=campaign, staff_user=marketer)

    assert (request.kind, request.status) == (ApprovalKind.CAMPAIGN_LAUNCH, ApprovalStatus.PENDING)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_a_second_manager_grants_and_the_campaign_is_launched(make_staff, roles, django_user_model, settings):
    settings.CAMPAIGN_APPROVAL_POINTS = 1000
    marketer = make_staff(MARKETING_MANAGER)
    second = make_staff(MARKETING_MANAGER, username="second_marketer")
    campaign = _points_campaign(max_points=None)
    request = campaign_launch_or_request(campaign=campaign, staff_user=marketer)

    granted = approval_grant(request=request, staff_user=second)

    campaign.refresh_from_db()
    assert (granted.status, campaign.status) == (ApprovalStatus.GRANTED, CampaignStatus.ACTIVE)


def test_a_campaign_within_the_threshold_launches_at_once(make_staff, settings):
    settings.CAMPAIGN_APPROVAL_POINTS = 1000
    campaign = _points_campaign(max_points=1000)

    launched = campaign_launch_or_request(campaign=campaign, staff_user=make_staff(MARKETING_MANAGER))

    assert launched.status == CampaignStatus.ACTIVE


def test_the_admin_adjust_page_queues_a_large_adjustment(client, make_staff, home_member, limit):
    desk = make_staff(SERVICE_DESK)
    client.force_login(desk)

    response = client.post(
        reverse("admin:members_member_adjust") + f"?ids={home_member.pk}", {"points": "800", "reason": "lost"}
    )

    assert response.status_code == 302
    assert ApprovalRequest.objects.get().payload == {"member": home_member.pk, "points": 800, "reason": "lost"}


def test_the_approval_queue_action_grants(client, make_staff, home_member, limit):
    desk, manager = make_staff(SERVICE_DESK), make_staff(STORE_MANAGER)
    request = points_adjust_or_request(member=home_member, points=800, reason="lost", staff_user=desk)
    client.force_login(manager)

    client.post(
        reverse("admin:staff_approvalrequest_changelist"), {"action": "approve", "_selected_action": [request.pk]}
    )

    request.refresh_from_db()
    assert request.status == ApprovalStatus.GRANTED
