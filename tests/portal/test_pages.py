"""The portal pages a signed-in member uses: card, history, rewards, vouchers, profile."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from members.models import Member
from portal.models import ConsentChange, PortalRedeemToken
from rewards.models import EntryKind, LedgerEntry, Reward, RewardKind, Voucher
from tests.factories import buy, standard_tiers
from tests.portal.conftest import signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial():
    return Reward.objects.create(name="New-roast tasting", kind=RewardKind.EXPERIENCE, cost_points=30, stock=5)


@pytest.fixture
def rich(member, store):
    buy(member, store, "1000.00")  # 100 points
    return Member.objects.get(pk=member.pk)


@pytest.fixture
def portal(client, rich):
    return signed_in_client(client, rich)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_pages_need_a_signed_in_member(client):
    response = client.get("/portal/")

    assert (response.status_code, response["Location"]) == (302, "/portal/sign-in/")


def test_home_shows_the_card_balance_value_and_expiry(portal, rich):
    page = _text(portal.get("/portal/"))

    assert f'<p class="cardno" id="card-number">{rich.card_number}</p>' in page
    assert '<p class="big" id="balance">100</p>' in page
    assert "Worth ¥10.00 when you pay with points." in page  # default point value 0.10
    assert "100 points expire on" in page
    assert page.count('class="segno"') == 1 and page.count('class="barcode"') == 1


def test_home_shows_the_tier_and_what_is_missing_to_the_next(client, store):
    tiers = standard_tiers()
    member = Member.objects.create(phone="+8613800138111", card_number="8000000000000018", referral_code="ABCDEFGH")
    buy(member, store, "1880.00")
    buy(member, store, "1000.00")  # 2,880 spent: Silver, 5,120 to Gold
    signed_in_client(client, member)

    page = _text(client.get("/portal/"))

    assert Member.objects.get(pk=member.pk).tier == tiers["silver"]
    assert "¥5120.00 more to Gold." in page
    assert "Spend ¥5120.00 more to reach Gold." in page


def test_history_lists_purchases_with_lines_and_points(portal, rich):
    page = _text(portal.get("/portal/history/"))

    assert "100 points" in page and "1 \u00d7 SKU-1 (1000.00)" in page


def test_history_lists_ledger_entries_with_their_reason(portal, rich, trial):
    portal.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": str(uuid.uuid4())})

    page = _text(portal.get("/portal/history/?tab=points"))

    assert "Redeemed <br><small>Reward: New-roast tasting</small>" in page
    assert '<td class="num">-30</td><td class="num">70</td>' in page


def test_history_is_paginated(portal, rich, store):
    for _ in range(20):
        buy(rich, store, "10.00")

    first, second = portal.get("/portal/history/"), portal.get("/portal/history/?tab=purchases&page=2")

    assert "Page 1 of 2" in _text(first) and "Page 2 of 2" in _text(second)
    assert len(first.context["page"].object_list) == 20 and len(second.context["page"].object_list) == 1


def test_rewards_page_says_what_is_missing(portal, trial):
    Reward.objects.create(name="Espresso machine", kind=RewardKind.FREE_PRODUCT, cost_points=500)

    page = _text(portal.get("/portal/rewards/"))

    assert "Espresso machine" in page and "400 more points" in page
    assert f'action="/portal/rewards/{trial.pk}/redeem/"' in page


def test_redeeming_gives_a_voucher_through_the_till_service(portal, rich, trial):
    response = portal.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": str(uuid.uuid4())})

    voucher = Voucher.objects.get(member=rich)
    assert (response.status_code, response["Location"]) == (302, f"/portal/vouchers/{voucher.public_id}/")
    assert (Member.objects.get(pk=rich.pk).points_balance, voucher.points_cost) == (70, 30)
    assert LedgerEntry.objects.get(voucher=voucher).job == "portal"


def test_a_double_tap_redeems_once(portal, rich, trial):
    token = str(uuid.uuid4())
    first = portal.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": token})
    second = portal.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": token})

    assert first["Location"] == second["Location"]
    assert Voucher.objects.filter(member=rich).count() == 1
    assert Member.objects.get(pk=rich.pk).points_balance == 70
    assert LedgerEntry.objects.filter(member=rich, kind=EntryKind.REDEEM).count() == 1


def test_a_refused_redemption_says_why_and_writes_nothing(portal, rich):
    dear = Reward.objects.create(name="Trip", kind=RewardKind.EXPERIENCE, cost_points=500)

    response = portal.post(f"/portal/rewards/{dear.pk}/redeem/", {"token": str(uuid.uuid4())}, follow=True)

    assert "You do not have enough points for this reward." in _text(response)
    assert (Voucher.objects.count(), PortalRedeemToken.objects.count()) == (0, 0)


def test_the_voucher_page_shows_its_code_qr_and_expiry(portal, rich, trial):
    portal.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": str(uuid.uuid4())})
    voucher = Voucher.objects.get(member=rich)

    page = _text(portal.get(f"/portal/vouchers/{voucher.public_id}/"))

    assert f'<p class="cardno" id="voucher-code">{voucher.code}</p>' in page
    assert f"Valid until {timezone.localtime(voucher.expires_at):%Y-%m-%d}" in page
    assert 'class="segno"' in page


def test_cancelling_an_unused_voucher_gives_the_points_back(portal, rich, trial):
    portal.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": str(uuid.uuid4())})
    voucher = Voucher.objects.get(member=rich)

    portal.post(f"/portal/vouchers/{voucher.public_id}/cancel/")

    voucher.refresh_from_db()
    assert (voucher.status, Member.objects.get(pk=rich.pk).points_balance) == ("cancelled", 100)
    assert Reward.objects.get(pk=trial.pk).stock == 5


def test_a_campaign_gift_cannot_be_cancelled_by_the_member(portal, rich, trial):
    gift = Voucher.objects.create(
        code="GIFT00000001", reward=trial, member=rich, points_cost=0, expires_at=timezone.now() + timedelta(days=3)
    )

    response = portal.post(f"/portal/vouchers/{gift.public_id}/cancel/", follow=True)

    assert "This voucher cannot be cancelled." in _text(response)
    assert Voucher.objects.get(pk=gift.pk).status == "issued"


def test_profile_saves_name_email_language_and_a_first_birthday(portal, rich):
    Member.objects.filter(pk=rich.pk).update(birthday=None)

    portal.post(
        "/portal/profile/",
        {"name": "Li Lei", "email": "LI@Example.com", "birthday": "1990-05-04", "language": "zh-hant"},
    )

    member = Member.objects.get(pk=rich.pk)
    assert (member.name, member.email, str(member.birthday), member.language) == (
        "Li Lei",
        "li@example.com",
        "1990-05-04",
        "zh-hant",
    )


def test_a_birthday_once_set_cannot_be_changed_in_the_portal(portal, rich):
    Member.objects.filter(pk=rich.pk).update(birthday="1990-05-04")

    portal.post("/portal/profile/", {"name": "X", "email": "", "birthday": "2000-01-01", "language": "en"})

    assert str(Member.objects.get(pk=rich.pk).birthday) == "1990-05-04"


def test_consent_changes_are_recorded_with_their_time(portal, rich):
    portal.post("/portal/profile/consent/", {"channel": "sms", "granted": "1"})
    portal.post("/portal/profile/consent/", {"channel": "sms", "granted": "1"})  # no change: not recorded
    portal.post("/portal/profile/consent/", {"channel": "email", "granted": "1"})
    portal.post("/portal/profile/consent/", {"channel": "sms", "granted": "0"})

    member = Member.objects.get(pk=rich.pk)
    changes = list(ConsentChange.objects.filter(member=rich).order_by("id").values_list("channel", "granted"))
    assert changes == [("sms", True), ("email", True), ("sms", False)]
    assert (member.consent_sms, member.consent_email) == (False, True)
    assert ConsentChange.objects.filter(member=rich).latest("id").changed_at == member.consent_updated_at


def test_sign_out_ends_this_session(portal):
    portal.post("/portal/sign-out/")

    assert portal.get("/portal/")["Location"] == "/portal/sign-in/"


def test_sign_out_everywhere_ends_every_session(client, rich):
    phone_a, phone_b = signed_in_client(Client(), rich), signed_in_client(Client(), rich)

    phone_a.post("/portal/sign-out/everywhere/")

    assert phone_b.get("/portal/").status_code == 302
    assert phone_b.get("/portal/")["Location"] == "/portal/sign-in/"


def test_a_new_sign_in_after_sign_out_everywhere_works(client, rich):
    phone_a = signed_in_client(Client(), rich)
    phone_a.post("/portal/sign-out/everywhere/")

    fresh = signed_in_client(Client(), rich)

    assert fresh.get("/portal/").status_code == 200
