"""The ledger invariants, checked from the database."""

from django.db.models import Sum

from members.models import Member
from rewards.models import LedgerEntry, PointsLot


def assert_ledger_consistent(member_id: int) -> int:
    """Balance == sum of entries, running balances chain, lots hold exactly max(balance, 0)."""
    balance = Member.objects.get(pk=member_id).points_balance
    running = 0
    for points, balance_after in (
        LedgerEntry.objects.filter(member_id=member_id).order_by("id").values_list("points", "balance_after")
    ):
        running += points
        assert balance_after == running, (balance_after, running)
    assert running == balance, (running, balance)
    lots = PointsLot.objects.filter(member_id=member_id)
    assert not lots.filter(remaining__lt=0).exists()
    assert (lots.aggregate(s=Sum("remaining"))["s"] or 0) == max(balance, 0)
    return balance
