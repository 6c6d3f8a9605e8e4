"""Events are recorded with the change that they describe, numbered per member in commit order."""

import threading

import pytest
from django.db import connection, transaction

from events import services as events
from events.models import Event
from events.types import EventType
from members.services import member_enroll, member_suspend
from tests.factories import MemberFactory, buy


@pytest.mark.django_db
def test_enrolment_records_member_enrolled_with_the_public_id(store):
    member = member_enroll(phone="13800138000", store=store)

    event = Event.objects.get()
    assert (event.type, event.member_id, event.sequence) == (EventType.MEMBER_ENROLLED, member.pk, 1)
    assert event.payload == {"member_id": str(member.public_id), "card_number": member.card_number, "channel": "store"}


@pytest.mark.django_db
def test_a_purchase_records_its_events_in_order(member, store):
    purchase = buy(member, store, "100.00")

    types = list(Event.objects.filter(member_id=member.pk).order_by("sequence").values_list("type", "sequence"))
    assert types == [
        (EventType.POINTS_EARNED, 1),
        (EventType.STAGE_CHANGED, 2),
        (EventType.PURCHASE_RECORDED, 3),
    ]
    recorded = Event.objects.get(type=EventType.PURCHASE_RECORDED)
    assert recorded.payload["purchase_id"] == str(purchase.public_id)
    assert recorded.payload["points_earned"] == purchase.points_earned


@pytest.mark.django_db
def test_a_refused_change_records_no_event(member):
    with pytest.raises(Exception, match="reason"):
        member_suspend(member=member, reason="  ")

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_event_rolled_back_with_its_change_is_gone(member):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": ["name"]})
        raise RuntimeError

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_build_writes_nothing(member):
    event = events.build(EventType.BADGE_AWARDED, member=member, data={"badge": "Explorer"})

    assert event.pk is None and event.payload == {"member_id": str(member.public_id), "badge": "Explorer"}
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_record_many_numbers_each_members_events(member):
    other = MemberFactory()

    events.record_many(
        [events.build(EventType.POINTS_EXPIRED, member=m, data={"points": 1}) for m in (member, other, member)]
    )

    assert sorted(Event.objects.values_list("member_id", "sequence")) == sorted(
        [(member.pk, 1), (member.pk, 2), (other.pk, 1)]
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_number_a_members_events_in_commit_order(member):
    """Twelve threads record for the same member at once; each commits right after recording.
    The numbers are 1..12 without gaps, and the order of commits is the order of numbers."""
    committed: list[str] = []
    order_lock = threading.Lock()
    start = threading.Barrier(12)

    def record_one():
        try:
            start.wait()
            with transaction.atomic():
                event = events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": []})
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(0.01)")
            with order_lock:
                committed.append(str(event.uuid))
        finally:
            connection.close()

    threads = [threading.Thread(target=record_one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    by_sequence = list(Event.objects.filter(member_id=member.pk).order_by("sequence").values_list("sequence", "uuid"))
    assert [sequence for sequence, _ in by_sequence] == list(range(1, 13))
    assert [str(uuid) for _, uuid in by_sequence] == committed


@pytest.mark.django_db
def test_expiring_points_records_points_expired_per_member(member, store):
    from datetime import timedelta

    from django.utils import timezone

    from rewards.services import points_expire

    buy(member, store, "100.00")
    Event.objects.all().delete()

    result = points_expire(as_of=timezone.now() + timedelta(days=3 * 366))

    event = Event.objects.get()
    assert (event.type, event.member_id) == (EventType.POINTS_EXPIRED, member.pk)
    assert event.payload == {
        "member_id": str(member.public_id),
        "points": -result.points,
        "balance": 0,
        "kind": "expire",
    }


@pytest.mark.django_db
def test_requalification_down_records_tier_changed(tiers, member, store):
    from datetime import timedelta

    from django.utils import timezone

    from members.models import Member
    from tiers.services import tiers_requalify

    buy(member, store, "100.00")
    Member.objects.filter(pk=member.pk).update(tier=tiers["black"], tier_valid_until=timezone.now() - timedelta(1))
    Event.objects.all().delete()

    tiers_requalify(as_of=timezone.now(), member_id_from=member.pk, member_id_to=member.pk + 1)

    event = Event.objects.get()
    assert (event.type, event.payload["from"], event.payload["to"]) == (
        EventType.TIER_CHANGED,
        tiers["black"].name,
        tiers["gold"].name,
    )


@pytest.mark.django_db
def test_a_downgrade_notice_records_its_event_once(tiers, member, store, now):
    from datetime import timedelta
    from decimal import Decimal

    from members.models import Member
    from members.services import purchase_return
    from tiers.services import tier_downgrade_notices

    buy(member, store, "2500.00")
    Member.objects.filter(pk=member.pk).update(tier_valid_until=now + timedelta(days=20))
    purchase_return(purchase=member.purchases.get(), store=store, receipt_id="R1", amount=Decimal("1000.00"))
    Event.objects.all().delete()

    for day in (0, 1):
        tier_downgrade_notices(as_of=now + timedelta(days=day), member_id_from=member.pk, member_id_to=member.pk + 1)

    event = Event.objects.get()
    assert (event.type, event.payload["from"], event.payload["to"]) == (
        EventType.TIER_DOWNGRADE_ANNOUNCED,
        tiers["silver"].name,
        tiers["member"].name,
    )


@pytest.mark.django_db
def test_points_expiring_soon_is_recorded_once_per_member_and_expiry(member, settings):
    from datetime import timedelta

    from django.utils import timezone

    from rewards.expiring import points_expiring_soon_record
    from rewards.models import PointsLot
    from tests.factories import StoreFactory

    settings.POINTS_EXPIRING_SOON_DAYS = 30
    buy(member, StoreFactory(), "100.00")
    lot = PointsLot.objects.get(member=member)
    lot.expires_at = timezone.now() + timedelta(days=10)
    lot.save()
    Event.objects.all().delete()

    first = points_expiring_soon_record(as_of=timezone.now())
    second = points_expiring_soon_record(as_of=timezone.now() + timedelta(days=1))

    assert (first, second) == (1, 0)
    event = Event.objects.get()
    assert event.payload == {
        "member_id": str(member.public_id),
        "points": lot.remaining,
        "expires_at": lot.expires_at.isoformat(),
    }
