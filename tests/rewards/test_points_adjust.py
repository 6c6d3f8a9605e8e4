import pytest

from core.errors import DomainError, InsufficientPoints
from members.models import Member
from rewards.models import EntryKind, LedgerEntry
from rewards.services import points_adjust
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def test_adjust_adds_points_naming_the_staff_user_and_reason(member, staff_user):
    entry = points_adjust(member=member, points=25, reason="goodwill after late delivery", staff_user=staff_user)

    assert (entry.kind, entry.points, entry.staff_user, entry.reason) == (
        EntryKind.ADJUST,
        25,
        staff_user,
        "goodwill after late delivery",
    )
    assert Member.objects.get(pk=member.pk).points_balance == 25
    assert_ledger_consistent(member.pk)


def test_adjust_without_reason_is_refused(member, staff_user):
    with pytest.raises(DomainError) as err:
        points_adjust(member=member, points=25, reason="  ", staff_user=staff_user)
    assert "reason" in err.value.errors
    assert not LedgerEntry.objects.exists()


def test_deduction_cannot_overdraw(member, store, staff_user):
    buy(member, store, "100.00")

    with pytest.raises(InsufficientPoints):
        points_adjust(member=member, points=-11, reason="correction", staff_user=staff_user)

    points_adjust(member=member, points=-10, reason="correction", staff_user=staff_user)
    assert assert_ledger_consistent(member.pk) == 0
