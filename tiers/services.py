"""Tier moves: upgrades on the purchase path, requalification and downgrade notices in the nightly
job, and staff pins.

The "Starbucks rule": a tier is kept until its validity date; at requalification a member who no
longer qualifies moves down one tier only, and is told 30 days before.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from core.chunks import ChunkResult
from core.dates import add_months
from core.errors import field_error
from core.i18n import local_day, money
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from members.locking import member_lock, members_locked
from members.models import Member
from members.selectors import members_in_chunk
from messaging.services import dedupe_keys_queued, message_queue_many

from .models import Tier, TierChange, TierChangeKind
from .selectors import (
    notice_window,
    qualifying_spend,
    qualifying_spend_subquery,
    tier_above,
    tier_below,
    tier_by_id,
    tier_for_spend,
)

VALIDITY_MONTHS = 12


def _move(
    member: Member,
    *,
    work: UnitOfWork,
    to: Tier,
    kind: str,
    reason: str,
    valid_until: datetime,
    spend=None,
    staff_user=None,
) -> None:
    """Record the move and set the member's tier, through `work`."""
    change = TierChange(
        member=member,
        kind=kind,
        from_tier_id=member.tier_id,
        to_tier=to,
        valid_until=valid_until,
        reason=reason[:300],
        qualifying_spend=spend,
        staff_user=staff_user,
        created_at=timezone.now(),
    )
    work.insert(change)
    work.insert(
        events.build(
            EventType.TIER_CHANGED,
            member=member,
            data={"from": getattr(tier_by_id(member.tier_id), "name", None), "to": to.name, "reason": kind},
        )
    )
    member.tier, member.tier_valid_until = to, valid_until
    work.save_fields(member, "tier", "tier_valid_until")


def tier_after_purchase(*, member: Member, work: UnitOfWork) -> None:
    """Upgrade at once when 12-month spend crosses a threshold; the purchase that crosses it counts.

    Runs inside the purchase transaction with the member locked; the change goes out with the
    purchase's unit of work. Rolling spend never exceeds lifetime spend, so most
    purchases skip the spend query: always when the next tier is out of lifetime reach, and for a
    first tier that needs no spend at all.
    """
    current = tier_by_id(member.tier_id)
    following = tier_above(current)
    if following is None or member.lifetime_spend < following.threshold:
        return
    now = timezone.now()
    spend = qualifying_spend(member=member, as_of=now) if tier_for_spend(member.lifetime_spend).threshold else None
    target = tier_for_spend(spend or 0)
    if target is None or (current is not None and target.rank <= current.rank):
        return
    kind = TierChangeKind.ENROL if current is None else TierChangeKind.UPGRADE
    reason = (
        f"12-month spend {spend} reached {target.name} ({target.threshold})" if spend is not None else "First purchase"
    )
    valid_until = add_months(now, VALIDITY_MONTHS)
    _move(member, work=work, to=target, kind=kind, reason=reason, valid_until=valid_until, spend=spend)


@transaction.atomic
def tier_pin(*, member: Member, tier: Tier, until: datetime, reason: str, staff_user) -> Member:
    """Staff keep a member on `tier` until `until` whatever their spend (a floor: upgrades still
    happen). The tier is valid until the pin ends; requalification then applies as usual."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", gettext("A reason is required to pin a tier."))
    if until <= timezone.now():
        raise field_error("until", gettext("The pin must end in the future."))
    member, work = member_lock(member), UnitOfWork()
    pinned = f"Pinned: {reason}"
    _move(member, work=work, to=tier, kind=TierChangeKind.PIN, reason=pinned, valid_until=until, staff_user=staff_user)
    member.tier_pinned_until, member.tier_pin_reason = until, reason[:300]
    work.save_fields(member, "tier_pinned_until", "tier_pin_reason")
    work.flush()
    return member


def _requalified_tier(current: Tier, spend: Decimal) -> tuple[Tier, str]:
    qualifying = tier_for_spend(spend)
    if qualifying is not None and qualifying.rank > current.rank:
        return qualifying, TierChangeKind.UPGRADE
    if qualifying is not None and qualifying.rank == current.rank:
        return current, TierChangeKind.RENEW
    lower = tier_below(current)
    return (lower, TierChangeKind.DOWNGRADE) if lower else (current, TierChangeKind.RENEW)


@transaction.atomic
def tiers_requalify(
    *, as_of: datetime, member_id_from: int, member_id_to: int, member_ids: list[int] | None = None, run=None
) -> ChunkResult:
    """Requalify every member in the id range (only `member_ids` of it, if given) whose tier
    validity has ended: keep, move up, or move down one tier, for another 12 months. A member who
    bought but has no tier yet (imported history: the purchase path gives one at the first
    purchase) is placed in the tier their 12-month spend reaches. A rerun finds their validity
    renewed and does nothing."""
    due = members_locked(
        members_in_chunk(member_id_from, member_id_to, member_ids)
        .filter(Q(tier__isnull=False, tier_valid_until__lte=as_of) | Q(tier__isnull=True, purchase_count__gt=0))
        .exclude(tier_pinned_until__gt=as_of)
    )
    rows = list(
        due.annotate(spend=qualifying_spend_subquery(as_of)).values_list(
            "pk", "tier_id", "tier_valid_until", "spend", "public_id"
        )
    )
    changes, members = [], []
    refs = {row[0]: events.MemberRef(row[0], row[4]) for row in rows}
    for member_id, tier_id, valid_until, spend, _ in rows:
        current = tier_by_id(tier_id)
        if current is None:
            target, kind = tier_for_spend(spend), TierChangeKind.ENROL
            if target is None:
                continue
            new_validity = add_months(as_of, VALIDITY_MONTHS)
            reason = f"Placed by 12-month spend {spend}: {target.name} needs {target.threshold}"
        else:
            target, kind = _requalified_tier(current, spend)
            new_validity = add_months(valid_until, VALIDITY_MONTHS)
            reason = f"Requalification: 12-month spend {spend}; {current.name} needs {current.threshold}"
        changes.append(
            TierChange(
                member_id=member_id,
                kind=kind,
                from_tier=current,
                to_tier=target,
                valid_until=new_validity,
                reason=reason,
                qualifying_spend=spend,
                run=run,
            )
        )
        members.append(Member(pk=member_id, tier=target, tier_valid_until=new_validity))
    work = UnitOfWork()
    work.insert(*changes)
    work.update_rows(members, ["tier", "tier_valid_until"])
    events.record_many(
        (
            events.build(
                EventType.TIER_CHANGED,
                member=refs[c.member_id],
                data={"from": getattr(c.from_tier, "name", None), "to": c.to_tier.name, "reason": c.kind},
            )
            for c in changes
            if c.to_tier != c.from_tier
        ),
        work=work,
    )
    work.flush()
    return ChunkResult(len(rows), sum(1 for c in changes if c.to_tier_id != c.from_tier_id))


def tier_downgrade_notices(
    *,
    as_of: datetime,
    member_id_from: int,
    member_id_to: int,
    member_ids: list[int] | None = None,
    since: datetime | None = None,
) -> int:
    """Queue one message per member and validity period for members who, at today's spend, would
    move down at requalification within the next 30 days. Each member is judged once, when their
    validity end comes within 30 days: on the first run after `since` that sees it there."""
    start, end = notice_window(as_of, since)
    soon = (
        members_in_chunk(member_id_from, member_id_to, member_ids)
        .filter(tier__isnull=False, tier_valid_until__gt=start, tier_valid_until__lte=end)
        .exclude(tier_pinned_until__gte=end)
        .annotate(spend=qualifying_spend_subquery(as_of))
        .only("pk", "public_id", "tier_id", "tier_valid_until", "email", "phone", "name", "language")
    )
    messages = []
    for member in soon:
        tier = tier_by_id(member.tier_id)
        lower = tier_below(tier)
        if lower is None or member.spend >= tier.threshold:
            continue
        messages.append(_downgrade_notice(member, tier, lower))
    # Told once per member and validity period: the event goes with the message the outbox accepts.
    sent_before = dedupe_keys_queued([m["dedupe_key"] for m in messages])
    queued = message_queue_many(messages)
    events.record_many(
        events.build(
            EventType.TIER_DOWNGRADE_ANNOUNCED,
            member=message["member"],
            data={
                "from": tier_by_id(message["member"].tier_id).name,
                "to": tier_below(tier_by_id(message["member"].tier_id)).name,
                "valid_until": message["member"].tier_valid_until,
            },
        )
        for message in messages
        if message["dedupe_key"] not in sent_before
    )
    return queued


def _downgrade_notice(member: Member, tier: Tier, lower: Tier) -> dict:
    short = tier.threshold - member.spend
    until = timezone.localtime(member.tier_valid_until).date()
    with translation.override(member.language):
        subject = gettext("Keep your %(tier)s status") % {"tier": tier.name}
        body = gettext(
            "Your %(tier)s status is valid until %(until)s. Spend %(short)s more by then to keep it; "
            "otherwise you will move to %(lower)s."
        ) % {"tier": tier.name, "until": local_day(until), "short": money(short), "lower": lower.name}
    return {
        "member": member,
        "kind": "tier_downgrade_notice",
        "language": member.language,
        "dedupe_key": f"tier-downgrade:{member.pk}:{until:%Y%m%d}",
        "subject": subject,
        "body": body,
    }
