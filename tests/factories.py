"""factory_boy factories and small helpers that write through the services."""

import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from members.identifiers import new_card_number, new_referral_code
from members.models import Member
from members.services import purchase_record
from rewards.earning import BasketLine
from stores.models import Channel, Store
from stores.services import store_api_key_create

_phones = itertools.count(1)


def next_phone() -> str:
    return f"+86138{next(_phones):08d}"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"store-{n}")
    name = factory.Sequence(lambda n: f"Store {n}")
    channel = Channel.STORE


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    phone = factory.LazyFunction(next_phone)
    name = factory.Faker("name")
    email = factory.Faker("email")
    card_number = factory.LazyFunction(new_card_number)
    referral_code = factory.LazyFunction(new_referral_code)


def create_api_key(store, **scopes):
    return store_api_key_create(store=store, label="test", **scopes)


_receipts = itertools.count(1)


def buy(member, store, total="100.00", *, category="general", channel=Channel.STORE, occurred_at=None, **kwargs):
    """Record a one-line purchase through the service."""
    total = Decimal(total)
    return purchase_record(
        member=member,
        store=store,
        receipt_id=kwargs.pop("receipt_id", f"R{next(_receipts)}"),
        channel=channel,
        occurred_at=occurred_at or timezone.now() - timedelta(minutes=1),
        total=total,
        lines=[BasketLine("SKU-1", category, 1, total)],
        **kwargs,
    )


def standard_tiers():
    """Member (0), Silver (2,000), Gold (8,000), Black (20,000): the demo's tiers."""
    from tiers.models import Tier
    from tiers.selectors import tiers_invalidate

    rows = [("member", 0, "1.00"), ("silver", 2000, "1.25"), ("gold", 8000, "1.50"), ("black", 20000, "2.00")]
    tiers = {
        code: Tier.objects.create(
            code=code, name=code.title(), rank=rank, threshold=Decimal(threshold), earn_multiplier=Decimal(multiplier)
        )
        for rank, (code, threshold, multiplier) in enumerate(rows, start=1)
    }
    tiers_invalidate()
    return tiers
