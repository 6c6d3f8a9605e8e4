"""The one way to lock member rows. Every service that moves a member's points, stage, tier or
consent locks the member here first, so all writers of one member are serialised.

One lock mode: `FOR NO KEY UPDATE` of the member row only. It is as exclusive as `FOR UPDATE`
between member locks, but rows that merely reference the member (a campaign's vouchers, grants,
ledger entries) can still be inserted meanwhile, so a batch holding some other row can't
deadlock with a till holding the member.

One lock order: the member first, then the row the operation is about (the purchase being
returned, the redemption, the voucher, the complaint, the invitation), then shared rows (a
reward's stock, a campaign's budget). Many members are locked in ascending primary key, in
slices (`members_locked`), so two batches never wait on each other in a circle and a till waits
at most one slice.

`tests/members/test_member_lock.py` fails if a member row is locked anywhere else.
"""

from django.db.models import QuerySet

from core.errors import NotFound
from loyalty import logs

from .models import Member
from .selectors import member_reference_filter


def _locking(members: QuerySet) -> QuerySet:
    return members.select_for_update(no_key=True, of=("self",))


def member_lock(member: Member | int | None = None, *, reference: str | None = None) -> Member:
    """The member row, read fresh and locked until the transaction ends: by instance or id, or
    by `reference` (a public id or card number, as a POS sends either; 404 if unknown)."""
    if reference is not None:
        # No ordering (unlike first()): the reference is unique.
        found = next(iter(_locking(Member.objects.filter(**member_reference_filter(reference)))[:1]), None)
        if found is None:
            raise NotFound("No member with this id or card number.", errors={"member": ["Unknown member."]})
        # Every POS request resolves its member here: from now on its log lines name them.
        logs.bind(member=str(found.public_id))
        return found
    member_id = member.pk if isinstance(member, Member) else member
    return _locking(Member.objects.all()).get(pk=member_id)


def members_locked(members: QuerySet) -> QuerySet:
    """`members` locked when evaluated, in primary-key order. Callers lock at most
    `settings.MEMBER_LOCK_SLICE` members per statement (see campaigns) so a till waits one slice."""
    return _locking(members).order_by("pk")
