"""A member's data: the export (everything, JSON and CSV, logged) and the closure (erasure at
once, ledger kept true, vouchers cancelled through the voucher service, phone freed)."""

import csv
import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError

from feedback.complaints import complaint_file
from feedback.models import Complaint, Feedback
from feedback.services import feedback_record
from members.models import Member, MemberStatus, PrivacyAction, PrivacyChannel, PrivacyRecord
from members.selectors import member_identifier_filter
from members.services import member_enroll
from portal.models import PortalAccount
from portal.privacy import MemberClosed, member_close, member_data_export
from rewards.catalog import reward_redeem
from rewards.models import EntryKind, LedgerEntry, Reward, RewardKind, Voucher, VoucherStatus
from tests.factories import MemberFactory, buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(store):
    member = MemberFactory(phone="+8613800138000", name="王小明", email="wang@example.com")
    buy(member, store, "1000.00")  # 100 points
    return Member.objects.get(pk=member.pk)


@pytest.fixture
def trial():
    return Reward.objects.create(name="New-roast tasting", kind=RewardKind.EXPERIENCE, cost_points=30, stock=5)


def _zip(export) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(export.content))


def test_export_holds_every_section_as_json_and_csv(member, store, trial):
    # given
    reward_redeem(reward=trial, member=member)
    complaint_file(text="The milk was sour", category="product", member=member)
    feedback_record(member=member, nps=9, comment="Lovely staff")
    # when
    export = member_data_export(member=member, channel=PrivacyChannel.PORTAL)
    # then
    archive = _zip(export)
    data = json.loads(archive.read("member.json"))
    assert set(data) == {
        "profile", "consents", "consent_changes", "purchases", "purchase_lines", "returns", "ledger",
        "vouchers", "survey_answers", "feedback", "complaints", "complaint_events", "badges", "tier_changes",
    }  # fmt: skip
    assert sorted(archive.namelist()) == sorted(["member.json"] + [f"{name}.csv" for name in data])
    assert data["profile"][0]["name"] == "王小明" and data["profile"][0]["phone"] == "+8613800138000"
    assert [row["points"] for row in data["ledger"]] == [100, -30]
    assert [row["reward__name"] for row in data["vouchers"]] == ["New-roast tasting"]
    assert [row["text"] for row in data["complaints"]] == ["The milk was sour"]
    assert [row["comment"] for row in data["feedback"]] == ["Lovely staff"]
    assert len(data["purchases"]) == 1 and len(data["purchase_lines"]) == 1
    ledger_csv = list(csv.DictReader(io.StringIO(archive.read("ledger.csv").decode("utf-8-sig"))))
    assert [row["points"] for row in ledger_csv] == ["100", "-30"]
    assert export.filename.startswith(f"member-{member.card_number}-") and export.filename.endswith(".zip")


def test_export_is_logged(member):
    member_data_export(member=member, channel=PrivacyChannel.PORTAL)

    record = PrivacyRecord.objects.get(member=member)
    assert (record.action, record.channel, record.details["purchases"]) == (PrivacyAction.EXPORT, "portal", 1)


def test_closure_erases_personal_data_and_free_texts(member):
    # given
    complaint = complaint_file(text="The milk was sour, call me on 13800138000", category="product", member=member)
    feedback = feedback_record(member=member, nps=3, comment="Ask for Wang")
    # when
    member_close(member=member, channel=PrivacyChannel.PORTAL)
    # then
    closed = Member.objects.get(pk=member.pk)
    assert (closed.status, closed.name, closed.email, closed.birthday) == (MemberStatus.CLOSED, "", "", None)
    assert (closed.phone, closed.card_number, closed.referral_code) == (
        f"closed:{member.pk}",
        f"closed:{member.pk}",
        f"x{member.pk}",
    )
    assert closed.closed_at is not None and (closed.consent_email, closed.consent_sms) == (False, False)
    assert Complaint.objects.get(pk=complaint.pk).text == ""
    assert Feedback.objects.get(pk=feedback.pk).comment == ""


def test_closure_keeps_the_ledger_and_purchases_true(member, trial):
    # given
    reward_redeem(reward=trial, member=member)
    # when
    member_close(member=member, channel=PrivacyChannel.PORTAL)
    # then
    assert assert_ledger_consistent(member.pk) == 100  # the outstanding voucher's 30 points came back
    assert member.purchases.count() == 1
    assert list(LedgerEntry.objects.filter(member=member).order_by("id").values_list("kind", "points")) == [
        (EntryKind.EARN, 100),
        (EntryKind.REDEEM, -30),
        (EntryKind.REVERSE, 30),
    ]


def test_closure_cancels_outstanding_vouchers_through_the_voucher_service(member, trial):
    voucher = reward_redeem(reward=trial, member=member)

    closure = member_close(member=member, channel=PrivacyChannel.PORTAL)

    assert closure.vouchers_cancelled == 1
    assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.CANCELLED
    assert Reward.objects.get(pk=trial.pk).stock == 5  # given back


def test_closure_ends_portal_sessions(member):
    PortalAccount.objects.create(member=member, session_epoch=3)

    member_close(member=member, channel=PrivacyChannel.PORTAL)

    assert PortalAccount.objects.get(member=member).session_epoch == 4


def test_closed_member_cannot_be_found_by_phone_or_card(member):
    card = member.card_number

    member_close(member=member, channel=PrivacyChannel.PORTAL)

    assert not Member.objects.filter(member_identifier_filter("+8613800138000")).exists()
    assert not Member.objects.filter(member_identifier_filter(card)).exists()


def test_the_freed_phone_can_enrol_again(member):
    member_close(member=member, channel=PrivacyChannel.PORTAL)

    again = member_enroll(phone="13800138000")

    assert again.pk != member.pk and again.phone == "+8613800138000" and again.status == MemberStatus.ACTIVE


def test_live_members_still_cannot_share_a_phone(member):
    with pytest.raises(IntegrityError):
        MemberFactory(phone=member.phone)


def test_closure_is_recorded_for_staff_with_who_did_it(member):
    staff = get_user_model().objects.create_user("desk", password="x")

    member_close(member=member, channel=PrivacyChannel.STAFF, staff_user=staff)

    record = PrivacyRecord.objects.get(member=member)
    assert (record.action, record.channel, record.staff_user, record.details) == (
        PrivacyAction.CLOSE,
        "staff",
        staff,
        {"vouchers_cancelled": 0},
    )


def test_closing_twice_is_refused_and_changes_nothing(member):
    member_close(member=member, channel=PrivacyChannel.PORTAL)

    with pytest.raises(MemberClosed):
        member_close(member=Member.objects.get(pk=member.pk), channel=PrivacyChannel.PORTAL)
    assert PrivacyRecord.objects.filter(member=member).count() == 1


def test_a_closed_account_has_no_data_to_export(member):
    member_close(member=member, channel=PrivacyChannel.PORTAL)

    with pytest.raises(MemberClosed):
        member_data_export(member=Member.objects.get(pk=member.pk), channel=PrivacyChannel.PORTAL)


def test_closing_erases_the_audit_trails_copies_of_the_personal_data_and_records_the_closure():
    member = MemberFactory(name="王芳", email="wang@example.com")
    Member.objects.filter(pk=member.pk).update(name="王芳芳")  # a staff edit the trail keeps a copy of
    member_close(member=member, channel=PrivacyChannel.PORTAL)
    from django.apps import apps

    audits = apps.get_model("staff", "MemberAudit").objects.filter(pgh_obj=member)
    assert audits.exists()
    assert set(audits.values_list("name", "email")) == {("", "")}
    assert audits.filter(pgh_label="member.closure").count() == 1


def test_closure_records_member_closed_and_erases_the_events_copies_of_personal_data(store):
    from events.models import Event
    from events.types import EventType
    from members.services import member_reinstate, member_suspend

    # given
    member = member_enroll(phone="13800138001", store=store)
    member_suspend(member=member, reason="Called Wang Xiaoming names")
    member_reinstate(member=member)
    # when
    member_close(member=Member.objects.get(pk=member.pk), channel=PrivacyChannel.PORTAL)
    # then
    found = {e.type: e.payload for e in Event.objects.filter(member_id=member.pk)}
    assert found[EventType.MEMBER_CLOSED] == {"member_id": str(member.public_id)}
    assert "card_number" not in found[EventType.MEMBER_ENROLLED]
    assert "reason" not in found[EventType.MEMBER_SUSPENDED]
