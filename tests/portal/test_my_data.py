"""The member's own data in the portal: download it, close the account."""

import io
import json
import zipfile

import pytest

from members.models import Member, MemberStatus, PrivacyRecord
from messaging.models import OutboxMessage
from tests.portal.conftest import signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(client, member):
    return signed_in_client(client, member)


def test_download_gives_a_zip_of_the_members_data(portal, member):
    response = portal.post("/portal/my-data/download/")

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(f'attachment; filename="member-{member.card_number}-')
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("member.json"))
    assert data["profile"][0]["phone"] == "+8613800138000"
    assert PrivacyRecord.objects.filter(member=member, action="export", channel="portal").count() == 1


def test_download_is_a_post_only(portal):
    assert portal.get("/portal/my-data/download/").status_code == 405


def test_closing_needs_the_box_ticked(portal, member):
    response = portal.post("/portal/my-data/close/", {})

    assert response.status_code == 400 and "Tick the box to confirm." in response.content.decode()
    assert Member.objects.get(pk=member.pk).status == MemberStatus.ACTIVE


def test_closing_signs_out_and_erases(portal, member):
    response = portal.post("/portal/my-data/close/", {"confirm": "on"})

    assert (response.status_code, response["Location"]) == (302, "/portal/closed/")
    assert Member.objects.get(pk=member.pk).status == MemberStatus.CLOSED
    assert portal.get("/portal/")["Location"] == "/portal/sign-in/"


def test_a_closed_member_cannot_sign_in_again(client, member):
    signed_in_client(client, member).post("/portal/my-data/close/", {"confirm": "on"})

    asked = client.post("/portal/sign-in/", {"phone": "+8613800138000"})
    response = client.post("/portal/sign-in/code/", {"code": "000000"})

    assert asked.status_code == 302 and response.status_code == 400  # the same answer as for anyone
    assert OutboxMessage.objects.filter(kind="portal_sign_in_code").count() == 1  # only the first sign-in's
