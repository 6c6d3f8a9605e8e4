"""A fresh install has default tiers (tiers migration 0002), so its first buyer gets one."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from demo.data import TIERS, DemoBuilder
from members.models import Member
from tests.factories import buy
from tiers.models import Tier
from tiers.selectors import tiers_invalidate

pytestmark = pytest.mark.django_db

migration = importlib.import_module("tiers.migrations.0002_default_tiers")


def _seed():
    migration.create_default_tiers(apps, None)
    tiers_invalidate()


def test_fresh_database_gets_member_silver_gold_and_black():
    _seed()

    assert list(Tier.objects.values_list("rank", "code", "name", "threshold", "earn_multiplier")) == [
        (1, "member", "Member", Decimal("0.00"), Decimal("1.00")),
        (2, "silver", "Silver", Decimal("2000.00"), Decimal("1.25")),
        (3, "gold", "Gold", Decimal("8000.00"), Decimal("1.50")),
        (4, "black", "Black", Decimal("20000.00"), Decimal("2.00")),
    ]


def test_a_database_that_has_tiers_keeps_its_own():
    Tier.objects.create(code="vip", name="VIP", rank=1, threshold=Decimal(500))

    _seed()

    assert list(Tier.objects.values_list("code", flat=True)) == ["vip"]


def test_first_buyer_on_a_fresh_install_gets_the_entry_tier(member, store):
    _seed()

    buy(member, store, "30.00")

    assert Member.objects.get(pk=member.pk).tier.code == "member"


def test_demo_on_a_fresh_install_uses_the_default_tiers_without_adding_any():
    _seed()

    DemoBuilder(seed=1, members=0, months=1)._tiers()

    assert list(Tier.objects.values_list("code", "benefits")) == [(code, benefits) for code, *_, benefits in TIERS]
