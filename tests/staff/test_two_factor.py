import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff.roles import ADMINISTRATOR, ANALYST

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def required(settings):
    settings.STAFF_2FA_REQUIRED_FOR_ADMINS = True


def test_an_administrator_without_a_device_is_sent_to_set_one_up(client, make_staff, required):
    client.force_login(make_staff(ADMINISTRATOR))

    response = client.get(reverse("admin:index"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("staff:otp_setup"))


def test_an_administrator_adds_a_device_with_a_real_code_and_gets_in(client, make_staff, required):
    client.force_login(make_staff(ADMINISTRATOR))
    client.get(reverse("staff:otp_setup"))
    device = TOTPDevice.objects.get()

    response = client.post(reverse("staff:otp_setup"), {"token": _code(device), "next": reverse("admin:index")})

    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_is_a_form_error(client, make_staff, required):
    user = make_staff(ADMINISTRATOR)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("staff:otp_verify"), {"token": wrong})

    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_confirmed_device_code_verifies_the_session(client, make_staff, required):
    user = make_staff(ADMINISTRATOR)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)

    client.post(reverse("staff:otp_verify"), {"token": _code(device)})

    assert client.get(reverse("admin:index")).status_code == 200


def test_other_roles_without_a_device_are_not_asked(client, make_staff, required):
    client.force_login(make_staff(ANALYST))

    assert client.get(reverse("admin:index")).status_code == 200


def test_administrators_are_not_asked_when_the_setting_is_off(client, make_staff):
    client.force_login(make_staff(ADMINISTRATOR))

    assert client.get(reverse("admin:index")).status_code == 200


def test_the_back_office_session_expires_after_the_idle_minutes(client, make_staff, settings):
    settings.STAFF_SESSION_MINUTES = 15
    client.force_login(make_staff(ANALYST))

    client.get(reverse("admin:index"))

    assert client.session.get_expiry_age() == 15 * 60


def test_a_short_password_is_refused():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("short-pass1")
