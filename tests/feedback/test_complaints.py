from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core.admin_display import duration_label
from core.errors import DomainError
from feedback.complaints import (
    MANAGERS_GROUP,
    complaint_assign,
    complaint_change_status,
    complaint_compensate,
    complaint_file,
    complaints_escalate,
)
from feedback.models import Complaint, ComplaintEvent, ComplaintStatus, EventKind
from feedback.selectors import complaint_metrics, complaint_queue
from members.models import Member
from messaging.models import OutboxMessage
from rewards.models import EntryKind, LedgerEntry
from tests.api.helpers import post
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("frozen_dates")
def test_service_desk_files_a_complaint_with_its_response_target(api, member):
    before = timezone.now()
    response = post(
        api,
        "/api/v1/complaints/",
        {"member": member.card_number, "category": "staff", "severity": "high", "text": "Rude"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["severity"], body["member"]) == ("open", "high", str(member.public_id))
    complaint = Complaint.objects.get()
    assert before + timedelta(hours=4) <= complaint.first_response_due_at <= timezone.now() + timedelta(hours=4)
    assert complaint.resolution_due_at - complaint.first_response_due_at == timedelta(hours=20)
    assert ComplaintEvent.objects.get().kind == EventKind.CREATED


def test_severity_defaults_to_medium(api):
    response = post(api, "/api/v1/complaints/", {"category": "product", "text": "Stale croissant"})

    assert response.json()["severity"] == "medium"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "product"}, "text"),
        ({"category": "product", "text": "x" * 10_001}, "text"),
        ({"category": "nonsense", "text": "x"}, "category"),
        ({"category": "product", "text": "x", "severity": "urgent"}, "severity"),
    ],
)
def test_bad_complaints_are_400(api, body, field):
    response = post(api, "/api/v1/complaints/", body)

    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Complaint.objects.exists()


@pytest.fixture
def complaint(member, store):
    return complaint_file(text="Wrong order", category="service", severity="medium", member=member, store=store)


def test_leaving_open_is_the_first_response(complaint, staff_user):
    complaint_change_status(complaint=complaint, status=ComplaintStatus.IN_PROGRESS, actor=staff_user)

    complaint.refresh_from_db()
    assert complaint.first_responded_at is not None
    event = complaint.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("open", "in_progress", staff_user)


def test_resolving_needs_a_resolution(complaint, staff_user):
    with pytest.raises(DomainError) as err:
        complaint_change_status(complaint=complaint, status=ComplaintStatus.RESOLVED, actor=staff_user)
    assert "resolution" in err.value.errors

    complaint_change_status(
        complaint=complaint, status=ComplaintStatus.RESOLVED, actor=staff_user, resolution="Refunded"
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.resolution) == ("resolved", "Refunded") and complaint.resolved_at


def test_a_closed_complaint_cannot_be_reopened(complaint, staff_user):
    complaint_change_status(complaint=complaint, status="resolved", actor=staff_user, resolution="ok")
    complaint_change_status(complaint=complaint, status="closed", actor=staff_user)

    with pytest.raises(DomainError):
        complaint_change_status(complaint=complaint, status="in_progress", actor=staff_user)


def test_compensation_goes_through_the_ledger(complaint, staff_user, member):
    complaint_compensate(complaint=complaint, points=200, actor=staff_user)

    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.staff_user) == (EntryKind.BONUS, 200, staff_user)
    assert f"complaint #{complaint.pk}" in entry.reason
    assert Complaint.objects.get(pk=complaint.pk).compensation_points == 200
    assert assert_ledger_consistent(member.pk) == 200


@pytest.fixture
def manager(django_user_model):
    user = django_user_model.objects.create_user(username="boss", email="boss@example.com", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=MANAGERS_GROUP)[0])
    return user


@pytest.mark.usefixtures("frozen_dates")
def test_escalation_happens_once_per_breach_even_when_rerun(complaint, manager):
    late = complaint.first_response_due_at + timedelta(minutes=1)

    assert complaints_escalate(as_of=late) == 1
    assert complaints_escalate(as_of=late + timedelta(hours=1)) == 0

    messages = OutboxMessage.objects.filter(kind="complaint_escalation")
    assert list(messages.values_list("staff_user", flat=True)) == [manager.pk]
    assert "response target" in messages.get().subject


@pytest.mark.usefixtures("frozen_dates")
def test_missing_the_resolution_target_is_a_second_breach(complaint, manager, staff_user):
    complaint_change_status(complaint=complaint, status="in_progress", actor=staff_user)

    assert complaints_escalate(as_of=complaint.resolution_due_at + timedelta(minutes=1)) == 1
    assert complaints_escalate(as_of=complaint.resolution_due_at + timedelta(minutes=2)) == 0
    assert Complaint.objects.get(pk=complaint.pk).resolution_escalated_at is not None


@pytest.mark.usefixtures("frozen_dates")
def test_a_complaint_answered_in_time_is_not_escalated(complaint, manager, staff_user):
    complaint_change_status(complaint=complaint, status="in_progress", actor=staff_user)

    assert complaints_escalate(as_of=complaint.first_response_due_at + timedelta(minutes=1)) == 0


def test_the_queue_puts_the_next_deadline_first(member, store):
    low = complaint_file(text="a", category="other", severity="low", member=member)
    high = complaint_file(text="b", category="other", severity="high", member=member)

    assert list(complaint_queue()) == [high, low]


def test_metrics(member, store, staff_user):
    for _ in range(3):
        buy(member, store, "10.00")
    on_time = complaint_file(text="a", category="service", member=member, store=store)
    complaint_change_status(complaint=on_time, status="in_progress", actor=staff_user)
    late = complaint_file(text="b", category="service", member=member, store=store)
    Complaint.objects.filter(pk=late.pk).update(first_response_due_at=timezone.now() - timedelta(hours=1))

    metrics = complaint_metrics(since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(seconds=1))

    assert metrics.complaints == 2
    assert metrics.answered_within_target == 0.5
    assert metrics.median_first_response is not None
    assert metrics.per_thousand_purchases == pytest.approx(2 * 1000 / 3)


def test_admin_queue_and_actions(admin_client_logged, complaint, member):
    changelist = admin_client_logged.get(reverse("admin:feedback_complaint_changelist"))
    assert changelist.status_code == 200 and "h left" in changelist.content.decode()

    page = admin_client_logged.get(reverse("admin:feedback_complaint_change", args=[complaint.pk])).content.decode()
    assert "Member&#x27;s history" in page or "Member's history" in page

    act = reverse("admin:feedback_complaint_act", args=[complaint.pk])
    admin_client_logged.post(
        act, {"status": "resolved", "resolution": "Replaced the order", "compensation_points": "50"}
    )

    complaint.refresh_from_db()
    assert (complaint.status, complaint.compensation_points) == ("resolved", 50)
    assert Member.objects.get(pk=member.pk).points_balance == 50


def test_admin_action_refused_changes_nothing(admin_client_logged, complaint):
    act = reverse("admin:feedback_complaint_act", args=[complaint.pk])

    admin_client_logged.post(act, {"status": "resolved", "compensation_points": "50"})  # no resolution

    complaint.refresh_from_db()
    assert (complaint.status, complaint.compensation_points) == ("open", 0)
    assert not LedgerEntry.objects.exists()


def test_admin_metrics_page(admin_client_logged, complaint):
    response = admin_client_logged.get(reverse("admin:feedback_complaint_metrics"))

    assert response.status_code == 200 and "Answered within target" in response.content.decode()


def test_assigning_an_owner_is_recorded(complaint, staff_user):
    complaint_assign(complaint=complaint, owner=staff_user, actor=staff_user)

    assert complaint.events.filter(kind=EventKind.ASSIGNED).exists()


def test_admin_metrics_page_shows_durations_in_words_and_category_labels(admin_client_logged, member, store):
    answered = complaint_file(text="Cold coffee", category="product", member=member, store=store)
    Complaint.objects.filter(pk=answered.pk).update(
        first_responded_at=F("created_at") + timedelta(hours=2, minutes=5, seconds=30)
    )

    page = admin_client_logged.get(reverse("admin:feedback_complaint_metrics")).content.decode()

    assert "<td>2 h 05 min</td>" in page
    assert "Category: Product quality" in page
    assert "Category: product<" not in page
    assert "2:05:30" not in page


@pytest.mark.parametrize(
    ("duration", "label"),
    [
        (None, "-"),
        (timedelta(microseconds=698), "under 1 min"),
        (timedelta(minutes=7, seconds=59), "7 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
    ],
)
def test_duration_labels(duration, label):
    assert duration_label(duration) == label
