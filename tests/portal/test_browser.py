"""The portal in a real browser at a phone's size: Debian's chromium driven by Playwright.

Never a downloaded browser (`playwright install` is not used): without /usr/bin/chromium this
test fails and says how to install it."""

import re

from django.db import connections

from members.models import Member
from messaging.models import OutboxMessage
from rewards.models import Reward, RewardKind, Voucher
from tests.factories import MemberFactory, StoreFactory, buy
from tests.portal.conftest import PHONE


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_member_signs_in_sees_the_card_and_redeems_a_reward(live_server, browser_page):
    try:
        _sign_in_and_redeem(live_server, browser_page)
    finally:
        # While Playwright's loop runs, the test's ORM calls get a connection of their own (Django
        # keeps connections per context): closed here, or the test database could not be dropped.
        connections.close_all()


def _sign_in_and_redeem(live_server, page):
    member = MemberFactory(phone="+8613800138000", language="en", name="Li Lei")
    buy(member, StoreFactory(), "1000.00")  # 100 points
    Reward.objects.create(name="New-roast tasting", kind=RewardKind.EXPERIENCE, cost_points=30)

    page.goto(f"{live_server.url}/")
    page.get_by_label("Mobile number").fill("138 0013 8000")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url(re.compile(r"/portal/sign-in/code/$"))
    body = OutboxMessage.objects.get(member=member, kind="portal_sign_in_code").body
    page.get_by_label("Code").fill(re.search(r"\b\d{6}\b", body).group(0))
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/portal/$"))
    assert page.locator("#card-number").inner_text() == member.card_number
    assert page.locator("#balance").inner_text() == "100"
    assert page.locator(".card svg.segno").count() == 1 and page.locator(".card svg.barcode").count() == 1
    assert _fits_the_screen(page)

    page.get_by_role("link", name="Rewards").click()
    page.get_by_role("button", name="Redeem").click()

    page.wait_for_url(re.compile(r"/portal/vouchers/[0-9a-f-]+/$"))
    voucher = Voucher.objects.get(member=member)
    assert page.locator("#voucher-code").inner_text() == voucher.code
    assert page.locator("#voucher-status").inner_text().startswith("Valid until ")
    assert Member.objects.get(pk=member.pk).points_balance == 70
    assert _fits_the_screen(page)


def test_the_language_switcher_changes_the_page(live_server, browser_page):
    page = browser_page

    page.goto(f"{live_server.url}/portal/sign-in/")
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Change").click()

    page.wait_for_selector("h1:text('登录')")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
