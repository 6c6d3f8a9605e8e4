"""Member rows are locked in one place (members.locking), in one mode, in one order."""

import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from members.locking import member_lock, members_locked
from members.models import Member
from tests.factories import MemberFactory

SOURCE = Path(settings.BASE_DIR)
SKIPPED = {".venv", "tests", "bench", "migrations", "node_modules"}
# A lock taken straight on another model's manager (or a purchase's own lines) cannot lock members.
OTHER_ROWS = re.compile(r"\b(?!Member\b)[A-Z]\w*\.objects\.select_for_update\(|\.lines\.select_for_update\(")


def _source_files():
    for path in SOURCE.rglob("*.py"):
        if not SKIPPED.intersection(path.relative_to(SOURCE).parts):
            yield path


def test_no_code_locks_rows_outside_the_member_lock_helper_unless_plainly_another_models():
    helper = SOURCE / "members" / "locking.py"
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in _source_files()
        if path != helper
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "select_for_update" in line and not OTHER_ROWS.search(line)
    ]
    assert offenders == [], "lock members with members.locking.member_lock / members_locked"


@pytest.mark.django_db
def test_the_member_lock_is_for_no_key_update_of_the_member_row_only(django_assert_num_queries):
    member = MemberFactory()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        member_lock(member.pk)
        member_lock(reference=member.card_number)
        list(members_locked(Member.objects.filter(pk=member.pk)))

    locks = [q["sql"] for q in queries if "FOR " in q["sql"]]
    assert [sql.endswith('FOR NO KEY UPDATE OF "members_member"') for sql in locks] == [True, True, True]


@pytest.mark.django_db
def test_many_members_are_locked_in_primary_key_order():
    first, second = MemberFactory(), MemberFactory()
    with transaction.atomic():
        ids = list(members_locked(Member.objects.filter(pk__in=[second.pk, first.pk])).values_list("pk", flat=True))
    assert ids == sorted([first.pk, second.pk])


@pytest.mark.django_db(transaction=True)
def test_a_till_locking_a_member_waits_for_a_batch_holding_it():
    member = MemberFactory()
    held, release = threading.Event(), threading.Event()

    def batch():
        try:
            with transaction.atomic():
                list(members_locked(Member.objects.filter(pk=member.pk)))
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=batch)
    holder.start()
    try:
        assert held.wait(timeout=30)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            member_lock(member.pk)
    finally:
        release.set()
        holder.join()
