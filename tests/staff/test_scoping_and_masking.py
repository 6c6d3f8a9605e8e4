import pytest
from django.urls import reverse

from staff.masking import mask_email, mask_name, mask_phone
from staff.roles import ANALYST, STORE_MANAGER

pytestmark = pytest.mark.django_db


def test_masks():
    assert mask_phone("+8613800138000") == "138****8000"
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_name("张伟") == "张*"


def test_a_store_manager_lists_only_their_stores_members(client, make_staff, home_member, other_member):
    client.force_login(make_staff(STORE_MANAGER))

    response = client.get(reverse("admin:members_member_changelist"))

    assert [m.pk for m in response.context["cl"].result_list] == [home_member.pk]


def test_a_store_manager_cannot_open_another_stores_member(client, make_staff, other_member):
    client.force_login(make_staff(STORE_MANAGER))

    response = client.get(reverse("admin:members_member_change", args=[other_member.pk]))

    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert response.url == reverse("admin:index")


def test_a_store_manager_cannot_adjust_another_stores_member(client, make_staff, other_member):
    client.force_login(make_staff(STORE_MANAGER))

    response = client.get(reverse("admin:members_member_adjust") + f"?ids={other_member.pk}")

    assert list(response.context["members"]) == []


def test_an_analyst_sees_personal_data_masked(client, make_staff, home_member):
    client.force_login(make_staff(ANALYST))

    listing = client.get(reverse("admin:members_member_changelist")).content.decode()
    page = client.get(reverse("admin:members_member_change", args=[home_member.pk])).content.decode()

    assert "138****8000" in listing and "张*" in listing
    assert "13800138000" not in listing and "zw@example.com" not in listing and "张伟" not in listing
    assert "138****8000" in page and "z***@example.com" in page
    assert "13800138000" not in page and "zw@example.com" not in page
    # The member page's header (backoffice's file header) is masked too, and offers no actions.
    assert 'id="member-file-header"' in page and "张*" in page
    assert "adjust-points-of" not in page and "suspend-one" not in page


def test_an_analyst_sees_the_member_page_titled_with_the_masked_name(client, make_staff, home_member):
    client.force_login(make_staff(ANALYST))

    page = client.get(reverse("admin:members_member_change", args=[home_member.pk])).content.decode()
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]

    assert "张*" in title and "张伟" not in title
