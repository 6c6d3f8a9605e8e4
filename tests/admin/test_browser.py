"""A key back-office flow in a real browser at a laptop's size (1366 px): Debian's chromium driven
by Playwright, never a downloaded browser. Sign in, find a member by phone as typed, adjust their
points from their page, and see the entry on the ledger tab."""

import re
from pathlib import Path

import pytest
from django.db import connections

from members.models import Member
from rewards.models import EntryKind, LedgerEntry
from tests.factories import MemberFactory, StoreFactory, buy

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
LAPTOP = {"width": 1366, "height": 768}
PASSWORD = "a-long-staff-password-0123"


@pytest.fixture
def browser_page(monkeypatch):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are
    # synchronous and safe, Django just cannot tell.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(viewport=LAPTOP, locale="en-US").new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]


@pytest.mark.django_db(transaction=True)
def test_staff_find_a_member_by_phone_and_adjust_their_points(live_server, browser_page, django_user_model):
    try:
        _find_and_adjust(live_server, browser_page, django_user_model)
    finally:
        # While Playwright's loop runs, the test's ORM calls get a connection of their own (Django
        # keeps connections per context): closed here, or the test database could not be dropped.
        connections.close_all()


def _find_and_adjust(live_server, page, django_user_model):
    django_user_model.objects.create_superuser(username="manager", password=PASSWORD, email="m@example.com")
    member = MemberFactory(phone="+8613800138000", name="Li Lei")
    buy(member, StoreFactory(), "1000.00")  # 100 points

    page.goto(f"{live_server.url}/admin/")
    page.locator("#id_username").fill("manager")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()

    page.locator("#member-lookup").fill("138-0013-8000")
    page.locator("#member-lookup").press("Enter")
    page.wait_for_url(re.compile(r"/admin/members/member/\?q="))
    assert _fits_the_screen(page)
    page.get_by_role("link", name=member.card_number).click()

    page.wait_for_url(re.compile(rf"/admin/members/member/{member.pk}/change/"))
    assert page.locator("#member-points-balance").inner_text() == "100"
    assert _fits_the_screen(page)
    page.get_by_role("link", name="Adjust points").click()

    page.locator("#id_points").fill("40")
    page.locator("#id_reason").fill("birthday gesture")
    page.get_by_role("button", name="Adjust points").click()

    page.wait_for_url(re.compile(rf"/admin/members/member/{member.pk}/change/$"))
    assert page.locator("#member-points-balance").inner_text() == "140"
    page.locator("a:text-is('Ledger')").click()  # a tab: an anchor without href
    ledger = page.locator(".fieldset-ledger")
    assert ledger.get_by_text("birthday gesture").is_visible()
    assert ledger.get_by_text("+40").is_visible()
    entry = LedgerEntry.objects.get(member=member, kind=EntryKind.ADJUST)
    assert (entry.points, entry.reason, entry.staff_user.username) == (40, "birthday gesture", "manager")
    assert Member.objects.get(pk=member.pk).points_balance == 140
