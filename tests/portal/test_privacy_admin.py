"""Staff export a member's data and close accounts for requests made in a store."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from members.models import Member, MemberStatus, PrivacyAction, PrivacyRecord
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory(phone="+8613800138000", name="王小明")


def test_staff_export_one_members_data_and_it_is_logged(admin_client_logged, member):
    url = reverse("admin:members_member_changelist")

    response = admin_client_logged.post(url, {"action": "export_data_action", "_selected_action": [member.pk]})

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    profile = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("member.json"))["profile"][0]
    assert profile["name"] == "王小明"
    record = PrivacyRecord.objects.get(member=member)
    assert (record.action, record.channel, record.staff_user) == (
        PrivacyAction.EXPORT,
        "staff",
        admin_client_logged.user,
    )


def test_staff_close_an_account_after_confirming(admin_client_logged, member):
    url = reverse("admin:members_member_close") + f"?ids={member.pk}"

    response = admin_client_logged.post(url, {"confirm": "on"})

    assert response.status_code == 302
    closed = Member.objects.get(pk=member.pk)
    assert (closed.status, closed.name, closed.phone) == (MemberStatus.CLOSED, "", f"closed:{member.pk}")
    record = PrivacyRecord.objects.get(member=member)
    assert (record.action, record.channel, record.staff_user) == (
        PrivacyAction.CLOSE,
        "staff",
        admin_client_logged.user,
    )


def test_closing_without_confirming_changes_nothing(admin_client_logged, member):
    url = reverse("admin:members_member_close") + f"?ids={member.pk}"

    response = admin_client_logged.post(url, {})

    assert response.status_code == 200
    assert Member.objects.get(pk=member.pk).status == MemberStatus.ACTIVE
    assert not PrivacyRecord.objects.exists()


def test_staff_see_closures_in_the_privacy_log(admin_client_logged, member):
    admin_client_logged.post(reverse("admin:members_member_close") + f"?ids={member.pk}", {"confirm": "on"})

    page = admin_client_logged.get(reverse("admin:members_privacyrecord_changelist")).content.decode()

    assert "Account closed" in page and f"closed:{member.pk}" in page
