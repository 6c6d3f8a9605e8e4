import pytest
from django.urls import reverse

from members.services import member_suspend
from rewards.models import EarningRule
from staff.audit import MEMBER_EXPORTED
from staff.models import MemberAudit
from staff.roles import ADMINISTRATOR
from staff.selectors import object_audit_trail
from staff.services import audit_record
from tests.factories import buy

pytestmark = pytest.mark.django_db


def test_a_staff_edit_of_a_rule_records_who_and_old_and_new_values(client, make_staff):
    admin_user = make_staff(ADMINISTRATOR)
    rule = EarningRule.objects.create(name="Tea week", multiplier="2.00")
    client.force_login(admin_user)
    url = reverse("admin:rewards_earningrule_change", args=[rule.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(name="Tea fortnight", multiplier="3.00", stages=[])
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}

    assert client.post(url, data).status_code == 302

    latest = object_audit_trail(rule)[0]
    changes = {change["field"]: (change["old"], change["new"]) for change in latest["changes"]}
    assert latest["who"] == admin_user
    assert changes["name"] == ("Tea week", "Tea fortnight")
    assert str(changes["multiplier"][0]) == "2.00" and str(changes["multiplier"][1]) == "3.00"


def test_the_history_page_shows_the_audit_trail(client, make_staff):
    rule = EarningRule.objects.create(name="Tea week", multiplier="2.00")
    EarningRule.objects.filter(pk=rule.pk).update(name="Tea fortnight")
    client.force_login(make_staff(ADMINISTRATOR))

    page = client.get(reverse("admin:rewards_earningrule_history", args=[rule.pk])).content.decode()

    assert "Audit trail" in page and "Tea week" in page and "Tea fortnight" in page


def test_a_purchase_writes_no_member_audit_row(member, store):
    buy(member, store, "100.00")

    assert not MemberAudit.objects.filter(pgh_obj=member).exists()


def test_a_suspension_is_audited(member):
    member_suspend(member=member, reason="abuse")

    event = MemberAudit.objects.get(pgh_obj=member)
    assert (event.pgh_label, event.status, event.suspended_reason) == ("update", "suspended", "abuse")


def test_an_export_is_recorded_with_its_actor(member, make_staff):
    analyst = make_staff(ADMINISTRATOR)

    audit_record(actor=analyst, action=MEMBER_EXPORTED, target=member, note="portal data export")

    event = MemberAudit.objects.get(pgh_obj=member, pgh_label=MEMBER_EXPORTED)
    assert event.pgh_context.metadata["user"] == analyst.pk
    assert event.pgh_context.metadata["note"] == "portal data export"


def test_the_audit_trail_is_searchable_by_user_name(client, make_staff, member):
    auditor = make_staff(ADMINISTRATOR, username="auditor")
    # Not in the back office: no user. (Before the export, whose context lasts to the end of the
    # test's one transaction.)
    member_suspend(member=member, reason="abuse")
    audit_record(actor=auditor, action=MEMBER_EXPORTED, target=member)
    client.force_login(auditor)

    response = client.get(reverse("admin:staff_auditevent_changelist"), {"q": "auditor"})

    assert response.status_code == 200
    assert [(e.pgh_label, e.pgh_obj_id) for e in response.context["cl"].result_list] == [
        (MEMBER_EXPORTED, str(member.pk))
    ]
