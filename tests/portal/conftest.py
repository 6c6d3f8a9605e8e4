import re
from pathlib import Path

import pytest

from messaging.models import OutboxMessage
from tests.factories import MemberFactory


@pytest.fixture
def member():
    return MemberFactory(phone="+8613800138000", language="en")


def sent_code(member) -> str:
    """The code in the member's latest sign-in SMS, as the member reads it."""
    body = OutboxMessage.objects.filter(member=member, kind="portal_sign_in_code").latest("id").body
    return re.search(r"\b(\d{6})\b", body).group(1)


def signed_in_client(client, member):
    """A test client with a portal session, signed in through the real code flow."""
    client.post("/portal/sign-in/", {"phone": member.phone})
    response = client.post("/portal/sign-in/code/", {"code": sent_code(member)})
    assert response.status_code == 302, response.content
    return client


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
PHONE = {"width": 390, "height": 844}


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
            context = browser.new_context(viewport=PHONE, locale="en-US")
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()
