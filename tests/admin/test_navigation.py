"""The back office's sidebar is organised by task, and its System group shows to administrators only."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from loyalty.admin_navigation import ADMINISTRATORS_GROUP

pytestmark = pytest.mark.django_db


def _staff(django_user_model, *codenames, groups=()):
    user = django_user_model.objects.create_user(username="staff", password="x" * 16, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    user.groups.set(groups)
    return user


def _sidebar_links(client) -> set[str]:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        item["link"]
        for group in response.context["sidebar_navigation"]
        for item in group["items"]
        if item["has_permission"]
    }


def test_the_sidebar_groups_pages_by_task(admin_client_logged):
    response = admin_client_logged.get(reverse("admin:index"))

    titles = [str(group.get("title", "")) for group in response.context["sidebar_navigation"]]
    assert titles == [
        "", "Members", "Journey and tiers", "Rewards and campaigns", "Listening", "Staff tasks", "Reports", "Settings",
        "System",
    ]  # fmt: skip


def test_the_system_group_is_hidden_from_staff_who_are_not_administrators(client, django_user_model):
    client.force_login(_staff(django_user_model, "view_jobrun", "view_member"))

    links = _sidebar_links(client)

    assert reverse("admin:members_member_changelist") in links
    assert reverse("admin:jobs_jobrun_changelist") not in links


def test_administrators_see_the_system_group(client, django_user_model):
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS_GROUP)
    client.force_login(_staff(django_user_model, "view_jobrun", groups=[administrators]))

    assert reverse("admin:jobs_jobrun_changelist") in _sidebar_links(client)


def test_a_link_shows_only_to_staff_who_may_view_its_page(client, django_user_model):
    client.force_login(_staff(django_user_model, "view_complaint"))

    links = _sidebar_links(client)

    assert reverse("admin:feedback_complaint_changelist") in links
    assert reverse("admin:members_member_changelist") not in links


def test_the_dashboard_offers_a_member_lookup_and_the_days_work(admin_client_logged):
    page = admin_client_logged.get(reverse("admin:index")).content.decode()

    assert 'id="member-lookup"' in page
    assert "Open complaints" in page and "My open tasks" in page
