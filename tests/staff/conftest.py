from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from staff.models import StaffStore
from staff.roles import ADMINISTRATOR, ANALYST, MARKETING_MANAGER, SERVICE_DESK, STORE_MANAGER, roles_sync
from tests.factories import MemberFactory, StoreFactory, buy

ROLE_NAMES = (ADMINISTRATOR, MARKETING_MANAGER, STORE_MANAGER, SERVICE_DESK, ANALYST)


@pytest.fixture
def roles(db):
    """The groups the migration ships (again, should a transactional test's flush have removed them)."""
    roles_sync()
    return {group.name: group for group in Group.objects.filter(name__in=ROLE_NAMES)}


@pytest.fixture
def home_store(db):
    return StoreFactory(name="Home store")


@pytest.fixture
def other_store(db):
    return StoreFactory(name="Other store")


@pytest.fixture
def make_staff(roles, django_user_model, home_store):
    def make(role: str, username: str | None = None):
        user = django_user_model.objects.create_user(
            username=username or role.lower().replace(" ", "_"), password="a-long-passphrase-42", is_staff=True
        )
        user.groups.add(roles[role])
        if role == STORE_MANAGER:
            StaffStore.objects.create(user=user, store=home_store)
        return user

    return make


@pytest.fixture
def home_member(home_store):
    member = MemberFactory(enrolled_store=home_store, name="张伟", phone="+8613800138000", email="zw@example.com")
    buy(member, home_store, "100.00")
    return member


@pytest.fixture
def other_member(other_store):
    member = MemberFactory(enrolled_store=other_store, name="李娜")
    buy(member, other_store, "50.00")
    return member


def in_a_day():
    return timezone.now() + timedelta(days=1)
