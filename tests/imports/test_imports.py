"""Importing members and purchases from CSV files (imports.services)."""

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from imports.services import ImportFileError, members_import, purchases_import
from members.models import Member, Purchase
from members.services import purchase_return
from rewards.models import EarningPolicy, LedgerEntry
from rewards.services import points_redeem
from tests.factories import MemberFactory, StoreFactory, buy, standard_tiers
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.lstrip("\n").encode("utf-8"))


def import_members(text: str):
    return members_import(stream=csv_bytes(text))


def import_purchases(text: str, lines: str | None = None, **kwargs):
    return purchases_import(stream=csv_bytes(text), lines_stream=csv_bytes(lines) if lines else None, **kwargs)


def test_members_are_created_with_normalised_phones_and_their_store():
    StoreFactory(code="sh-01")
    report = import_members("""
external_id,phone,name,email,birthday,enrolled_at,store
C001,138 0013 8000,王芳,Wang@Example.com,1990-05-01,2019-03-04,sh-01
C002,,李雷,,,,
""")
    assert (report.rows, report.inserted, report.unchanged, report.rejected) == (2, 2, 0, [])
    wang = Member.objects.get(external_id="C001")
    assert (wang.phone, wang.name, wang.email, str(wang.birthday)) == (
        "+8613800138000",
        "王芳",
        "wang@example.com",
        "1990-05-01",
    )
    assert wang.enrolled_store.code == "sh-01"
    assert timezone.localtime(wang.enrolled_at).date().isoformat() == "2019-03-04"
    li = Member.objects.get(external_id="C002")
    assert li.phone == ""
    assert len(li.card_number) == 16 and li.referral_code


def test_rejected_rows_name_their_line_and_reason_and_the_rest_lands():
    MemberFactory(phone="+8613900000001")
    report = import_members("""
external_id,phone,birthday,store
A1,not a phone,,
A2,,1850-01-01,
A3,13900000001,,
A1,13700000001,,
,,,
A5,,,nowhere
A6,13700000002,,
""")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "phone is not a valid phone number."),
        (3, "birthday must be a date (YYYY-MM-DD) between 1900 and today."),
        (4, "phone is already another member's."),
        (5, "external_id appears on an earlier line of the file."),
        (6, "external_id or phone is required."),
        (7, "store is not the code of a store."),
    ]
    assert report.inserted == 1
    assert Member.objects.filter(external_id="A6", phone="+8613700000002").exists()


def test_importing_the_same_file_twice_changes_nothing():
    text = """
external_id,phone,name
X1,13800000011,甲
X2,,乙
,13800000013,丙
"""
    first = import_members(text)
    before = list(Member.objects.order_by("pk").values_list("pk", "card_number", "phone", "external_id", "name"))
    second = import_members(text)
    assert (first.inserted, second.inserted, second.unchanged, second.rejected) == (3, 0, 3, [])
    assert (
        list(Member.objects.order_by("pk").values_list("pk", "card_number", "phone", "external_id", "name")) == before
    )


def test_an_unknown_column_refuses_the_whole_file():
    with pytest.raises(ImportFileError, match="Unknown column"):
        import_members("external_id,mobile\nA,1\n")
    assert not Member.objects.exists()


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(ImportFileError, match="UTF-8"):
        members_import(stream=io.BytesIO("external_id,name\nA,王芳\n".encode("gbk")))
    assert not Member.objects.exists()


def test_a_spreadsheet_byte_order_mark_is_read_as_nothing():
    report = members_import(stream=io.BytesIO(b"\xef\xbb\xbfexternal_id,name\nB1,x\n"))
    assert report.inserted == 1


def test_malformed_csv_refuses_the_whole_file():
    with pytest.raises(ImportFileError, match="Line 3 could not be read as CSV: extra data after last expected column"):
        import_members("external_id,name\nB,ok\nA,x,y\nC,ok\n")
    assert not Member.objects.exists()


def test_purchases_earn_points_by_the_policy_and_keep_the_ledger_exact():
    EarningPolicy.objects.update_or_create(pk=1, defaults={"spend_per_point": Decimal("10")})
    store = StoreFactory(code="bj-01")
    member = MemberFactory(phone="+8613800000021")
    MemberFactory(external_id="E9")
    report = import_purchases("""
phone,external_id,receipt_id,occurred_at,total,store
13800000021,,R1,2026-03-01T10:00:00+08:00,120.50,bj-01
,E9,R2,2026-03-02,99.99,bj-01
13800000021,,R3,2026-04-01 09:30,300,bj-01
""")
    assert (report.inserted, report.rejected, report.points) == (3, [], 12 + 9 + 30)
    member.refresh_from_db()
    assert (member.points_balance, member.purchase_count, member.lifetime_spend) == (42, 2, Decimal("420.50"))
    assert timezone.localtime(member.first_purchase_at) == timezone.make_aware(datetime(2026, 3, 1, 10, 0))
    assert assert_ledger_consistent(member.pk) == 42
    r1 = Purchase.objects.get(store=store, receipt_id="R1")
    assert (r1.points_earned, r1.channel) == (12, "store")
    entry = LedgerEntry.objects.get(purchase=r1)
    assert (entry.kind, entry.job, entry.created_at) == ("earn", "import", r1.occurred_at)


def test_purchases_with_lines_earn_by_category_rules_and_keep_their_lines():
    StoreFactory(code="s1")
    MemberFactory(external_id="M1")
    import_purchases(
        "external_id,receipt_id,occurred_at,total,store\nM1,R1,2026-01-05,100,s1\n",
        lines="receipt_id,store,sku,category,quantity,unit_price\nR1,s1,SKU-A,shoes,2,30\nR1,s1,SKU-B,,1,40\n",
    )
    purchase = Purchase.objects.get(receipt_id="R1")
    assert sorted(purchase.lines.values_list("sku", "quantity", "unit_price")) == [
        ("SKU-A", 2, Decimal("30.0000")),
        ("SKU-B", 1, Decimal("40.0000")),
    ]
    assert purchase.points_earned == 10


def test_purchase_import_rejects_bad_rows_with_reasons():
    StoreFactory(code="s1")
    MemberFactory(external_id="M1")
    report = import_purchases("""
external_id,receipt_id,occurred_at,total,store,currency
M1,R1,2026-01-05,-3,s1,
M1,R2,yesterday,10,s1,
M1,R3,2026-01-05,10,s1,USD
NOBODY,R4,2026-01-05,10,s1,
M1,R5,2026-01-05,10,,
M1,R6,2099-01-05,10,s1,
M1,R7,2026-01-05,10.999,s1,
M1,R8,2026-01-05,10,s1,
M1,R8,2026-01-06,10,s1,
""")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "total must be a positive amount with at most two decimals."),
        (3, "occurred_at is not a date (YYYY-MM-DD or an ISO date-time)."),
        (4, "currency must be CNY."),
        (5, "no member has this external_id, card_number or phone."),
        (6, "store is required (or give a default store)."),
        (7, "occurred_at lies in the future."),
        (8, "total must be a positive amount with at most two decimals."),
        (10, "receipt_id appears on an earlier line of the file for the same store."),
    ]
    assert list(Purchase.objects.values_list("receipt_id", flat=True)) == ["R8"]


def test_reimporting_purchases_changes_nothing():
    StoreFactory(code="s1")
    member = MemberFactory(external_id="M1")
    text = "external_id,receipt_id,occurred_at,total,store\nM1,R1,2026-01-05,100,s1\nM1,R2,2026-02-05,50,s1\n"
    import_purchases(text)
    again = import_purchases(text)
    member.refresh_from_db()
    assert (again.inserted, again.unchanged, again.points) == (0, 2, 0)
    assert (member.points_balance, member.purchase_count) == (15, 2)
    assert LedgerEntry.objects.filter(member=member).count() == 2


def test_create_members_makes_one_member_per_unknown_person():
    StoreFactory(code="s1")
    report = import_purchases(
        """
external_id,phone,receipt_id,occurred_at,total,store
N1,,R1,2025-01-05,100,s1
N1,,R2,2025-02-05,100,s1
,13800000031,R3,2025-03-05,100,s1
""",
        create_members=True,
    )
    assert (report.members_created, report.inserted, report.rejected) == (2, 3, [])
    n1 = Member.objects.get(external_id="N1")
    assert (n1.purchase_count, n1.points_balance) == (2, 20)
    assert timezone.localtime(n1.enrolled_at).date().isoformat() == "2025-01-05"
    assert Member.objects.get(phone="+8613800000031").purchase_count == 1


def test_no_points_imports_purchases_without_ledger_entries():
    StoreFactory(code="s1")
    member = MemberFactory(external_id="M1")
    report = import_purchases(
        "external_id,receipt_id,occurred_at,total,store\nM1,R1,2026-01-05,100,s1\n", earn_points=False
    )
    member.refresh_from_db()
    assert (report.points, member.points_balance, member.purchase_count) == (0, 0, 1)
    assert not LedgerEntry.objects.exists()


def test_imported_points_pay_an_existing_debt_first():
    store = StoreFactory(code="s1")
    member = MemberFactory(external_id="M1")
    purchase = buy(member, store, "100.00")  # 10 points
    points_redeem(member=member, points=10, receipt_id="S1", store=store)
    # The return takes the 10 points back after they were spent: balance -10.
    purchase_return(purchase=purchase, store=store, receipt_id="RET1", amount=Decimal("100.00"))
    report = import_purchases("external_id,receipt_id,occurred_at,total,store\nM1,IMP1,2026-01-05,150,s1\n")
    assert (report.inserted, report.points, report.rejected) == (1, 15, [])
    assert assert_ledger_consistent(member.pk) == 5
    entry = LedgerEntry.objects.get(purchase__receipt_id="IMP1")
    assert (entry.points, entry.balance_after, entry.lot.points) == (15, 5, 5)


def test_the_commands_print_the_report_and_write_rejections(tmp_path, capsys):
    StoreFactory(code="s1")
    members_file = tmp_path / "members.csv"
    members_file.write_text("external_id,phone\nK1,13800000041\nK2,bad\n", encoding="utf-8")
    rejected = tmp_path / "rejected.csv"
    out = io.StringIO()
    call_command(
        "import_members",
        str(members_file),
        "--rejected",
        str(rejected),
        "--no-recompute",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "2 rows read, 1 inserted, 0 already there, 1 rejected." in out.getvalue()
    assert rejected.read_text(encoding="utf-8") == "line,reason\n3,phone is not a valid phone number.\n"
    purchases_file = tmp_path / "purchases.csv"
    purchases_file.write_text("external_id,receipt_id,occurred_at,total\nK1,R1,2026-01-05,100\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_purchases", str(purchases_file), "--store", "s1", stdout=out, stderr=io.StringIO())
    assert "1 rows read, 1 inserted" in out.getvalue()
    assert "10 points earned." in out.getvalue()


def test_after_the_import_command_the_jobs_place_members_in_their_stage_and_tier(tmp_path):
    tiers = standard_tiers()
    StoreFactory(code="s1")
    MemberFactory(external_id="V1")
    purchases_file = tmp_path / "purchases.csv"
    today = timezone.localdate()
    purchases_file.write_text(
        "external_id,receipt_id,occurred_at,total,store\n"
        f"V1,R1,{today - timedelta(days=60)},1500,s1\nV1,R2,{today - timedelta(days=30)},1000,s1\n",
        encoding="utf-8",
    )
    call_command("import_purchases", str(purchases_file), stdout=io.StringIO(), stderr=io.StringIO())
    member = Member.objects.get(external_id="V1")
    assert (member.tier, member.stage, member.purchase_count) == (tiers["silver"], "repeat", 2)
    assert member.tier_changes.get().kind == "enrol"


def _upload(name: str, text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_the_back_office_page_imports_a_small_file_and_shows_the_rejections(admin_client):
    response = admin_client.post(
        "/admin/imports/",
        {"kind": "members", "file": _upload("m.csv", "external_id,phone\nW1,13800000051\nW2,nope\n")},
    )
    assert response.status_code == 200
    assert Member.objects.filter(external_id="W1").exists()
    content = response.content.decode()
    assert "2 rows read, 1 inserted, 0 already there, 1 rejected." in content
    assert "phone is not a valid phone number." in content


def test_the_back_office_page_shows_a_file_error_as_a_form_error(admin_client):
    response = admin_client.post(
        "/admin/imports/", {"kind": "members", "file": _upload("m.csv", "external_id,mobile\nW1,1\n")}
    )
    assert response.status_code == 200
    assert "Unknown column(s): mobile." in response.content.decode()
    assert not Member.objects.exists()


def test_the_back_office_page_needs_the_permission_to_add_members(client, django_user_model):
    staff = django_user_model.objects.create_user("clerk", password="x" * 12, is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/imports/").status_code == 403
