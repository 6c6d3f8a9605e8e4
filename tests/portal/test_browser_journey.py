"""A member's whole visit in a real browser at a phone's size (390 x 844): sign in, card and
balance, redeem and show the voucher, refer, answer a survey, file a complaint, change language,
download the data, close the account. On every page axe-core checks accessibility (no serious or
critical violation) and the browser reports no Content-Security-Policy violation.

axe-core is vendored in `fixtures/axe/` (see its README); it is evaluated in the page, so the
portal's policy stays in force while it runs (a script tag would be refused, as it should)."""

import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

from django.db import connections
from django.utils import timezone

from feedback.models import Complaint, InvitationStatus, Question, Survey, SurveyInvitation
from members.models import Member, MemberStatus
from messaging.models import OutboxMessage
from rewards.models import Reward, RewardKind, Voucher
from tests.factories import MemberFactory, StoreFactory, buy
from tests.portal.conftest import PHONE

AXE = Path(__file__).parent / "fixtures" / "axe" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


class Visit:
    """The page, plus what every page must pass: axe, the screen width, the CSP."""

    def __init__(self, page, base_url):
        self.page, self.base_url = page, base_url
        self.violations: dict[str, list] = {}
        self.csp_errors: list[str] = []
        self.checked: list[str] = []
        page.on("console", self._console)

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    def check(self):
        """Run axe on the page as it is now; remember serious and critical violations."""
        page = self.page
        page.wait_for_load_state()
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text())
        found = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                 .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))}))"""
        )
        path = page.url.removeprefix(self.base_url)
        serious = [v for v in found if v["impact"] in BLOCKING_IMPACTS]
        if serious:
            self.violations[path] = serious
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        self.checked.append(path)


def test_a_members_whole_visit(live_server, browser_page):
    try:
        _visit(live_server, browser_page)
    finally:
        connections.close_all()  # see test_browser.py: the loop's connections must not outlive the test


def _visit(live_server, page):
    store = StoreFactory()
    member = MemberFactory(phone="+8613800138000", language="en", name="Li Lei", email="li@example.com")
    buy(member, store, "1000.00")  # 100 points
    friend = MemberFactory(referred_by=member, name="Han Meimei")
    buy(friend, store, "30.00")
    Reward.objects.create(name="New-roast tasting", kind=RewardKind.EXPERIENCE, cost_points=30)
    # Its own survey: an earlier live-server test may have flushed the default one shipped as data.
    survey = Survey.objects.create(code="portal-visit", name="Your visit")
    Question.objects.create(
        survey=survey, position=0, key="would-buy-again", kind="yes_no", text="Again?", required=True
    )
    Question.objects.create(
        survey=survey, position=1, key="would-recommend", kind="nps", text="Recommend?", required=True
    )
    invitation = SurveyInvitation.objects.create(
        survey=survey,
        member=member,
        expires_at=timezone.now() + timedelta(days=14),
    )
    visit = Visit(page, live_server.url)

    # sign in
    page.goto(f"{live_server.url}/portal/sign-in/")
    visit.check()
    page.get_by_label("Mobile number").fill("138 0013 8000")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url(re.compile(r"/portal/sign-in/code/$"))
    visit.check()
    body = OutboxMessage.objects.get(member=member, kind="portal_sign_in_code").body
    page.get_by_label("Code").fill(re.search(r"\b\d{6}\b", body).group(0))
    page.get_by_role("button", name="Sign in").click()

    # card and balance
    page.wait_for_url(re.compile(r"/portal/$"))
    visit.check()
    assert page.locator("#card-number").inner_text() == member.card_number
    assert page.locator("#balance").inner_text() == "100"

    # redeem, show the voucher
    page.get_by_role("link", name="Rewards", exact=True).click()
    visit.check()
    page.get_by_role("button", name="Redeem").click()
    page.wait_for_url(re.compile(r"/portal/vouchers/[0-9a-f-]+/$"))
    visit.check()
    assert page.locator("#voucher-code").inner_text() == Voucher.objects.get(member=member).code
    page.get_by_role("link", name="Vouchers", exact=True).click()
    visit.check()

    # history, every tab
    page.get_by_role("link", name="History", exact=True).click()
    visit.check()
    for tab in ("Returns", "Points", "Tier and badges"):
        page.get_by_role("link", name=tab, exact=True).click()
        visit.check()

    # refer a friend
    page.get_by_role("link", name="Card", exact=True).click()
    page.get_by_role("link", name="Refer a friend").click()
    page.wait_for_url(re.compile(r"/portal/referral/$"))
    visit.check()
    assert page.locator("#referral-code").inner_text() == member.referral_code
    assert "H*** · " in page.locator("main").inner_text()  # the friend, masked
    page.goto(page.locator("#referral-link").get_attribute("href").replace("http://127.0.0.1:8000", live_server.url))
    visit.check()
    assert page.locator("#join-code").inner_text() == member.referral_code

    # answer a survey
    page.goto(f"{live_server.url}/portal/")
    page.locator("#surveys-waiting a").click()
    visit.check()
    page.locator("main article a").first.click()
    page.wait_for_url(re.compile(r"/portal/surveys/[0-9a-f-]+/$"))
    visit.check()
    page.locator('input[name="would-buy-again"][value="1"]').check()
    page.locator('input[name="would-recommend"][value="9"]').check()
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/portal/surveys/$"))
    assert SurveyInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.ANSWERED

    # file a complaint and follow it
    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("link", name="Complaints", exact=True).click()
    visit.check()
    page.get_by_role("link", name="Tell us what went wrong").click()
    visit.check()
    page.get_by_label("What is it about?").select_option("service")
    page.get_by_label("What happened?").fill("Nobody answered at the till for ten minutes.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/portal/complaints/[0-9a-f-]+/$"))
    visit.check()
    assert page.locator("#complaint-status").inner_text() == "Received"
    assert page.locator("#response-target").inner_text().startswith("We answer by ")
    assert Complaint.objects.get(member=member).text == "Nobody answered at the till for ten minutes."

    # change language
    page.get_by_label("Language").select_option("zh-hant")
    page.get_by_role("button", name="Change").click()
    page.wait_for_selector("html[lang='zh-hant']")
    visit.check()
    page.locator("#lang-select").select_option("en")
    page.locator("form.lang button").click()
    page.wait_for_selector("html[lang='en']")

    # download the data
    page.get_by_role("link", name="Profile", exact=True).click()
    visit.check()
    page.get_by_role("link", name="Download your data or close your account").click()
    visit.check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    data = json.loads(zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes())).read("member.json"))
    assert data["profile"][0]["phone"] == "+8613800138000"
    assert [row["text"] for row in data["complaints"]] == ["Nobody answered at the till for ten minutes."]

    # close the account
    page.get_by_role("button", name="Close my account").click()  # the browser asks for the box first
    assert page.url.endswith("/portal/my-data/")
    assert Member.objects.get(pk=member.pk).status == MemberStatus.ACTIVE
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Close my account").click()
    page.wait_for_url(re.compile(r"/portal/closed/$"))
    visit.check()
    assert Member.objects.get(pk=member.pk).status == MemberStatus.CLOSED
    page.goto(f"{live_server.url}/portal/")
    page.wait_for_url(re.compile(r"/portal/sign-in/$"))

    assert visit.violations == {}
    assert visit.csp_errors == []
    assert len(visit.checked) == 21
