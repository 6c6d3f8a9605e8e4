"""Sign-in codes: six digits, kept hashed, single use, five minutes, five tries, hourly limits, and
the same answer for members and strangers."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from messaging.models import OutboxMessage
from portal import services
from portal.models import OneTimeCode, PortalAccount
from tests.portal.conftest import sent_code

pytestmark = pytest.mark.django_db


def test_a_member_gets_a_six_digit_code_by_sms_in_their_language(member):
    services.code_request(phone="138 0013 8000", client_ip="10.0.0.1")

    message = OutboxMessage.objects.get(member=member, kind="portal_sign_in_code")
    assert (message.channel, message.marketing, message.language) == ("sms", False, "en")
    assert message.body == f"{sent_code(member)} is your sign-in code. It expires in 5 minutes. Never share it."


def test_only_a_keyed_hash_of_the_code_is_stored(member):
    result = services.code_request(phone=member.phone, client_ip="10.0.0.1")

    row = OneTimeCode.objects.get(phone=member.phone)
    assert result.code not in row.code_hash
    assert row.code_hash == services.code_hash(address=member.phone, code=result.code)
    assert len(result.code) == 6 and result.code.isdigit()


def test_the_right_code_signs_the_member_in_once(member):
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    code = sent_code(member)

    assert services.code_verify(phone=member.phone, code=code) == member
    with pytest.raises(services.DomainError):
        services.code_verify(phone=member.phone, code=code)


def test_a_code_expires_after_five_minutes(member):
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    row = OneTimeCode.objects.get()
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    # Five minutes and a second have passed.
    back = timedelta(minutes=5, seconds=1)
    OneTimeCode.objects.update(created_at=F("created_at") - back, expires_at=F("expires_at") - back)

    with pytest.raises(services.DomainError):
        services.code_verify(phone=member.phone, code=sent_code(member))


def test_five_wrong_tries_kill_the_code(member):
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    code = sent_code(member)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(services.DomainError):
            services.code_verify(phone=member.phone, code=wrong)

    assert OneTimeCode.objects.get().attempts == 5
    with pytest.raises(services.DomainError):
        services.code_verify(phone=member.phone, code=code)


def test_a_new_code_retires_the_previous_one(member):
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    first = sent_code(member)
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    second = sent_code(member)

    if first != second:
        with pytest.raises(services.DomainError):
            services.code_verify(phone=member.phone, code=first)
    assert services.code_verify(phone=member.phone, code=second) == member


def test_a_sixth_code_for_one_phone_within_the_hour_is_refused(member):
    for index in range(5):
        services.code_request(phone=member.phone, client_ip=f"10.0.0.{index}")

    with pytest.raises(services.TooManyCodes):
        services.code_request(phone=member.phone, client_ip="10.0.1.1")
    assert OneTimeCode.objects.filter(phone=member.phone).count() == 5


def test_codes_older_than_an_hour_do_not_count(member):
    for index in range(5):
        services.code_request(phone=member.phone, client_ip=f"10.0.0.{index}")
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=61))

    services.code_request(phone=member.phone, client_ip="10.0.1.1")

    assert OneTimeCode.objects.filter(phone=member.phone).count() == 6


def test_a_21st_code_from_one_address_within_the_hour_is_refused():
    for index in range(20):
        services.code_request(phone=f"+861390000{index:04d}", client_ip="10.0.0.1")

    with pytest.raises(services.TooManyCodes):
        services.code_request(phone="+8613900009999", client_ip="10.0.0.1")
    assert OneTimeCode.objects.filter(client_ip="10.0.0.1").count() == 20


def test_a_stranger_gets_a_code_row_but_no_sms_and_cannot_sign_in():
    result = services.code_request(phone="+8613911112222", client_ip="10.0.0.1")

    assert (result.message_id, OutboxMessage.objects.count(), OneTimeCode.objects.count()) == (None, 0, 1)
    with pytest.raises(services.DomainError):
        services.code_verify(phone="+8613911112222", code=result.code)


def test_the_page_answers_the_same_for_a_member_and_a_stranger(member):
    # DEBUG is off in the tests: no code is shown, so both pages must be byte-identical but the number.
    pages = []
    for phone in (member.phone, "+8613911112222"):
        client = Client()
        response = client.post("/portal/sign-in/", {"phone": phone})
        assert (response.status_code, response["Location"]) == (302, "/portal/sign-in/code/")
        pages.append(client.get("/portal/sign-in/code/").content.decode().replace(phone, "PHONE"))
    # The CSRF token differs per client; everything else must be equal.
    strip = [__import__("re").sub(r'value="[A-Za-z0-9]{64}"', "", page) for page in pages]
    assert strip[0] == strip[1]


def test_an_invalid_phone_is_a_form_error(client):
    response = client.post("/portal/sign-in/", {"phone": "12"})

    assert response.status_code == 400
    assert "Enter a valid phone number." in response.content.decode()
    assert OneTimeCode.objects.count() == 0


def test_too_many_codes_is_answered_429_on_the_page(member, client):
    for _ in range(5):
        client.post("/portal/sign-in/", {"phone": member.phone})

    response = client.post("/portal/sign-in/", {"phone": member.phone})

    assert response.status_code == 429
    assert "Too many codes were asked for." in response.content.decode()


def test_signing_in_creates_the_portal_account_and_a_session_of_the_configured_length(member, client, settings):
    settings.PORTAL_SESSION_DAYS = 7
    client.post("/portal/sign-in/", {"phone": member.phone})

    response = client.post("/portal/sign-in/code/", {"code": sent_code(member)})

    assert (response.status_code, response["Location"]) == (302, "/portal/")
    assert client.session.get_expiry_age() == 7 * 24 * 3600
    assert PortalAccount.objects.get(member=member).last_sign_in_at is not None


def test_in_debug_the_code_is_shown_on_the_page(member, client, settings):
    settings.DEBUG = True
    client.post("/portal/sign-in/", {"phone": member.phone})

    page = client.get("/portal/sign-in/code/").content.decode()

    assert f'<strong id="debug-code">{sent_code(member)}</strong>' in page


def test_the_send_task_delivers_the_sms_once_and_the_demo_backend_logs_the_code(member, caplog, settings):
    from portal.tasks import send_sign_in_code

    settings.DEBUG = True  # the demo: its logging SMS backend shows the text only in DEBUG
    result = services.code_request(phone=member.phone, client_ip="10.0.0.1")
    caplog.set_level("INFO", logger="messaging.backends")

    assert (send_sign_in_code(result.message_id), send_sign_in_code(result.message_id)) == (True, False)
    assert OutboxMessage.objects.get(pk=result.message_id).status == "sent"
    assert [r.getMessage() for r in caplog.records if r.name == "messaging.backends"] == [
        f"SMS to {member.phone}: Sign-in code: {result.code} is your sign-in code. It expires in 5 minutes. "
        "Never share it."
    ]


def test_outside_debug_the_logging_backend_never_logs_the_code(member, caplog, settings):
    from portal.tasks import send_sign_in_code

    settings.DEBUG = False
    result = services.code_request(phone=member.phone, client_ip="10.0.0.1")
    caplog.set_level("INFO", logger="messaging.backends")

    send_sign_in_code(result.message_id)

    logged = " ".join(r.getMessage() for r in caplog.records)
    assert result.code not in logged
    assert member.phone not in logged


def test_codes_older_than_a_day_are_purged_and_recent_ones_kept(member):
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    services.code_request(phone=member.phone, client_ip="10.0.0.1")
    old, recent = OneTimeCode.objects.order_by("id")
    back = timedelta(days=1, seconds=1)
    OneTimeCode.objects.filter(pk=old.pk).update(created_at=F("created_at") - back, expires_at=F("expires_at") - back)

    assert services.sign_in_codes_purge() == 1
    assert list(OneTimeCode.objects.values_list("pk", flat=True)) == [recent.pk]


def test_the_purge_is_scheduled_daily():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Daily: purge portal sign-in codes")
    assert (task.task, task.crontab.hour, task.crontab.minute) == ("portal.purge_sign_in_codes", "3", "45")
