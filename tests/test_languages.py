"""Which language a person gets (their choice, else the browser, else LANGUAGE_CODE), API error
details in the request's language with stable codes, messages to members in the member's
language, and money and dates written the way each language writes them."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.i18n import local_day, money, points
from feedback.models import Survey
from feedback.surveys import survey_invitations_create
from messaging.models import OutboxMessage
from messaging.unsubscribe import unsubscribe_line
from tests.api.helpers import post, purchase_body
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


# --- which language -------------------------------------------------------------------------


def test_without_a_choice_or_a_browser_language_the_back_office_speaks_zh_hans(admin_client_logged, settings):
    settings.LANGUAGE_CODE = "zh-hans"

    response = admin_client_logged.get(reverse("admin:index"))

    assert response.headers["Content-Language"] == "zh-hans"
    assert "会员" in response.content.decode()


def test_the_browser_language_comes_before_the_default(admin_client_logged, settings):
    settings.LANGUAGE_CODE = "zh-hans"

    response = admin_client_logged.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-TW,zh;q=0.8")

    assert response.headers["Content-Language"] == "zh-hant"
    assert "會員" in response.content.decode()


def test_the_staff_users_choice_comes_before_the_browser_and_is_remembered_for_a_year(admin_client_logged):
    chosen = admin_client_logged.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")})

    response = admin_client_logged.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert chosen.status_code == 302 and chosen.cookies["django_language"]["max-age"] == 365 * 24 * 3600
    assert response.headers["Content-Language"] == "en"
    assert "Members" in response.content.decode()


def test_the_switcher_offers_the_three_languages_and_marks_the_current_one(rf):
    from core.i18n import language_switcher

    with translation.override("zh-hant"):
        html = Template('{% include "i18n/language_switcher.html" %}').render(
            Context({**language_switcher(rf.get("/admin/?q=1")), "csrf_token": "t"})
        )

    assert 'action="/i18n/setlang/"' in html and 'name="next" value="/admin/?q=1"' in html
    assert '<option value="zh-hant" selected lang="zh-hant">繁體中文</option>' in html
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in html
    assert '<option value="en" lang="en">English</option>' in html


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "detail"),
    [
        ("zh-CN", "商品合计为 100.00，而不是 90.00。"),
        ("zh-TW", "商品合計為 100.00，而不是 90.00。"),
        ("en", "The items add up to 100.00, not 90.00."),
    ],
)
def test_an_api_error_detail_follows_accept_language_and_its_code_stays_english(api, member, accept_language, detail):
    body = dict(purchase_body(member, total="100.00"), total="90.00")

    response = post(api, "/api/v1/purchases/", body, HTTP_ACCEPT_LANGUAGE=accept_language)

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["detail"]) == ("total_mismatch", detail)


def test_a_validation_error_answers_in_the_requests_language(api, member):
    response = post(api, "/api/v1/purchases/", {"member": "x"}, HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["detail"]) == ("invalid", "请求中有无效字段。")


def test_the_language_costs_the_pos_api_no_query(api, member):
    """LocaleMiddleware reads the header and a cookie; nothing is looked up per request."""
    url = f"/api/v1/members/lookup/?card_number={member.card_number}"
    api.get(url, HTTP_ACCEPT_LANGUAGE="en")  # warm the caches (key, configuration)
    counts = {}
    for language in ("en", "zh-CN", "zh-TW"):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        counts[language] = len(queries)

    assert counts["zh-CN"] == counts["zh-TW"] == counts["en"]


# --- messages to members ----------------------------------------------------------------------


def _invite(member):
    # A moment after the purchase, whichever clock (Python's or PostgreSQL's) stamped it.
    return survey_invitations_create(
        as_of=timezone.now() + datetime.timedelta(minutes=1),
        member_id_from=member.pk,
        member_id_to=member.pk + 1,
        since=None,
    )


@pytest.fixture
def everyone_invited():
    """The default survey as its migrations ship it (a transactional test's flush elsewhere in the
    suite may have removed it; both migration functions are idempotent), inviting every buyer."""
    from django.apps import apps

    for name, function in [
        ("0003_default_survey_and_targets", "create"),
        ("0008_default_survey_in_three_languages", "translate"),
    ]:
        getattr(importlib.import_module(f"feedback.migrations.{name}"), function)(apps, None)
    Survey.objects.filter(code="loyalty-indicators").update(sample_percent=100)


@pytest.mark.usefixtures("everyone_invited")
@pytest.mark.parametrize(
    ("language", "thanks"),
    [("zh-hans", "感谢您的惠顾！"), ("zh-hant", "感謝您的惠顧！"), ("en", "Thank you for your purchase.")],
)
def test_a_survey_invitation_is_written_in_the_members_language(store, language, thanks):
    member = MemberFactory(language=language, consent_email=True)
    buy(member, store, "100.00")

    _invite(member)

    message = OutboxMessage.objects.get(member=member, kind="survey_invitation")
    assert message.body.startswith(thanks)
    assert message.language == language


def test_a_message_is_built_in_the_members_language_whatever_the_request_speaks():
    member = MemberFactory(language="zh-hans")

    with translation.override("en"):
        line = unsubscribe_line(member, "email")

    assert line.startswith("\n\n不想再收到此类消息：http")
    assert translation.get_language() == "en"


# --- money, points, dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ("¥1,234.00", "-¥5.50", "12,500", "2026年12月1日")),
        ("zh-hant", ("¥1,234.00", "-¥5.50", "12,500", "2026年12月1日")),
        ("en", ("¥1,234.00", "-¥5.50", "12,500", "Dec. 1, 2026")),
    ],
)
def test_money_points_and_days_are_written_per_language(language, expected):
    with translation.override(language):
        written = (money(Decimal("1234")), money(Decimal("-5.5")), points(12500), local_day(datetime.date(2026, 12, 1)))

    assert written == expected


def test_a_stored_moment_is_dated_on_its_business_day():
    late_evening_utc = datetime.datetime(2026, 11, 30, 17, 30, tzinfo=datetime.UTC)  # 01:30 on Dec 1 in Shanghai

    with translation.override("zh-hans"):
        assert local_day(late_evening_utc) == "2026年12月1日"


def test_another_currency_is_written_with_its_code():
    with translation.override("en"):
        assert money(Decimal("10"), "USD") == "10.00 USD"


def test_the_template_filters_format_in_the_active_language():
    template = Template("{% load loyalty_format %}{{ amount|money }} {{ balance|points }} {{ day|local_day }}")

    with translation.override("zh-hant"):
        html = template.render(
            Context({"amount": Decimal("1234.5"), "balance": 1500, "day": datetime.date(2026, 1, 2)})
        )

    assert html == "¥1,234.50 1,500 2026年1月2日"


# --- the default survey -----------------------------------------------------------------------


def _survey_page_for(client, store, language):
    from feedback.models import SurveyInvitation
    from feedback.surveys import invitation_token

    member = MemberFactory(language=language, consent_email=True)
    buy(member, store, "100.00")
    _invite(member)
    invitation = SurveyInvitation.objects.get(member=member)
    return client.get(reverse("survey-answer", args=[invitation_token(invitation)]), HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.usefixtures("everyone_invited")
@pytest.mark.parametrize(
    ("language", "title", "question", "send"),
    [
        ("zh-hans", "会员满意度小调查", "商品质量对您有多重要？（1-5）", "提交"),
        ("zh-hant", "會員滿意度小調查", "商品品質對您有多重要？（1-5）", "送出"),
        ("en", "Loyalty check-up", "How important is product quality to you? (1-5)", "Send"),
    ],
)
def test_the_default_survey_is_shown_in_the_members_language(client, store, language, title, question, send):
    page = _survey_page_for(client, store, language).content.decode()

    assert f"<h1>{title}</h1>" in page
    assert question in page
    assert f'<button type="submit">{send}</button>' in page


@pytest.mark.usefixtures("everyone_invited")
def test_the_default_surveys_english_reads_correctly():
    texts = set(Survey.objects.get(code="loyalty-indicators").questions.values_list("text", flat=True))

    assert "How important is price to you? (1-5)" in texts
    assert not [text for text in texts if text.startswith("How important are")]
